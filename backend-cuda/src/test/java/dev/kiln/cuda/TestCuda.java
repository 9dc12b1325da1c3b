package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.kernels.EmulatedDevice;
import org.junit.jupiter.api.Assumptions;

/**
 * The CUDA devices of this module's default test run, which selects {@code kiln.cuda.driver=auto}:
 * a real GPU where there is one, else the kernels module's emulated device. {@code cuda:0} runs
 * the conformance, gradient, glue and model tests; on the emulator {@code cuda:1} runs the memory
 * tests, which change its capacity.
 */
final class TestCuda {

    private TestCuda() {
    }

    /** Skips the calling test, printing why, unless some CUDA driver serves {@code cuda:0}. */
    static void assumeAvailable() {
        CudaRuntime rt = CudaRuntime.get();
        if (rt.driver() == null) {
            System.out.println("[skipped] CUDA tests: " + rt.reason());
        } else {
            System.out.println("[cuda] tests run on " + rt.driver().name() + ": " + rt.driver().properties(0).name());
        }
        Assumptions.assumeTrue(rt.driver() != null, () -> "CUDA unavailable: " + rt.reason());
    }

    /** Skips the calling test, printing why, unless the emulated device serves {@code cuda:N}. */
    static void assumeEmulated() {
        CudaRuntime rt = CudaRuntime.get();
        boolean ok = rt.driver() instanceof EmulatedDriver;
        if (!ok) {
            String why = rt.driver() == null ? "CUDA unavailable: " + rt.reason()
                    : "cuda:N is served by " + rt.driver().name() + ", and these tests need the emulator's memory cap";
            System.out.println("[skipped] emulated-device tests: " + why);
        }
        Assumptions.assumeTrue(ok, () -> "the emulated CUDA device does not serve cuda:N: " + rt.reason());
    }

    /** The emulated device behind {@code device}. */
    static EmulatedDevice emulator(Device device) {
        return ((EmulatedDriver) CudaRuntime.get().driver()).device(device.index());
    }
}
