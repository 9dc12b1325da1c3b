package dev.kiln.benchmarks;

import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import dev.kiln.data.TensorDataset;
import dev.kiln.data.vision.FashionMNIST;
import dev.kiln.nn.CrossEntropyLoss;
import dev.kiln.nn.MSELoss;
import dev.kiln.nn.Module;
import dev.kiln.optim.Adam;
import dev.kiln.samples.models.FashionCnn;
import dev.kiln.samples.models.FashionMlp;
import dev.kiln.samples.models.RegressionMlp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The whole-program workloads of the performance comparison (issue 9), one per invocation, the
 * Java twin of {@code benchmarks/pytorch_workloads.py}: keep the two in step. Prints
 * {@code RESULT <name> <value> <unit>} lines that {@code benchmarks/compare.py} collects.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.kiln.benchmarks.Workloads mlp --epochs 2
 * </pre>
 *
 * <p>Workloads: {@code mlp} (Fashion-MNIST 784-128-10, batch 64, Adam; seconds per epoch),
 * {@code cnn} (the cnn sample's network; seconds per epoch), {@code mlp-adam} (MLP 10-100-1 on
 * 2,000,000 rows, full batch; seconds per step and peak resident set), {@code inference}
 * (workload 2's model on the 10,000 test images in batches of 1000; images per second). SGEMM is
 * measured by JMH ({@link SgemmBenchmark}).
 */
public final class Workloads {

    private static final Path FASHION = FashionMNIST.DEBIAN_FOLDER;

    private Workloads() {
    }

    static void result(String name, double value, String unit) {
        System.out.printf(Locale.ROOT, "RESULT %s %.6g %s%n", name, value, unit);
        System.out.flush();
    }

    /** The process's peak resident set (VmHWM) in MB, or NaN where /proc is missing. */
    static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux: no figure.
        }
        return Double.NaN;
    }

    /**
     * A Fashion-MNIST split as {@code [images N x 1 x 28 x 28, labels]}, ToTensor + Normalize(0.5, 0.5)
     * applied once to the whole split, as the PyTorch side does.
     */
    static List<Tensor> fashion(boolean train, long limit) {
        FashionMNIST split = FashionMNIST.builder().root(FASHION).train(train).build();
        Tensor x = split.data().div(255.0).sub(0.5).div(0.5).unsqueeze(1);
        Tensor y = split.targets();
        if (limit > 0 && limit < x.size(0)) {
            x = x.narrow(0, 0, limit).contiguous();
            y = y.narrow(0, 0, limit).contiguous();
        }
        return List.of(x, y);
    }

    static void trainEpochs(Module model, int epochs, long limit, String name) {
        List<Tensor> data = fashion(true, limit);
        DataLoader<List<Tensor>> loader = DataLoader.builder(new TensorDataset(data)).batchSize(64).shuffle(true).build();
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        Adam optimizer = new Adam(model.parameters(), 1e-3);
        for (int epoch = 1; epoch <= epochs; epoch++) {
            model.train();
            long start = System.nanoTime();
            Tensor loss = null;
            for (List<Tensor> batch : loader) {
                loss = criterion.forward(model.forward(batch.get(0)), batch.get(1));
                optimizer.zeroGrad();
                loss.backward();
                optimizer.step();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "%s epoch %d: %.3f s, last loss %.4f%n", name, epoch, seconds,
                    loss == null ? Double.NaN : loss.item());
            result(name + "_epoch" + epoch, seconds, "s");
        }
    }

    static void mlpAdam(long rows, int steps) {
        Kiln.manualSeed(0);
        RegressionMlp model = new RegressionMlp(10, 100, 1);
        MSELoss criterion = new MSELoss();
        Adam optimizer = new Adam(model.parameters(), 0.01);
        Tensor x = Tensor.randn(rows, 10);
        Tensor y = Tensor.randn(rows, 1);
        for (int step = 1; step <= steps; step++) {
            long start = System.nanoTime();
            Tensor loss = criterion.forward(model.forward(x), y);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            double value = loss.item();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "mlp-adam step %d: %.3f s, loss %.4f%n", step, seconds, value);
            result("mlpadam_step" + step, seconds, "s");
        }
        result("mlpadam_peak_rss", peakRssMb(), "MB");
    }

    static void inference(int passes) {
        Kiln.manualSeed(0);
        FashionMlp model = new FashionMlp();
        model.eval();
        Tensor x = fashion(false, 0).get(0);
        List<Tensor> batches = x.split(1000, 0);
        try (var noGrad = Kiln.noGrad()) {
            for (int p = 1; p <= passes; p++) {
                long start = System.nanoTime();
                for (Tensor batch : batches) {
                    model.forward(batch).argmax(1);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                result("inference_pass" + p, x.size(0) / seconds, "images/s");
            }
        }
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: Workloads mlp|cnn|mlp-adam|inference [--epochs N] [--limit N] [--rows N]"
                    + " [--steps N] [--passes N]");
            System.exit(2);
        }
        int epochs = 2;
        long limit = 0;
        long rows = 2_000_000;
        int steps = 5;
        int passes = 20;
        for (int i = 1; i < args.length; i += 2) {
            String value = args[i + 1];
            switch (args[i]) {
                case "--epochs" -> epochs = Integer.parseInt(value);
                case "--limit" -> limit = Long.parseLong(value);
                case "--rows" -> rows = Long.parseLong(value);
                case "--steps" -> steps = Integer.parseInt(value);
                case "--passes" -> passes = Integer.parseInt(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.err.println("java " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " cores, max heap "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MB, " + (dev.kiln.backend.cpu.Gemm.vectorized()
                ? "Vector API" : "scalar") + " SGEMM");
        Kiln.manualSeed(0);
        switch (args[0]) {
            case "mlp" -> trainEpochs(new FashionMlp(), epochs, limit, "mlp");
            case "cnn" -> trainEpochs(new FashionCnn(), epochs, limit, "cnn");
            case "mlp-adam" -> mlpAdam(rows, steps);
            case "inference" -> inference(passes);
            default -> throw new IllegalArgumentException("unknown workload " + args[0]);
        }
        System.exit(0);
    }
}
