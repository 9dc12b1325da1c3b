package dev.kiln.cuda;

import dev.kiln.Device;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fake driver set to CUDA 12.4 (R550), which refuses the shipped PTX ISA 9.0 as a real one
 * does: Kiln falls back to runtime compilation, and without NVRTC reports CUDA unavailable with
 * one reason that names the driver, the GPU and what to install. Runs in its own JVM (the
 * {@code fake-old-driver} surefire execution sets {@code KILN_FAKE_CUDA_DRIVER_VERSION=12040}).
 */
class FakeOldDriverTest {

    @Test
    void anOldDriverWithoutNvrtcMakesCudaUnavailableWithTheReason() {
        String fake = System.getenv("KILN_FAKE_CUDA_DRIVER_VERSION");
        String reason = Cuda.unavailableReason();
        boolean fakeLoaded = reason == null || !reason.contains("libcuda.so.1: cannot open");
        if (!fakeLoaded) {
            System.out.println("[skipped] old-driver test: the fake libcuda.so.1 is not on LD_LIBRARY_PATH: " + reason);
        }
        Assumptions.assumeTrue(fake != null && fakeLoaded, "run by the fake-old-driver execution");
        if (reason == null) {
            // NVRTC is installed here: the kernels were compiled at run time instead.
            String path = CudaRuntime.get().driver().kernelPath(0);
            assertTrue(path.startsWith("NVRTC, compiled for sm_86"), path);
            return;
        }
        System.out.println("[old driver] " + reason);
        assertFalse(Cuda.isAvailable());
        assertEquals(Device.cpu(), Device.cudaIfAvailable());
        assertTrue(reason.contains("CUDA 12.4") && reason.contains("CUDA_ERROR_UNSUPPORTED_PTX_VERSION")
                && reason.contains("compute capability 8.6") && reason.contains("libnvrtc.so.12")
                && reason.contains("driver 580"), reason);
    }
}
