package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.conformance.ConformanceSuite;
import org.junit.jupiter.api.BeforeAll;

/** The conformance kit through the real JCuda classes, over the fake libcuda and libcublas. */
class FakeDriverConformanceTest extends ConformanceSuite {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }

    @Override
    protected Device device() {
        return Device.cuda(0);
    }
}
