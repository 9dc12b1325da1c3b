package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** nn and optim through the real JCuda classes over the fake driver, against the CPU. */
class FakeDriverModelTest extends ModelParityTests {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }
}
