package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.conformance.TensorAssertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fake driver set to CUDA 12.4 (R550), which refuses the shipped PTX ISA 9.0 as a real one
 * does, so Kiln compiles its kernels at run time with the fake NVRTC. Three surefire executions run
 * this class, each in its own JVM with its own environment:
 * <ul>
 *   <li>{@code fake-old-driver}: an sm_86 GPU; NVRTC makes a cubin for sm_86, cached on disk;</li>
 *   <li>{@code fake-old-driver-new-gpu}: an sm_120 GPU that NVRTC 12.4 does not know; it makes
 *       PTX for compute_90, which the driver accepts;</li>
 *   <li>{@code fake-unusable-driver}: the same GPU with NVRTC 12.6, whose PTX 8.5 the 12.4 driver
 *       refuses: CUDA is unavailable, with one reason naming the GPU, the driver and what to
 *       install.</li>
 * </ul>
 */
class FakeOldDriverTest {

    private static final String SM = System.getenv().getOrDefault("KILN_FAKE_CUDA_SM", "86");
    private static final String NVRTC = System.getenv().getOrDefault("KILN_FAKE_NVRTC_VERSION", "126");

    private static void assumeOldFakeDriver() {
        String reason = Cuda.unavailableReason();
        boolean fakeLoaded = reason == null || !reason.contains("libcuda.so.1: cannot open");
        if (!fakeLoaded) {
            System.out.println("[skipped] old-driver test: the fake libcuda.so.1 is not on LD_LIBRARY_PATH: " + reason);
        }
        Assumptions.assumeTrue(System.getenv("KILN_FAKE_CUDA_DRIVER_VERSION") != null && fakeLoaded,
                "run by the fake-old-driver executions");
    }

    @Test
    void kernelsAreCompiledAtRunTimeOrCudaIsUnavailableWithTheReason() throws IOException {
        assumeOldFakeDriver();
        boolean unusable = !SM.equals("86") && Integer.parseInt(NVRTC) >= 126;
        if (unusable) {
            String reason = Cuda.unavailableReason();
            System.out.println("[old driver, sm_" + SM + ", NVRTC " + NVRTC + "] " + reason);
            assertFalse(Cuda.isAvailable());
            assertEquals(Device.cpu(), Device.cudaIfAvailable());
            assertTrue(reason.contains("CUDA 12.4") && reason.contains("CUDA_ERROR_UNSUPPORTED_PTX_VERSION")
                    && reason.contains("compute capability 12.0") && reason.contains("compute_90")
                    && reason.contains("driver 580") && reason.contains("libnvrtc.so.12"), reason);
            return;
        }
        assertTrue(Cuda.isAvailable(), Cuda.unavailableReason());
        String path = CudaRuntime.get().driver().kernelPath(0);
        System.out.println("[old driver, sm_" + SM + ", NVRTC " + NVRTC + "] kernels: " + path);
        String expected = SM.equals("86") ? "NVRTC, compiled for sm_86" : "NVRTC, PTX for compute_90 compiled by the driver for sm_120";
        assertTrue(path.startsWith(expected) && path.contains("CUDA_ERROR_UNSUPPORTED_PTX_VERSION"), path);
        // The compiled image is cached on disk for the next run.
        String suffix = SM.equals("86") ? "-sm_86.cubin" : "-compute_90.ptx";
        try (Stream<Path> files = Files.list(KernelModules.cacheDir())) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().endsWith(suffix)), "cache in " + KernelModules.cacheDir());
        }
        // And the kernels work.
        Kiln.manualSeed(5);
        Tensor a = Tensor.randn(4, 6);
        Tensor b = Tensor.randn(6, 3);
        TensorAssertions.assertMatches("matmul", a.matmul(b).exp(), a.to(Device.cuda(0)).matmul(b.to(Device.cuda(0))).exp());
    }
}
