package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real JCuda, JCublas and JNvrtc classes over the fake libcuda.so.1, libcublas.so.12 and
 * libnvrtc.so.12, in a child
 * JVM whose LD_LIBRARY_PATH points at them (the dynamic linker reads it only at start-up).
 */
class FakeCudaLibrariesTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"modern", "old-driver"})
    void jcudaRunsOnTheFakeDriver(String mode) throws Exception {
        Path fake = Paths.get(System.getProperty("kiln.kernels.native.dir", "target/native"), "fake");
        Assumptions.assumeTrue(Files.exists(fake.resolve("libcuda.so.1")) && Files.exists(fake.resolve("libcublas.so.12"))
                        && Files.exists(fake.resolve("libnvrtc.so.12")),
                () -> "skipped: the fake CUDA libraries were not built (" + EmulatorLibrary.buildStatus() + ")");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        Path tmp = Files.createTempDirectory("kiln-jcuda");  // where JCuda extracts its natives
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", classpath,
                "-Djava.io.tmpdir=" + tmp, FakeCudaProbe.class.getName(), mode))
                .redirectErrorStream(true);
        String ld = System.getenv("LD_LIBRARY_PATH");
        pb.environment().put("LD_LIBRARY_PATH", fake + (ld == null || ld.isEmpty() ? "" : File.pathSeparator + ld));
        pb.environment().put("KILN_FAKE_CUDA_DRIVER_VERSION", mode.equals("old-driver") ? "12060" : "13000");
        pb.environment().put("KILN_FAKE_CUDA_SM", "86");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "timed out");
        try (Stream<Path> files = Files.walk(tmp)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        System.out.println(out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("ALL OK") || out.contains("no PTX in this build"), out);
    }
}
