package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.conformance.TensorAssertions;
import dev.kiln.nn.F;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Over the fake driver without a libcudnn.so.8 on the library path (the {@code fake-driver}
 * execution): cuDNN does not load, the reason names the missing library, the doctor and the
 * backend's log line say so, and convolution runs on Kiln's kernels.
 */
class FakeDriverNoCudnnTest {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }

    @Test
    void withoutLibcudnnConvolutionAndBatchNormFallBackAndSayWhy() {
        Cudnn.Status s = CudaRuntime.get().driver().cudnn();
        assertNull(s.library());
        assertTrue(s.reason().contains("libcudnn.so.8"), s.reason());
        // Asked again, the same answer: the probe runs once.
        assertTrue(s == CudaRuntime.get().driver().cudnn());
        String path = CudaRuntime.convolutionPath(s);
        assertTrue(path.startsWith("convolution, batch norm and pooling use Kiln's kernels (im2col + cuBLAS), cuDNN is not used: "), path);
        String doctor = Cuda.report().cudnn();
        assertTrue(doctor.startsWith("not available: ") && doctor.contains("libcudnn.so.8"), doctor);

        Kiln.manualSeed(23);
        Tensor x = Tensor.randn(2, 4, 6, 5);
        Tensor w = Tensor.randn(6, 2, 3, 3);
        long before = JCudnnLibrary.CALLS.get();
        Tensor cuda = F.conv2d(x.to(Device.cuda(0)), w.to(Device.cuda(0)), null, new int[] {2}, new int[] {1}, new int[] {1}, 2)
                .cpu();
        assertEquals(0, JCudnnLibrary.CALLS.get() - before);
        TensorAssertions.assertMatches("conv2d on Kiln's kernels", F.conv2d(x, w, null, new int[] {2}, new int[] {1},
                new int[] {1}, 2), cuda, 1e-4, 1e-4);

        // Batch norm, training with running statistics: Kiln's kernels, the same numbers as the CPU.
        Tensor rmCpu = Tensor.zeros(4);
        Tensor rvCpu = Tensor.ones(4);
        Tensor rmCuda = Tensor.zeros(4).to(Device.cuda(0));
        Tensor rvCuda = Tensor.ones(4).to(Device.cuda(0));
        Tensor bnCuda = F.batchNorm(x.to(Device.cuda(0)), rmCuda, rvCuda, null, null, true, 0.1, 1e-5).cpu();
        assertEquals(0, JCudnnLibrary.CALLS.get() - before);
        TensorAssertions.assertMatches("batchNorm on Kiln's kernels", F.batchNorm(x, rmCpu, rvCpu, null, null, true, 0.1, 1e-5),
                bnCuda, 1e-5, 1e-5);
        TensorAssertions.assertMatches("running variance", rvCpu, rvCuda.cpu(), 1e-6, 1e-6);
    }
}
