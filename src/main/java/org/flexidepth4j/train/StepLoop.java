package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.io.Json;

/**
 * The optimizer-step loop both trainers share: the data order (a seeded shuffle per epoch, continued from a
 * checkpoint's epoch and position), a number of sequences per step run one after the other with their gradients
 * scaled by 1/that number, a stop on a non-finite loss, each optimizer's gradient norm clipped on its own, warmup +
 * cosine learning rate, a metrics line per step, held-out evaluation, and checkpoints (every checkpointEvery steps and
 * at the end). Nothing but the seed and the checkpoint decides the order, so a resumed run continues exactly.
 */
final class StepLoop {
    /** When and how much: the schedule of a run. */
    record Schedule(int steps, int sequencesPerStep, int warmupSteps, float lr, float minLrRatio, float clip,
                    int checkpointEvery, int evalEvery, long seed) {
    }

    /** An optimizer: its learning rate is the schedule's times lrScale; its gradient norm is logged as normField. */
    record Group(AdamW optimizer, float lrScale, String normField) {
    }

    /** The losses of the steps run, and the held-out fields of the last evaluation (empty when none ran). */
    record Outcome(List<Double> losses, ObjectNode evaluation) {
    }

    /** A trainer's side of the loop: what it logs besides loss and lm_loss, and its held-out evaluation. */
    interface Recipe {
        /** Before a step's forwards: moves what a schedule moves and logs it. */
        default void beforeStep(int step, ObjectNode line) {
        }

        /** Names of the per-sequence metrics, averaged over a step's sequences. */
        List<String> metrics();

        /** Their values for the last forward, in {@link #metrics} order. */
        double[] measure();

        /** At an evaluation step: puts the held-out fields into {@code line}. */
        void evaluate(ObjectNode line);

        /** The progress bar's message. */
        String progress(double loss, double[] metrics);
    }

    private StepLoop() {
    }

    /**
     * Runs steps state.step() .. min(schedule.steps, stopAfter). {@code stopAfter}: leave after this step as if
     * killed (tests of resume).
     */
    static Outcome run(TrainableDecoder net, TextData train, Schedule s, List<Group> groups, Recipe recipe,
                            Checkpoint state, TrainingLog log, Path checkpointFile, int stopAfter) {
        AdamW[] optimizers = groups.stream().map(Group::optimizer).toArray(AdamW[]::new);
        List<String> names = recipe.metrics();
        int[] seq = new int[train.seqLen()];
        int epoch = state.epoch(), position = state.position();
        int[] order = train.order(s.seed(), epoch);
        float scale = 1f / s.sequencesPerStep();
        List<Double> losses = new ArrayList<>();
        ObjectNode evaluation = Json.MAPPER.createObjectNode();
        for (int step = state.step(); step < s.steps() && step < stopAfter; step++) {
            long start = System.nanoTime();
            ObjectNode line = Json.MAPPER.createObjectNode().put("step", step + 1);
            float lr = AdamW.cosineSchedule(step, s.steps(), s.warmupSteps(), s.lr(), s.minLrRatio());
            recipe.beforeStep(step, line);
            for (AdamW o : optimizers) o.zeroGrad();
            double loss = 0, lm = 0;
            double[] metrics = new double[names.size()];
            for (int i = 0; i < s.sequencesPerStep(); i++) {
                if (position == order.length) {
                    order = train.order(s.seed(), ++epoch);
                    position = 0;
                }
                train.sequence(order[position++], seq);
                loss += net.forward(seq, seq.length) * scale;
                lm += net.lmLoss() * scale;
                double[] m = recipe.measure();
                for (int k = 0; k < metrics.length; k++) metrics[k] += m[k] * scale;
                net.backward(scale);
            }
            if (!Double.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + step + " (diverged: lower the learning rate)");
            line.put("loss", loss).put("lm_loss", lm);
            for (int k = 0; k < metrics.length; k++) line.put(names.get(k), metrics[k]);
            for (Group g : groups) line.put(g.normField(), g.optimizer().clipGradNorm(s.clip()));
            for (Group g : groups) g.optimizer().update(lr * g.lrScale());
            losses.add(loss);
            line.put("lr", lr).put("epoch", epoch).put("tokens_per_s", s.sequencesPerStep() * seq.length / ((System.nanoTime() - start) / 1e9));
            boolean last = step + 1 == s.steps();
            if ((step + 1) % s.evalEvery() == 0 || last) {
                evaluation = Json.MAPPER.createObjectNode();
                recipe.evaluate(evaluation);
                line.setAll(evaluation);
            }
            log.step(line, recipe.progress(loss, metrics));
            if ((step + 1) % s.checkpointEvery() == 0 || last) new Checkpoint(step + 1, epoch, position, s.seed()).save(checkpointFile, optimizers);
        }
        return new Outcome(losses, evaluation);
    }
}
