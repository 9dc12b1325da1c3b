package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The samples and the four contract programs on CUDA at small sizes, against the same runs on
 * the CPU. This module's {@code cuda} test execution selects {@code kiln.cuda.driver=auto}: a GPU
 * where there is one, else the kernels module's emulated device (the only one tested here).
 * Results are compared as numbers: the losses and accuracies each run prints or logs, and the
 * checkpoints the samples write.
 */
class CudaSamplesTest {

    private static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    /** A number with a fractional part, as the programs print losses and accuracies. */
    private static final Pattern DECIMAL = Pattern.compile("-?\\d+\\.\\d+(?:[eE][-+]?\\d+)?|NaN");

    @TempDir
    static Path work;

    @BeforeAll
    static void cuda() {
        if (!Device.isCudaAvailable()) {
            System.out.println("[skipped] samples on CUDA: no CUDA device (run with -Dkiln.cuda.driver=emulated or auto)");
        }
        Assumptions.assumeTrue(Device.isCudaAvailable(), "no CUDA device serves cuda:0");
        System.out.println("[cuda] samples run on " + Device.cudaIfAvailable() + " (" + cudaDescription() + ")");
    }

    private static String cudaDescription() {
        return dev.kiln.cuda.Cuda.report().driverName();
    }

    // ------------------------------------------------------------------ the samples program

    /** What a run printed (stdout) and logged (stderr, where slf4j-simple writes). */
    private record Output(int exitCode, String out, String log) {
    }

    private static Output samples(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = new CommandLine(new Samples()).execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        Output o = new Output(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println(String.join(" ", args) + " -> " + rc + "\n" + o.out() + o.log());
        return o;
    }

    /** The per-epoch mean losses a sample's TrainingMonitor logged. */
    private static List<Double> epochLosses(Output o) {
        List<Double> losses = new ArrayList<>();
        Matcher m = Pattern.compile(" epoch \\d+/\\d+: loss (\\S+?),? ").matcher(o.log());
        while (m.find()) {
            losses.add(Double.parseDouble(m.group(1)));
        }
        return losses;
    }

    private static double testAccuracy(Output o) {
        String line = o.out().lines().filter(l -> l.startsWith("test accuracy:")).findFirst().orElseThrow(
                () -> new AssertionError("no test accuracy printed:\n" + o.out()));
        return Double.parseDouble(line.substring("test accuracy:".length()).trim());
    }

    /** Runs one sample on the CPU and on CUDA and compares the logged losses and the checkpoints. */
    private static Output[] bothDevices(String sample, int epochs, double rtol, double atol, String... args) throws IOException {
        Output[] runs = new Output[2];
        String[] devices = {"cpu", "cuda"};
        for (int i = 0; i < 2; i++) {
            List<String> a = new ArrayList<>(List.of(sample, "--device", devices[i], "--out", work.resolve(sample + "-" + devices[i]).toString()));
            a.addAll(List.of(args));
            runs[i] = samples(a.toArray(String[]::new));
            assertEquals(0, runs[i].exitCode(), sample + " on " + devices[i] + ":\n" + runs[i].log());
        }
        List<Double> cpu = epochLosses(runs[0]);
        List<Double> cuda = epochLosses(runs[1]);
        assertEquals(epochs, cpu.size(), sample + ": epoch losses logged on the CPU\n" + runs[0].log());
        assertEquals(cpu.size(), cuda.size(), sample + ": epoch losses logged on CUDA\n" + runs[1].log());
        for (int i = 0; i < cpu.size(); i++) {
            // printed with 4 decimals: half a unit of the last place on top of the tolerance
            assertClose(sample + " epoch " + (i + 1) + " loss", cpu.get(i), cuda.get(i), rtol, atol + 5e-5);
        }
        Map<String, Tensor> cpuState = Kiln.load(work.resolve(sample + "-cpu/checkpoint.safetensors"));
        Map<String, Tensor> cudaState = Kiln.load(work.resolve(sample + "-cuda/checkpoint.safetensors"));
        assertEquals(cpuState.keySet(), cudaState.keySet(), sample + ": checkpoint keys");
        for (String k : cpuState.keySet()) {
            Tensor e = cpuState.get(k);
            Tensor a = cudaState.get(k);
            assertEquals(java.util.Arrays.toString(e.shape()), java.util.Arrays.toString(a.shape()), sample + " checkpoint " + k);
            double[] ev = e.toDoubleArray();
            double[] av = a.toDoubleArray();
            for (int i = 0; i < ev.length; i++) {
                assertClose(sample + " checkpoint " + k + "[" + i + "]", ev[i], av[i], rtol, atol);
            }
        }
        return runs;
    }

    private static void assertClose(String what, double expected, double actual, double rtol, double atol) {
        assertTrue(Math.abs(expected - actual) <= atol + rtol * Math.abs(expected),
                what + ": " + actual + " on CUDA, " + expected + " on the CPU");
    }

    @Test
    void mlpAdamAndTheTrainingLoopMatchTheCpu() throws IOException {
        bothDevices("mlp-adam", 4, 1e-4, 1e-5, "--rows", "512", "--steps", "4");
        bothDevices("training-loop", 3, 1e-4, 1e-5, "--epochs", "3");
    }

    @Test
    void mnistAndCnnOnAFashionMnistSubsetMatchTheCpu() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(FASHION), FASHION + " is absent (install dataset-fashion-mnist); skipping");
        Output[] mlp = bothDevices("mnist", 1, 1e-3, 1e-4, "--epochs", "1", "--limit", "256");
        assertEquals(testAccuracy(mlp[0]), testAccuracy(mlp[1]), 1.0 / 256, "mnist test accuracy");
        Output[] cnn = bothDevices("cnn", 1, 1e-3, 1e-4, "--epochs", "1", "--limit", "64", "--batch-size", "32");
        assertEquals(testAccuracy(cnn[0]), testAccuracy(cnn[1]), 1.0 / 64, "cnn test accuracy");
    }

    // ------------------------------------------------------------------ the contract programs

    private static Path contractDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/api-contract/contract");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        return null;
    }

    /** {@code text} with {@code from} replaced, which must occur: a changed contract fails here, not silently. */
    private static String replace(String text, String from, String to) {
        assertTrue(text.contains(from), "the contract program no longer contains \"" + from + "\"");
        return text.replace(from, to);
    }

    /**
     * Compiles the contract programs into {@code dir}, each source first passed through {@code edit}
     * (given the file name and the text).
     */
    private static Path compileContract(String dirName, java.util.function.BiFunction<String, String, String> edit)
            throws IOException {
        Path contract = contractDir();
        Assumptions.assumeTrue(contract != null, "shared/api-contract/contract is not beside this checkout; skipping");
        Path src = Files.createDirectories(work.resolve(dirName + "-src/contract"));
        Path classes = Files.createDirectories(work.resolve(dirName));
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path")));
        try (var files = Files.list(contract)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path copy = src.resolve(f.getFileName().toString());
                Files.writeString(copy, edit.apply(f.getFileName().toString(), Files.readString(f)));
                args.add(copy.toString());
            }
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, javac.run(null, null, err, args.toArray(String[]::new)), "the contract programs do not compile:\n" + err);
        return classes;
    }

    /** Runs {@code contract.<name>.main(args)} from {@code classes} and returns what it printed. */
    private static String runContract(Path classes, String name, String... args) throws Exception {
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                CudaSamplesTest.class.getClassLoader())) {
            Method main = loader.loadClass("contract." + name).getMethod("main", String[].class);
            PrintStream old = System.out;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try {
                main.invoke(null, (Object) args);
            } finally {
                System.setOut(old);
            }
            String out = captured.toString(StandardCharsets.UTF_8);
            System.out.println(classes.getFileName() + " " + name + ":\n" + out);
            return out;
        }
    }

    /** The losses and accuracies of a contract program's output, in order (timings left out). */
    private static List<Double> results(String out) {
        List<Double> values = new ArrayList<>();
        for (String line : out.lines().toList()) {
            String l = line.toLowerCase(java.util.Locale.ROOT);
            if (!l.contains("loss") && !l.contains("accuracy")) {
                continue;
            }
            Matcher m = DECIMAL.matcher(line.replaceAll(" in \\d+\\.\\d+ s", ""));
            while (m.find()) {
                values.add(Double.parseDouble(m.group()));
            }
        }
        return values;
    }

    /**
     * The contract programs at small sizes: MlpAdam's two million rows become 2,000 and
     * MnistClassifier reads a 512/256-image cut of Fashion-MNIST; otherwise the CUDA build is the
     * programs unchanged (they pick {@code Device.cudaIfAvailable()}), except TrainingLoop, which
     * never names a device and gets the three {@code .to(cuda)} calls a PyTorch user would add.
     * The CPU build replaces {@code Device.cudaIfAvailable()} with {@code Device.cpu()}.
     */
    @Test
    void theContractProgramsPrintTheCpusResults() throws Exception {
        UnaryOperator<String> small = s -> s.replace("2_000_000", "2_000");
        Path cpu = compileContract("contract-cpu", (file, text) -> {
            String t = small.apply(text);
            return t.contains("Device.cudaIfAvailable()") ? replace(t, "Device.cudaIfAvailable()", "Device.cpu()") : t;
        });
        Path cuda = compileContract("contract-cuda", (file, text) -> {
            String t = small.apply(text);
            if (file.equals("TrainingLoop.java")) {
                t = replace(t, "SimpleNN model = new SimpleNN();", "SimpleNN model = new SimpleNN(); model.to(dev.kiln.Device.cuda());");
                t = replace(t, "batch.get(0);", "batch.get(0).to(dev.kiln.Device.cuda());");
                t = replace(t, "batch.get(1);", "batch.get(1).to(dev.kiln.Device.cuda());");
            }
            return t;
        });
        List<String[]> programs = new ArrayList<>();
        programs.add(new String[] {"SixPillars"});
        programs.add(new String[] {"TrainingLoop"});
        programs.add(new String[] {"MlpAdam"});
        if (Files.isDirectory(FASHION)) {
            programs.add(new String[] {"MnistClassifier", smallFashionMnist(512, 256).toString()});
        } else {
            System.out.println("[skipped] MnistClassifier on CUDA: " + FASHION + " is absent");
        }
        for (String[] p : programs) {
            String[] args = java.util.Arrays.copyOfRange(p, 1, p.length);
            String cpuOut = runContract(cpu, p[0], args);
            String cudaOut = runContract(cuda, p[0], args);
            List<Double> e = results(cpuOut);
            List<Double> a = results(cudaOut);
            assertFalse(e.isEmpty(), p[0] + " printed no loss:\n" + cpuOut);
            assertEquals(e.size(), a.size(), p[0] + ": results printed on CUDA\n" + cudaOut + "\nand on the CPU\n" + cpuOut);
            for (int i = 0; i < e.size(); i++) {
                // printed with 4 decimals; an accuracy over 256 images may move by one image
                double atol = p[0].equals("MnistClassifier") && i == e.size() - 1 ? 1.0 / 256 : 2e-4;
                assertClose(p[0] + " result " + i, e.get(i), a.get(i), 1e-3, atol);
            }
        }
    }

    /** The first {@code train} training and {@code test} test images of Fashion-MNIST as idx files in a new folder. */
    private static Path smallFashionMnist(int train, int test) throws IOException {
        Path dir = Files.createDirectories(work.resolve("fashion-small"));
        for (String split : List.of("train", "t10k")) {
            int n = split.equals("train") ? train : test;
            cut(FASHION.resolve(split + "-images-idx3-ubyte.gz"), dir.resolve(split + "-images-idx3-ubyte"), n, 28 * 28);
            cut(FASHION.resolve(split + "-labels-idx1-ubyte.gz"), dir.resolve(split + "-labels-idx1-ubyte"), n, 1);
        }
        return dir;
    }

    /** Copies an idx file's header with the count set to {@code n}, then its first {@code n} items. */
    private static void cut(Path gz, Path dst, int n, int itemBytes) throws IOException {
        try (InputStream raw = Files.newInputStream(gz); DataInputStream in = new DataInputStream(new GZIPInputStream(raw));
             OutputStream file = Files.newOutputStream(dst); DataOutputStream out = new DataOutputStream(file)) {
            int magic = in.readInt();
            int dims = magic & 0xFF;
            in.readInt();
            out.writeInt(magic);
            out.writeInt(n);
            for (int d = 1; d < dims; d++) {
                out.writeInt(in.readInt());
            }
            out.write(in.readNBytes(n * itemBytes));
        }
    }
}
