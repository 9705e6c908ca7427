package org.flexidepth4j.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.flexidepth4j.skip.RandomSkip;
import org.flexidepth4j.skip.StaticRemoval;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/**
 * The skip/quality frontier on one held-out text: held-out NLL against mean layers skipped per token for each
 * FlexiDepth plug-in, for random skipping of the same routed layers at the same mean skip, and for ShortGPT static
 * removal of 1..K layers. Every point is the same sliding-window perplexity over the same ids, so the rows differ
 * only in the skip policy.
 */
public final class Frontier {
    /** One measured policy; {@code plugin} is the plug-in file it belongs to (null for dense and static). */
    public record Point(String method, String mode, String plugin, double layersSkipped, double nll, double vsDense) {
    }

    /** What to measure. {@code calibrationIds} null: no static rows. */
    public record Config(Model base, List<Path> plugins, int[] heldOutIds, int[] calibrationIds, int window,
                         int maxStaticLayers, long seed) {
    }

    private Frontier() {
    }

    public static List<Point> run(Config c, Progress progress) {
        int layers = c.base().config().numLayers();
        List<Point> points = new ArrayList<>();
        double dense = nll(c, SkipPolicy.NONE).mean();
        points.add(new Point("dense", "none", null, 0, dense, 0));
        progress.step("dense: NLL %.4f".formatted(dense));
        for (Path file : c.plugins()) {
            FlexiDepth plugin = FlexiDepthFiles.loadFor(file, c.base().transformer());
            Point fd = point(c, "flexidepth", "flexidepth", file, plugin, layers, dense);
            points.add(fd);
            progress.step("%s: %.2f layers skipped, NLL %.4f".formatted(file, fd.layersSkipped(), fd.nll()));
            double rate = fd.layersSkipped() / plugin.routedLayers().length;
            String mode = "random:%.4f".formatted(rate);
            Point random = point(c, "random", mode, file, RandomSkip.onLayers(layers, plugin.routedLayers(), rate, c.seed()), layers, dense);
            points.add(random);
            progress.step("%s: %.2f layers skipped, NLL %.4f".formatted(mode, random.layersSkipped(), random.nll()));
        }
        if (c.calibrationIds() != null) {
            double[] influence = StaticRemoval.blockInfluence(c.base().transformer(), SkipPolicy.NONE, c.calibrationIds());
            for (int k = 1; k <= c.maxStaticLayers(); k++) {
                Point s = point(c, "static", "static:" + k, null, StaticRemoval.lowestInfluence(influence, k), layers, dense);
                points.add(s);
                progress.step("static:%d: NLL %.4f".formatted(k, s.nll()));
            }
        }
        return points;
    }

    /** Progress lines (one per measured policy). */
    public interface Progress {
        void step(String line);
    }

    private static Point point(Config c, String method, String mode, Path plugin, SkipPolicy policy, int layers, double dense) {
        Perplexity.Nll r = nll(c, policy);
        double skipped = layers - (double) r.layers() / r.tokens();
        return new Point(method, mode, plugin == null ? null : plugin.toString(), skipped, r.mean(), r.mean() / dense - 1);
    }

    private static Perplexity.Nll nll(Config c, SkipPolicy policy) {
        Scorer scorer = new TransformerScorer(c.base().transformer(), policy, c.window() + 1);
        return Perplexity.slidingWindow(scorer, c.heldOutIds(), c.window(), Math.max(1, c.window() / 2), 0, null);
    }

    /** frontier.json, frontier.md and frontier.png in {@code dir}, each written atomically. */
    public static void write(Path dir, List<Point> points, String heldOutName) {
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (Point p : points) {
            ObjectNode o = arr.addObject();
            o.put("method", p.method());
            o.put("mode", p.mode());
            if (p.plugin() != null) o.put("plugin", p.plugin());
            o.put("mean_layers_skipped", p.layersSkipped());
            o.put("heldout_nll", p.nll());
            o.put("vs_dense", p.vsDense());
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("heldout", heldOutName);
        root.set("points", arr);
        AtomicFiles.writeString(dir.resolve("frontier.json"), root.toPrettyString() + "\n");
        AtomicFiles.writeString(dir.resolve("frontier.md"), markdown(points));
        System.setProperty("java.awt.headless", System.getProperty("java.awt.headless", "true"));
        XYChart chart = chart(points, heldOutName);
        AtomicFiles.write(dir.resolve("frontier.png"), out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }

    public static String markdown(List<Point> points) {
        StringBuilder sb = new StringBuilder("| method | `--skip` | plug-in | mean layers skipped / token | held-out NLL | vs dense |\n")
                .append("| --- | --- | --- | --- | --- | --- |\n");
        for (Point p : points) {
            sb.append("| %s | `%s` | %s | %.2f | %.4f | %s |\n".formatted(p.method(), p.mode(),
                    p.plugin() == null ? "" : Path.of(p.plugin()).getParent() == null ? p.plugin() : Path.of(p.plugin()).getParent().getFileName(),
                    p.layersSkipped(), p.nll(), p.method().equals("dense") ? "—" : "%+.1f%%".formatted(100 * p.vsDense())));
        }
        return sb.toString();
    }

    static XYChart chart(List<Point> points, String heldOutName) {
        XYChart chart = new XYChartBuilder().width(720).height(480)
                .title("Held-out NLL vs layers skipped (" + heldOutName + ")")
                .xAxisTitle("mean layers skipped per token").yAxisTitle("NLL increase over dense (%)").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        for (String method : List.of("flexidepth", "random", "static")) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            xs.add(0.0);
            ys.add(0.0);
            points.stream().filter(p -> p.method().equals(method)).sorted(java.util.Comparator.comparingDouble(Point::layersSkipped))
                    .forEach(p -> {
                        xs.add(p.layersSkipped());
                        ys.add(100 * p.vsDense());
                    });
            if (xs.size() > 1) chart.addSeries(method, xs, ys);
        }
        return chart;
    }
}
