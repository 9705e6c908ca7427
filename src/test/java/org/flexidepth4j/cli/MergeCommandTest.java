package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeCommandTest {
    @Test
    void mergedDirectoryLoadsAsTheReleasedCheckpoint(@TempDir Path tmp) throws Exception {
        // hf-parity/llama3 is the base of the flexidepth-llama3 fixture, whose second shard is a plug-in file.
        Path fixture = Shared.path("fixtures/flexidepth-llama3");
        Path out = tmp.resolve("merged");
        Cli r = Cli.run("merge", "--model", Shared.path("fixtures/hf-parity/llama3").toString(),
                "--adapters", fixture.resolve("flexidepth.safetensors").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("routed layers [3, 4, 5]");

        Model merged = ModelLoader.load(out);
        assertThat(merged.defaultPolicy()).isInstanceOf(FlexiDepth.class);
        assertThat(((FlexiDepth) merged.defaultPolicy()).routedLayers()).containsExactly(3, 4, 5);
        // The released fixture's reference logits, as the released merged directory gives them.
        SafeTensors ref = SafeTensors.open(fixture.resolve("reference.safetensors"));
        int[] ids = ref.get("ids_a").toInts();
        InferenceState s = merged.transformer().newState(ids.length);
        merged.transformer().forward(s, ids, 0, ids.length, merged.defaultPolicy(), true);
        ParityAssert.assertClose(s.logits(), ref.get("logits_a").toFloats(), 1e-4, "merged directory");

        Cli again = Cli.run("merge", "--model", out.toString(), "--adapters", fixture.resolve("flexidepth.safetensors").toString(),
                "--out", tmp.resolve("twice").toString());
        assertThat(again.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(again.err()).contains("already has FlexiDepth routers").doesNotContain("\tat ");
        assertThat(tmp.resolve("twice")).doesNotExist();
        try (var entries = Files.list(tmp)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("merged"); // no temp directory left
        }
    }
}
