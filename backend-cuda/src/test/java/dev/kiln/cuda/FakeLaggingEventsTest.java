package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real JCuda classes over the fake driver with {@code KILN_FAKE_CUDA_EVENT_LAG} set (the
 * {@code fake-lagging-events} execution): {@code cuEventQuery} answers {@code CUDA_ERROR_NOT_READY}
 * until the stream is synchronised, as on a GPU still busy with the copies. A pinned block released
 * while the event after its copy is not ready must stay out of reuse, and come back once it is.
 */
class FakeLaggingEventsTest {

    private static final Device CUDA = Device.cuda(0);

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
        String lag = System.getenv("KILN_FAKE_CUDA_EVENT_LAG");
        if (lag == null) {
            System.out.println("[skipped] lagging events: KILN_FAKE_CUDA_EVENT_LAG is not set (the fake-lagging-events execution sets it)");
        }
        Assumptions.assumeTrue(lag != null, "KILN_FAKE_CUDA_EVENT_LAG is not set");
    }

    @Test
    void aPinnedBlockIsReusedOnlyAfterTheEventOfItsCopyIsReady() {
        Tensor a = Tensor.arange(256).toFloat().pinMemory();
        PinnedMemoryStats start = Cuda.pinnedMemoryStats();
        Tensor onDevice = a.to(CUDA);
        a.close();
        PinnedMemoryStats released = Cuda.pinnedMemoryStats();
        assertEquals(1024, released.pending(), "cuEventQuery said NOT_READY: the block waits, " + released);

        Cuda.emptyPinnedCache();
        PinnedMemoryStats emptied = Cuda.pinnedMemoryStats();
        assertEquals(1024, emptied.pending(), "a pending block is not freed: " + emptied);
        assertEquals(emptied.allocated() + emptied.pending(), emptied.reserved(), emptied.toString());

        Tensor b = Tensor.arange(256).toFloat().mul(2.0).pinMemory();
        PinnedMemoryStats second = Cuda.pinnedMemoryStats();
        assertEquals(start.hostAllocs() + 1, second.hostAllocs(), "a fresh block instead of the pending one: " + second);
        assertEquals(start.cacheHits(), second.cacheHits());

        Cuda.synchronize(CUDA); // the stream has passed the event now
        b.close();
        Tensor c = Tensor.zeros(256).pinMemory();
        PinnedMemoryStats third = Cuda.pinnedMemoryStats();
        assertEquals(0, third.pending(), third.toString());
        assertEquals(second.hostAllocs(), third.hostAllocs(), "reused: " + third);
        assertEquals(second.cacheHits() + 1, third.cacheHits(), third.toString());
        assertTrue(c.isPinned());

        float[] expected = new float[256];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = i;
        }
        assertArrayEquals(expected, onDevice.toFloatArray());
    }
}
