package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** Backward on {@code cuda:0} (a GPU, else the emulated device) against the CPU. */
class CudaGradientTest extends GradientParityTests {

    @BeforeAll
    static void cuda() {
        TestCuda.assumeAvailable();
    }
}
