package org.flexidepth4j.eval;

import java.awt.Color;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.io.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/** heatmap.png (layer x token gates of the first tokens) and skip_by_layer.png, drawn with XChart. */
public final class TraceCharts {
    /** Tokens in the heatmap: the first ones of the trace. */
    public static final int HEATMAP_TOKENS = 200;

    private TraceCharts() {
    }

    public static void write(Path dir, List<TraceRow> rows, TraceSummary s) {
        System.setProperty("java.awt.headless", System.getProperty("java.awt.headless", "true"));
        png(dir.resolve("heatmap.png"), heatmap(rows, s));
        png(dir.resolve("skip_by_layer.png"), skipByLayer(s));
    }

    /** Cell value: 0 where the token skipped the layer, else its gate (1 for layers that are not routed). */
    static HeatMapChart heatmap(List<TraceRow> rows, TraceSummary s) {
        int n = Math.min(rows.size(), HEATMAP_TOKENS);
        HeatMapChart chart = new HeatMapChartBuilder().width(Math.max(600, 40 + 6 * n)).height(120 + 18 * s.numLayers())
                .title("Gates per layer, 0 = skipped (first " + n + " tokens)").xAxisTitle("token 0.." + (n - 1)).yAxisTitle("layer").build();
        List<Integer> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int t = 0; t < n; t++) xs.add(t);
        for (int l = 0; l < s.numLayers(); l++) ys.add(l);
        List<Number[]> cells = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            TraceRow r = rows.get(t);
            for (int l = 0; l < s.numLayers(); l++) {
                double v = !r.ran()[l] ? 0 : s.routedLayers().contains(l) ? r.gates()[l] : 1;
                cells.add(new Number[] {t, l, v});
            }
        }
        chart.getStyler().setRangeColors(new Color[] {new Color(0x44, 0x01, 0x54), new Color(0x21, 0x91, 0x8c), new Color(0xfd, 0xe7, 0x25)});
        chart.getStyler().setMin(0).setMax(1);
        chart.getStyler().setShowValue(false);
        chart.getStyler().setXAxisTicksVisible(false);
        chart.addSeries("gate", xs, ys, cells);
        return chart;
    }

    static CategoryChart skipByLayer(TraceSummary s) {
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(500, 60 + 30 * s.numLayers())).height(400)
                .title("Skip rate per layer").xAxisTitle("layer").yAxisTitle("fraction of tokens skipping").build();
        List<Integer> layers = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        for (int l = 0; l < s.numLayers(); l++) {
            layers.add(l);
            rates.add(s.skipRate()[l]);
        }
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        chart.addSeries("skip rate", layers, rates);
        return chart;
    }

    private static void png(Path file, Chart<?, ?> chart) {
        AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }
}
