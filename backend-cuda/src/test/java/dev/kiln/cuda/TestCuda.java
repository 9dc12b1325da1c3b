package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.kernels.EmulatedDevice;
import org.junit.jupiter.api.Assumptions;

/**
 * The emulated CUDA devices that serve {@code cuda:N} in this module's tests (surefire sets
 * {@code kiln.cuda.driver=emulated}). {@code cuda:0} runs the conformance and gradient tests,
 * {@code cuda:1} the memory tests, whose capacity they change.
 */
final class EmulatedCuda {

    static final Device MAIN = Device.cuda(0);
    static final Device MEMORY = Device.cuda(1);

    private EmulatedCuda() {
    }

    /** Skips the calling test, printing why, unless the emulated device serves {@code cuda:N}. */
    static void assume() {
        CudaRuntime rt = CudaRuntime.get();
        boolean ok = rt.driver() instanceof EmulatedDriver;
        if (!ok) {
            String why = rt.driver() == null ? "CUDA unavailable: " + rt.reason()
                    : "cuda:N is served by " + rt.driver().name() + ", not the emulator (run with -Dkiln.cuda.driver=emulated)";
            System.out.println("[skipped] emulated CUDA tests: " + why);
        }
        Assumptions.assumeTrue(ok, () -> "emulated CUDA device unavailable: " + rt.reason());
    }

    /** The emulated device behind {@code device}. */
    static EmulatedDevice emulator(Device device) {
        return ((EmulatedDriver) CudaRuntime.get().driver()).device(device.index());
    }
}
