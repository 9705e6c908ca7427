package org.flexidepth4j.skip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.IntFunction;
import org.flexidepth4j.load.ModelLoader;
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
    static final float[] ALL_SKIP = router(0, 1f, 0f), ALL_RUN = router(0, 0f, 1f), EVEN_RUNS = router(1, -1f, 1f), ODD_RUNS = router(1, 1f, -1f);

    @TempDir
    Path tmp;

    /** A [2, d] router reading one coordinate: skip-logit = skip * x[coord], execute-logit = execute * x[coord]. */
    static float[] router(int coord, float skip, float execute) {
        float[] w = new float[2 * D];
        w[coord] = skip;
        w[D + coord] = execute;
        return w;
    }

    /** Writes the tiny model with {@code layers} of the 3 base layers (renumbered 0..), a layer router per new index. */
    static Path write(Path dir, int[] layers, IntFunction<float[]> routerOf) {
        return write(dir, layers, BinaryRouterConfig.LAYER, l -> routerOf.apply(l) == null ? null : new float[][] {routerOf.apply(l)}, Set.of());
    }

    /**
     * The same with routers of either granularity (routersOf gives one array per site of the granularity, or null)
     * and the tensors named in {@code zeroed} written as zeros (e.g. a down_proj: an FFN that contributes nothing).
     */
    static Path write(Path dir, int[] layers, String granularity, IntFunction<float[][]> routersOf, Set<String> zeroed) {
        List<BinaryRouterConfig.Site> sites = BinaryRouterConfig.of(granularity).sites();
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
            String[] names = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
            int[] rows = {1, HEADS * HD, KV_HEADS * HD, KV_HEADS * HD, D, 1, FF, FF, D};
            for (int k = 0; k < names.length; k++) {
                String name = p + names[k] + ".weight";
                float[] v = zeroed.contains(name) ? new float[t[k].length] : t[k];
                if (rows[k] == 1) w.addF32(name, v, D);
                else w.addF32(name, v, rows[k], v.length / rows[k]);
            }
            float[][] routers = routersOf.apply(i);
            if (routers != null) {
                for (int k = 0; k < sites.size(); k++) w.addF32(sites.get(k).tensorName(i), routers[k], 2, D);
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
        if (!routed.isEmpty()) c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(granularity, routed.stream().mapToInt(Integer::intValue).toArray()).toJson());
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

    /**
     * Per module, exact checks against hand-made dense models: an FFN router skipping every token equals the model
     * whose FFN of that layer is zero (down_proj = 0); an attention router skipping every token equals the model whose
     * attention output is zero (o_proj = 0), the FFN then reading post_attention_layernorm(h); both skipping equals the
     * model without the layer.
     */
    @Test
    void moduleRoutersSkippingEveryTokenEqualHandMadeModels() {
        int[] all = {0, 1, 2};
        Model noFfn = ModelLoader.load(write(tmp.resolve("ffn-skipped"), all, BinaryRouterConfig.MODULE, l -> l == 1 ? new float[][] {ALL_RUN, ALL_SKIP} : null, Set.of()));
        Model zeroDown = ModelLoader.load(write(tmp.resolve("zero-down"), all, BinaryRouterConfig.LAYER, l -> null, Set.of("model.layers.1.mlp.down_proj.weight")));
        assertThat(((BinaryRouters) noFfn.defaultPolicy()).settings().granularity()).isEqualTo(BinaryRouterConfig.MODULE);
        // equal up to float rounding, not bit for bit: the two models run different code, and a full-suite JVM once
        // compiled it so that they differed by 1e-7
        assertThat(logits(noFfn, IDS)).containsExactly(logits(zeroDown, IDS), within(1e-5f));

        Model noAttention = ModelLoader.load(write(tmp.resolve("attention-skipped"), all, BinaryRouterConfig.MODULE, l -> l == 1 ? new float[][] {ALL_SKIP, ALL_RUN} : null, Set.of()));
        Model zeroO = ModelLoader.load(write(tmp.resolve("zero-o"), all, BinaryRouterConfig.LAYER, l -> null, Set.of("model.layers.1.self_attn.o_proj.weight")));
        assertThat(logits(noAttention, IDS)).containsExactly(logits(zeroO, IDS), within(1e-5f));

        Model neither = ModelLoader.load(write(tmp.resolve("both-skipped"), all, BinaryRouterConfig.MODULE, l -> l == 1 ? new float[][] {ALL_SKIP, ALL_SKIP} : null, Set.of()));
        Model dropped = ModelLoader.load(write(tmp.resolve("dropped"), new int[] {0, 2}, l -> null));
        Model dense = ModelLoader.load(write(tmp.resolve("dense"), all, l -> null));
        assertThat(logits(neither, IDS)).containsExactly(logits(dropped, IDS), within(1e-5f));
        assertThat(logits(noFfn, IDS)).isNotEqualTo(logits(dense, IDS));
        assertThat(logits(noAttention, IDS)).isNotEqualTo(logits(dense, IDS));
    }

    /**
     * Per module, attention run iff the id is even and FFN run iff it is odd: every token runs exactly one module of
     * layer 1 (gate trace 0.5, the layer counted as used); the work counter is n·(K/V + two routers) + evens·(Q + O)
     * + attention of the even rows + odds·FFN, i.e. nothing of a module for the tokens that skip it; decoding token by
     * token (odd tokens skipping the attention still write their K/V) matches the batch.
     */
    @Test
    void perModuleSkippingCostsNothingForTheSkippedModule() {
        Model m = ModelLoader.load(write(tmp.resolve("modules"), new int[] {0, 1, 2}, BinaryRouterConfig.MODULE, l -> l == 1 ? new float[][] {EVEN_RUNS, ODD_RUNS} : null, Set.of()));
        int n = IDS.length;
        Transformer tf = m.transformer();
        InferenceState s = tf.newState(n);
        tf.forward(s, IDS, 0, n, m.defaultPolicy(), true);

        int evens = 0;
        long attention = 0;
        for (int t = 0; t < n; t++) {
            assertThat(s.gate(1, t)).isEqualTo(0.5f);
            assertThat(s.layersUsed(t)).isEqualTo(3);
            if (IDS[t] % 2 == 0) {
                evens++;
                attention += 2L * (t + 1) * HEADS * HD;
            }
        }
        long qd = HEADS * HD, kvd = KV_HEADS * HD;
        long keysValues = 2L * D * kvd, queryOut = 2L * D * qd, ffn = 3L * D * FF;
        assertThat(s.work.layer(1)).isEqualTo(n * (keysValues + 2 * 2L * D) + evens * queryOut + attention + (n - evens) * ffn);

        InferenceState step = tf.newState(n);
        for (int t = 0; t < n; t++) tf.forward(step, IDS, t, 1, m.defaultPolicy(), false);
        float[] batch = Arrays.copyOfRange(s.logits(), (n - 1) * V, n * V);
        for (int i = 0; i < V; i++) assertThat(step.logits()[i]).isCloseTo(batch[i], org.assertj.core.data.Offset.offset(1e-5f));
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

        c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(1).toJson().put("granularity", "head"));
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class).hasMessageContaining("granularity 'head'");

        // a layer router where the config says per module: the module routers are missing, the layer one is foreign
        c.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(BinaryRouterConfig.MODULE, 1).toJson());
        AtomicFiles.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class)
                .hasMessageContaining("model.layers.1.skip_router.weight is not a router of granularity 'module'");
        Path half = write(tmp.resolve("half"), new int[] {0, 1, 2}, BinaryRouterConfig.MODULE, l -> l == 1 ? new float[][] {ALL_RUN, ALL_RUN} : null, Set.of());
        ObjectNode h = (ObjectNode) Json.read(half.resolve("config.json"));
        h.set(BinaryRouterConfig.KEY, BinaryRouterConfig.of(BinaryRouterConfig.MODULE, 1, 2).toJson());
        AtomicFiles.writeString(half.resolve("config.json"), h.toString());
        assertThatThrownBy(() -> ModelLoader.load(half)).isInstanceOf(FormatException.class).hasMessageContaining("model.layers.2.skip_router_attn.weight is missing");
    }

    @Test
    void configRoundTripsAndNoiseAndDensityTargetAnneal() {
        BinaryRouterConfig c = new BinaryRouterConfig("layer", new int[] {2, 5}, 0.4, 0.9, 0.2, 0.2, 0.7, 2.0, 0.25, 3.0, false, true);
        assertThat(BinaryRouterConfig.parse(Path.of("x"), c.toJson())).isEqualTo(c);
        BinaryRouterConfig m = BinaryRouterConfig.of(BinaryRouterConfig.MODULE, 1, 3);
        assertThat(BinaryRouterConfig.parse(Path.of("x"), m.toJson())).isEqualTo(m);
        assertThat(m.sites()).containsExactly(BinaryRouterConfig.Site.ATTENTION, BinaryRouterConfig.Site.FFN);
        assertThat(BinaryRouterConfig.Site.FFN.tensorName(3)).isEqualTo("model.layers.3.skip_router_mlp.weight");
        assertThat(BinaryRouterConfig.Site.ATTENTION.tensorName(3)).isEqualTo("model.layers.3.skip_router_attn.weight");
        assertThat(c.noiseAt(0, 100)).isEqualTo(2.0);
        assertThat(c.noiseAt(10, 100)).isCloseTo(1.2, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.noiseAt(25, 100)).isEqualTo(0.0);
        assertThat(c.noiseAt(90, 100)).isEqualTo(0.0);
        // the density target: linear from 0.9 to 0.4 over the first 20% of the steps, then 0.4
        assertThat(c.targetAt(0, 100)).isEqualTo(0.9);
        assertThat(c.targetAt(10, 100)).isCloseTo(0.65, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.targetAt(20, 100)).isEqualTo(0.4);
        assertThat(c.targetAt(90, 100)).isEqualTo(0.4);
        // absent schedule keys: the target is P from the start
        BinaryRouterConfig plain = BinaryRouterConfig.parse(Path.of("x"), Json.MAPPER.createObjectNode().put("target_density", 0.3).set("layers", Json.MAPPER.createArrayNode().add(1)));
        assertThat(plain.targetDensityStart()).isEqualTo(0.3);
        assertThat(plain.targetAt(0, 100)).isEqualTo(0.3);
        assertThatThrownBy(() -> BinaryRouterConfig.parse(Path.of("x"), c.toJson().put("target_density_start", 1.5)))
                .isInstanceOf(FormatException.class).hasMessageContaining("target_density_start 1.5");
    }
}
