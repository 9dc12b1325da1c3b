package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's glue through the real JCuda and JCublas2 classes over the fake driver: kernel
 * parameters marshalled by JCuda, cuBLAS called through JCublas2, the fatbin loaded by
 * {@code cuModuleLoadData}, and the driver's own out-of-memory code.
 */
class FakeDriverKernelsTest extends KernelGlueTests {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }

    @Test
    void theDriverAndTheKernelImageAreTheRealOnes() {
        Cuda.Report r = Cuda.report();
        assertTrue(r.driverName().startsWith("JCuda 12.6"), r.toString());
        assertEquals("shipped fatbin", r.devices().get(0).kernelPath(), r.toString());
        assertTrue(r.cublas().startsWith("loaded, version 12."), r.cublas());
        assertEquals(Device.cuda(0), Device.cudaIfAvailable());
    }

    @Test
    void theDriversOutOfMemoryCodeReachesTheAllocator() {
        long total = CudaRuntime.get().driver().memoryInfo(0)[1];
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> Tensor.empty(new long[] {total / 4 + 1024}, DType.FLOAT32, Device.cuda(0)));
        assertTrue(e.getMessage().contains("tried to allocate"), e.getMessage());
        assertEquals(total, e.total());
    }
}
