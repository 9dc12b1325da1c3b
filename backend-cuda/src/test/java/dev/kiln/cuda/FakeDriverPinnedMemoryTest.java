package dev.kiln.cuda;

import org.junit.jupiter.api.BeforeAll;

/** Pinned host memory through the real JCuda classes (cuMemHostAlloc, cuMemcpyHtoDAsync, events) over the fake driver. */
class FakeDriverPinnedMemoryTest extends PinnedMemoryTests {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }
}
