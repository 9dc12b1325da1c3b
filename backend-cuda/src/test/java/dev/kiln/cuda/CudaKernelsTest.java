package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** The backend's glue on the emulated device. */
class EmulatedKernelsTest extends KernelGlueTests {

    @BeforeAll
    static void emulator() {
        EmulatedCuda.assume();
    }
}
