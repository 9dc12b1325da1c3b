package dev.kiln.samples;

import dev.kiln.Kiln;
import dev.kiln.Tensor;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a training run shows and leaves behind: a progress bar per epoch on a terminal (loss and
 * samples/s), one log line per epoch, and at the end a PNG of the loss and accuracy curves and a
 * safetensors checkpoint.
 */
final class TrainingMonitor {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingMonitor.class);

    private final String name;
    private final List<Double> losses = new ArrayList<>();
    private final List<Double> accuracies = new ArrayList<>();
    private ProgressBar bar;
    private long epochStart;
    private long samples;
    private double lossSum;
    private long batches;

    TrainingMonitor(String name) {
        this.name = name;
    }

    /** Starts an epoch of {@code steps} batches. */
    void startEpoch(int epoch, int epochs, long steps) {
        epochStart = System.nanoTime();
        samples = 0;
        lossSum = 0;
        batches = 0;
        if (System.console() != null) {
            bar = new ProgressBarBuilder().setTaskName("epoch " + epoch + "/" + epochs).setInitialMax(steps)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate().build();
        }
    }

    /** Records one batch; reads the loss value (a device sync) only for the progress bar's average. */
    void step(Tensor loss, long batchSize) {
        samples += batchSize;
        lossSum += loss.item();
        batches++;
        if (bar != null) {
            double seconds = Math.max(1e-9, (System.nanoTime() - epochStart) / 1e9);
            bar.step();
            bar.setExtraMessage(String.format(" loss %.4f, %.0f samples/s", lossSum / batches, samples / seconds));
        }
    }

    /** Ends the epoch; {@code accuracy} may be NaN when the sample measures none. */
    void endEpoch(int epoch, int epochs, double accuracy) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        double seconds = (System.nanoTime() - epochStart) / 1e9;
        double meanLoss = batches == 0 ? Double.NaN : lossSum / batches;
        losses.add(meanLoss);
        accuracies.add(accuracy);
        if (Double.isNaN(accuracy)) {
            LOG.info("{} epoch {}/{}: loss {} in {} s ({} samples/s)", name, epoch, epochs, fmt(meanLoss), fmt(seconds),
                    Math.round(samples / seconds));
        } else {
            LOG.info("{} epoch {}/{}: loss {}, test accuracy {} in {} s ({} samples/s)", name, epoch, epochs, fmt(meanLoss),
                    fmt(accuracy), fmt(seconds), Math.round(samples / seconds));
        }
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }

    /** Writes {@code curves.png} and {@code checkpoint.safetensors} into {@code folder}. */
    void finish(Path folder, Map<String, Tensor> stateDict) throws IOException {
        Path plot = folder.resolve("curves.png");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(name).xAxisTitle("epoch").yAxisTitle("value").build();
        chart.getStyler().setYAxisDecimalPattern("0.000");
        double[] x = new double[losses.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = i + 1;
        }
        chart.addSeries("training loss", x, losses.stream().mapToDouble(Double::doubleValue).toArray());
        if (accuracies.stream().noneMatch(a -> Double.isNaN(a))) {
            chart.addSeries("test accuracy", x, accuracies.stream().mapToDouble(Double::doubleValue).toArray());
        }
        BitmapEncoder.saveBitmap(chart, plot.toString(), BitmapEncoder.BitmapFormat.PNG);
        Path checkpoint = folder.resolve("checkpoint.safetensors");
        Kiln.save(stateDict, checkpoint);
        LOG.info("{}: wrote {} and {}", name, plot, checkpoint);
    }
}
