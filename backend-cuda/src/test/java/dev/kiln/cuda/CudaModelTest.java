package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** nn and optim on the emulated device against the CPU. */
class EmulatedModelTest extends ModelParityTests {

    @BeforeAll
    static void emulator() {
        EmulatedCuda.assume();
    }
}
