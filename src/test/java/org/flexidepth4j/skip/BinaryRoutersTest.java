package org.flexidepth4j.skip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import org.flexidepth4j.ModelLoader;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.model.WorkCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Binary skip routers on a tiny random model whose residual coordinates 0 and 1 never change (their o_proj and
 * down_proj rows are zero): coordinate 0 is +4 for every token, coordinate 1 is +4 for even ids and -4 for odd ones,
 * so a router reading them forces known decisions: all skip, all run, or run iff the id is even.
 */
class BinaryRoutersTest {
    static final int D = 16, HEADS = 2, KV_HEADS = 1, HD = 8, FF = 32, V = 20;
    static final float[] ALL_SKIP = router(0, 1f, 0f), ALL_RUN = router(0, 0f, 1f), EVEN_RUNS = router(1, -1f, 1f);

    @TempDir
    Path tmp;

    /** A [2, d] router reading one coordinate: skip-logit = skip * x[coord], execute-logit = execute * x[coord]. */
    static float[] router(int coord, float skip, float execute) {
        float[] w = new float[2 * D];
        w[coord] = skip;
        w[D + coord] = execute;
        return w;
    }

    /** Writes the tiny model with {@code layers} of the 3 base layers (renumbered 0..), routers per new index. */
    static Path write(Path dir, int[] layers, IntFunction<float[]> routerOf) {
        Random r = new Random(11);
        SafeTensorsWriter w = new SafeTensorsWriter();
        float[] emb = gaussian(r, V * D, 1f);
        for (int id = 0; id < V; id++) {
            emb[id * D] = 4f;
            emb[id * D + 1] = id % 2 == 0 ? 4f : -4f;
        }
        w.addF32("model.embed_tokens.weight", emb, V, D);
        List<float[][]> all = new ArrayList<>();
        for (int l = 0; l < 3; l++) {
            float[] o = gaussian(r, D * HEADS * HD, 0.3f), down = gaussian(r, D * FF, 0.3f);
            Arrays.fill(o, 0, 2 * HEADS * HD, 0f);
            Arrays.fill(down, 0, 2 * FF, 0f);
            all.add(new float[][] {positive(r, D), gaussian(r, HEADS * HD * D, 0.3f), gaussian(r, KV_HEADS * HD * D, 0.3f),
                    gaussian(r, KV_HEADS * HD * D, 0.3f), o, positive(r, D), gaussian(r, FF * D, 0.3f), gaussian(r, FF * D, 0.3f), down});
        }
        List<Integer> routed = new ArrayList<>();
        for (int i = 0; i < layers.length; i++) {
            float[][] t = all.get(layers[i]);
            String p = "model.layers." + i + ".";
            w.addF32(p + "input_layernorm.weight", t[0], D);
            w.addF32(p + "self_attn.q_proj.weight", t[1], HEADS * HD, D);
            w.addF32(p + "self_attn.k_proj.weight", t[2], KV_HEADS * HD, D);
            w.addF32(p + "self_attn.v_proj.weight", t[3], KV_HEADS * HD, D);
            w.addF32(p + "self_attn.o_proj.weight", t[4], D, HEADS * HD);
            w.addF32(p + "post_attention_layernorm.weight", t[5], D);
            w.addF32(p + "mlp.gate_proj.weight", t[6], FF, D);
            w.addF32(p + "mlp.up_proj.weight", t[7], FF, D);
            w.addF32(p + "mlp.down_proj.weight", t[8], D, FF);
            float[] router = routerOf.apply(i);
            if (router != null) {
                w.addF32(BinaryRouters.tensorName(i), router, 2, D);
                routed.add(i);
            }
        }
        w.addF32("model.norm.weight", positive(r, D), D);
        w.addF32("lm_head.weight", gaussian(r, V * D, 0.3f), V, D);
        w.write(dir.resolve("model.safetensors"));
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("model_type", "llama").put("hidden_size", D).put("intermediate_size", FF).put("num_hidden_layers", layers.length)
                .put("num_attention_heads", HEADS).put("num_key_value_heads", KV_HEADS).put("vocab_size", V)
                .put("max_position_embeddings", 64).put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0);
        if (!routed.isEmpty()) c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(routed.stream().mapToInt(Integer::intValue).toArray()).toJson());
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        return dir;
    }

    static float[] gaussian(Random r, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian() * std;
        return v;
    }

    static float[] positive(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 0.5f + r.nextFloat();
        return v;
    }

    static final int[] IDS = {3, 8, 1, 14, 5, 7, 2, 19, 10, 11, 6, 0, 13};

    static float[] logits(Model m, int[] ids) {
        Transformer tf = m.transformer();
        InferenceState s = tf.newState(ids.length);
        tf.forward(s, ids, 0, ids.length, m.defaultPolicy(), true);
        return Arrays.copyOf(s.logits(), ids.length * V);
    }

    @Test
    void allSkippedLayerEqualsTheModelWithThatLayerDroppedByHand() {
        Model routed = ModelLoader.load(write(tmp.resolve("routed"), new int[] {0, 1, 2}, l -> l == 1 ? ALL_SKIP : l == 2 ? ALL_RUN : null));
        Model dropped = ModelLoader.load(write(tmp.resolve("dropped"), new int[] {0, 2}, l -> null));
        Model dense = ModelLoader.load(write(tmp.resolve("dense"), new int[] {0, 1, 2}, l -> null));
        assertThat(routed.defaultPolicy()).isInstanceOf(BinaryRouters.class);
        assertThat(((BinaryRouters) routed.defaultPolicy()).settings().layers()).containsExactly(1, 2);
        assertThat(dropped.defaultPolicy()).isSameAs(SkipPolicy.NONE);

        float[] got = logits(routed, IDS);
        assertThat(got).containsExactly(logits(dropped, IDS));
        assertThat(got).isNotEqualTo(logits(dense, IDS));
    }

    @Test
    void skippedTokensPassUnchangedAndCostOnlyKeysValuesAndRouter() {
        Model m = ModelLoader.load(write(tmp.resolve("even"), new int[] {0, 1, 2}, l -> l == 1 ? EVEN_RUNS : null));
        int n = IDS.length;
        List<float[]> seen = new ArrayList<>();
        SkipPolicy policy = m.defaultPolicy();
        SkipPolicy observed = new SkipPolicy() {
            public Plan plan(int layer) {
                return policy.plan(layer);
            }

            public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
                policy.route(layer, normed, tokens, positions, run, gate, work);
            }

            public void observeResidual(int layer, float[] residual, int tokens) {
                seen.add(Arrays.copyOf(residual, tokens * D));
            }
        };
        Transformer tf = m.transformer();
        InferenceState s = tf.newState(n);
        tf.forward(s, IDS, 0, n, observed, true);

        int runs = 0;
        long attention = 0;
        for (int t = 0; t < n; t++) {
            boolean even = IDS[t] % 2 == 0;
            float[] in = Arrays.copyOfRange(seen.get(1), t * D, (t + 1) * D), out = Arrays.copyOfRange(seen.get(2), t * D, (t + 1) * D);
            if (even) assertThat(out).as("token %d runs", t).isNotEqualTo(in);
            else assertThat(out).as("token %d skips: identity", t).containsExactly(in);
            assertThat(s.gate(1, t)).isEqualTo(even ? 1f : 0f);
            assertThat(s.gate(0, t)).isEqualTo(-1f);
            assertThat(s.layersUsed(t)).isEqualTo(even ? 3 : 2);
            if (even) {
                runs++;
                attention += 2L * (t + 1) * HEADS * HD;
            }
        }
        long qd = HEADS * HD, kvd = KV_HEADS * HD;
        long keysValues = 2L * D * kvd, full = keysValues + 2L * D * qd + 3L * D * FF;
        assertThat(s.work.layer(0)).isEqualTo(n * full + attention(n));
        assertThat(s.work.layer(1)).isEqualTo(n * (keysValues + 2L * D) + runs * (full - keysValues) + attention);

        // one token at a time (decode) routes and computes the same
        InferenceState step = tf.newState(n);
        for (int t = 0; t < n; t++) tf.forward(step, IDS, t, 1, policy, false);
        float[] batch = Arrays.copyOfRange(s.logits(), (n - 1) * V, n * V);
        for (int i = 0; i < V; i++) assertThat(step.logits()[i]).isCloseTo(batch[i], org.assertj.core.data.Offset.offset(1e-5f));
    }

    static long attention(int n) {
        long a = 0;
        for (int t = 0; t < n; t++) a += 2L * (t + 1) * HEADS * HD;
        return a;
    }

    @Test
    void inconsistentFilesAreRejectedWithOneLineErrors() {
        Path dir = write(tmp.resolve("bad"), new int[] {0, 1, 2}, l -> l == 1 ? ALL_SKIP : null);
        ObjectNode c = (ObjectNode) Json.read(dir.resolve("config.json"));
        c.remove(BinaryRouterConfig.KEY);
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class).hasMessageContaining("skip_router");

        c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(1, 2).toJson());
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class).hasMessageContaining("model.layers.2.skip_router.weight is missing");

        c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(1).toJson().put("target_density", 1.5));
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class).hasMessageContaining("target_density");

        c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(1).toJson().put("granularity", "module"));
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class).hasMessageContaining("granularity");
    }

    @Test
    void configRoundTripsAndNoiseAnneals() {
        BinaryRouterConfig c = new BinaryRouterConfig("layer", new int[] {2, 5}, 0.4, 0.2, 0.7, 2.0, 0.25, 3.0, false);
        assertThat(BinaryRouterConfig.parse(Path.of("x"), c.toJson())).isEqualTo(c);
        assertThat(c.noiseAt(0, 100)).isEqualTo(2.0);
        assertThat(c.noiseAt(10, 100)).isCloseTo(1.2, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.noiseAt(25, 100)).isEqualTo(0.0);
        assertThat(c.noiseAt(90, 100)).isEqualTo(0.0);
    }
}
