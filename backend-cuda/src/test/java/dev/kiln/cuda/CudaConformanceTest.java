package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.conformance.ConformanceSuite;
import org.junit.jupiter.api.BeforeAll;

/** The conformance kit, every PyTorch-fixture op and error case, on the emulated CUDA device. */
class EmulatedConformanceTest extends ConformanceSuite {

    @BeforeAll
    static void emulator() {
        EmulatedCuda.assume();
    }

    @Override
    protected Device device() {
        return EmulatedCuda.MAIN;
    }
}
