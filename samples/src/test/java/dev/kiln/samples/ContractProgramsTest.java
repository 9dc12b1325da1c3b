package dev.kiln.samples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API contract: the four programs in {@code ../shared/api-contract/contract} compile unchanged
 * against Kiln's modules and run to completion on the CPU.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContractProgramsTest {

    private static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    static Path classes;

    private static Path contractDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/api-contract/contract");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        return null;
    }

    @BeforeAll
    static void compile() throws Exception {
        Path dir = contractDir();
        Assumptions.assumeTrue(dir != null, "shared/api-contract/contract is not beside this checkout; skipping");
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path")));
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(String[]::new));
        assertEquals(0, rc, "the contract programs do not compile unchanged:\n" + err);
    }

    /** Runs a contract program's main and returns what it printed. */
    private static String run(String name, String... args) throws Exception {
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                ContractProgramsTest.class.getClassLoader())) {
            Method main = loader.loadClass("contract." + name).getMethod("main", String[].class);
            PrintStream old = System.out;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setOut(new PrintStream(captured, true));
            try {
                main.invoke(null, (Object) args);
            } finally {
                System.setOut(old);
            }
            String out = captured.toString();
            System.out.println(out);
            return out;
        }
    }

    @Test
    @Order(1)
    void sixPillarsLearnsTheLineAndReloads() throws Exception {
        String out = run("SixPillars");
        assertTrue(out.contains("loaded model predicts the same: 1.0"), out);
    }

    @Test
    @Order(2)
    void trainingLoopRunsTwentyEpochs() throws Exception {
        String out = run("TrainingLoop");
        assertTrue(out.contains("Epoch [20/20]"), out);
    }

    @Test
    @Order(3)
    void mlpAdamLowersTheLossOnTwoMillionRows() throws Exception {
        String out = run("MlpAdam");
        assertTrue(out.contains("10 full-batch steps"), out);
    }

    @Test
    @Order(4)
    void mnistClassifierOnFashionMnist() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(FASHION), FASHION + " is absent (install dataset-fashion-mnist); skipping");
        String out = run("MnistClassifier", FASHION.toString());
        String line = out.lines().filter(l -> l.startsWith("test accuracy:")).findFirst().orElseThrow();
        double accuracy = Double.parseDouble(line.substring("test accuracy:".length()).trim());
        assertTrue(accuracy > 0.8, line);
    }
}
