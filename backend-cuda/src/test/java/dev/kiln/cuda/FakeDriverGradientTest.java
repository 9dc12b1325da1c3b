package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** Backward through the real JCuda classes, over the fake driver, against the CPU. */
class FakeDriverGradientTest extends GradientParityTests {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }
}
