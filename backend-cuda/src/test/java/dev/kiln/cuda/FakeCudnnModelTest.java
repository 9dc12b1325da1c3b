package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** The CNN of {@link ModelParityTests} with its convolutions on cuDNN (the fake libcudnn.so.8), against the CPU. */
class FakeCudnnModelTest extends ModelParityTests {

    @BeforeAll
    static void jcudaAndCudnn() {
        FakeDriver.assume();
        org.junit.jupiter.api.Assertions.assertNotNull(CudaRuntime.get().driver().cudnn().library(),
                () -> "cuDNN did not load: " + CudaRuntime.get().driver().cudnn().reason());
    }
}
