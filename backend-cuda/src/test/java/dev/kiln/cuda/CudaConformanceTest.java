package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.conformance.ConformanceSuite;
import org.junit.jupiter.api.BeforeAll;

/** The conformance kit, every PyTorch-fixture op and error case, on {@code cuda:0} (a GPU, else the emulated device). */
class CudaConformanceTest extends ConformanceSuite {

    @BeforeAll
    static void cuda() {
        TestCuda.assumeAvailable();
    }

    @Override
    protected Device device() {
        return Device.cuda(0);
    }
}
