package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs the native kernel tests (src/test/native): every kernel against a host reference, the
 * emulator's diagnostics and the deliberately broken kernels, under each thread schedule, with
 * the ucontext fallback, and under AddressSanitizer + UBSan.
 */
class NativeKernelSuiteTest {

    private static Path nativeDir() {
        return Paths.get(System.getProperty("kiln.kernels.native.dir", "target/native"));
    }

    private static void assumeBuilt(String status, Path program) throws IOException {
        Path s = nativeDir().resolve(status + ".status");
        String recorded = Files.exists(s) ? Files.readString(s, StandardCharsets.UTF_8).trim() : "no " + s;
        Assumptions.assumeTrue(recorded.equals("available") && Files.isExecutable(program),
                () -> "skipped: " + program.getFileName() + " was not built: " + recorded);
    }

    private record Run(int exit, String output) {
    }

    private static Run run(Path program, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out");
        String text = new String(out, StandardCharsets.UTF_8);
        System.out.println(text);
        return new Run(p.exitValue(), text);
    }

    @ParameterizedTest(name = "schedule {0}")
    @ValueSource(strings = {"forward", "reverse", "random"})
    void everyKernelUnderEverySchedule(String schedule) throws Exception {
        Path program = nativeDir().resolve("kiln_kernel_tests");
        assumeBuilt("emulator", program);
        Run r = run(program, "--schedule", schedule, "--seed", "20240611");
        assertEquals(0, r.exit(), "native kernel tests failed under the " + schedule + " schedule");
        assertTrue(r.output().contains(" 0 failed"), r.output());
    }

    @Test
    void ucontextFallback() throws Exception {
        Path program = nativeDir().resolve("ucontext/kiln_kernel_tests");
        assumeBuilt("emulator", program);
        Run r = run(program, "--schedule", "random", "--seed", "3");
        assertEquals(0, r.exit(), "native kernel tests failed with the ucontext fallback");
    }

    @Test
    void underAddressSanitizerAndUbsan() throws Exception {
        Path program = nativeDir().resolve("asan/kiln_kernel_tests");
        assumeBuilt("asan", program);
        Run r = run(program, "--schedule", "random", "--seed", "11");
        assertEquals(0, r.exit(), "native kernel tests failed under AddressSanitizer/UBSan");
        assertTrue(!r.output().contains("runtime error:"), "UBSan reported: " + r.output());
    }

    /** The sanitizer build is not vacuous: a kernel that writes out of bounds is caught. */
    @Test
    void addressSanitizerCatchesAnOutOfBoundsKernel() throws Exception {
        Path program = nativeDir().resolve("asan/kiln_kernel_tests");
        assumeBuilt("asan", program);
        Run r = run(program, "death_out_of_bounds_write");
        assertNotEquals(0, r.exit());
        assertTrue(r.output().contains("heap-buffer-overflow") || r.output().contains("use-after-poison"),
                r.output());
        assertTrue(r.output().contains("probe_out_of_bounds"), "the report names the kernel: " + r.output());
    }
}
