package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** Pinned host memory on cuda:0 of the default test run (the emulated device here, a GPU where there is one). */
class PinnedMemoryTest extends PinnedMemoryTests {

    @BeforeAll
    static void cuda() {
        TestCuda.assumeAvailable();
    }
}
