package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** The backend's glue on {@code cuda:0} (a GPU, else the emulated device). */
class CudaKernelsTest extends KernelGlueTests {

    @BeforeAll
    static void cuda() {
        TestCuda.assumeAvailable();
    }
}
