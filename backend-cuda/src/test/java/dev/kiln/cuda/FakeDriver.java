package dev.kiln.cuda;

import org.junit.jupiter.api.Assumptions;

/**
 * The real JCuda classes over the kernels module's fake {@code libcuda.so.1} and
 * {@code libcublas.so.12}: the {@code fake-driver} surefire executions put them on
 * {@code LD_LIBRARY_PATH} and select {@code kiln.cuda.driver=jcuda}. Where the fake libraries
 * were not built (no g++) the probe fails and these tests skip, printing why.
 */
final class FakeDriver {

    private FakeDriver() {
    }

    /** Skips the calling test, printing why, unless JCuda serves {@code cuda:N}. */
    static void assume() {
        CudaRuntime rt = CudaRuntime.get();
        boolean ok = rt.driver() instanceof JCudaDriver;
        if (!ok) {
            String why = rt.driver() == null ? rt.reason() : "cuda:N is served by " + rt.driver().name();
            System.out.println("[skipped] JCuda over the fake driver: " + why + " (LD_LIBRARY_PATH="
                    + System.getenv("LD_LIBRARY_PATH") + ")");
        }
        Assumptions.assumeTrue(ok, () -> "JCuda unavailable: " + rt.reason());
    }
}
