package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** nn and optim on {@code cuda:0} (a GPU, else the emulated device) against the CPU. */
class CudaModelTest extends ModelParityTests {

    @BeforeAll
    static void cuda() {
        TestCuda.assumeAvailable();
    }
}
