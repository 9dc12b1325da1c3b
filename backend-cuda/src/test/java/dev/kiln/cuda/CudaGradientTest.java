package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** Backward on the emulated device against the CPU. */
class EmulatedGradientTest extends GradientParityTests {

    @BeforeAll
    static void emulator() {
        EmulatedCuda.assume();
    }
}
