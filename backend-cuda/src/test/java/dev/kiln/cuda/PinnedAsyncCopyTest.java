package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Layout;
import dev.kiln.kernels.EmulatedDevice;
import dev.kiln.kernels.KernelArgs;
import dev.kiln.spi.Storage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The safety of asynchronous copies from page-locked memory, over a driver whose stream really
 * lags: {@link DeferredDriver} queues {@code cuMemcpyHtoDAsync} and performs it only when the
 * stream is made to catch up, reading the source then, as a GPU's DMA engine would. A released
 * block must not be handed out again (and so overwritten) before the copy from it has run.
 */
class PinnedAsyncCopyTest {

    /**
     * An emulated device whose asynchronous host-to-device copies wait in a queue until a
     * synchronising call (any other stream work, a copy to the host, an event wait); events
     * complete when the queue passes them. Can refuse page-locked memory beyond a number of blocks.
     */
    static final class DeferredDriver implements CudaDriver {
        final EmulatedDriver inner;
        final List<Runnable> queue = new ArrayList<>();
        final Map<Long, Long> events = new HashMap<>();
        long queued;
        long done;
        long nextEvent = 1;
        int hostBlocks;
        int hostBlockLimit = Integer.MAX_VALUE;

        DeferredDriver(EmulatedDriver inner) {
            this.inner = inner;
        }

        synchronized void flush() {
            for (Runnable r : queue) {
                r.run();
            }
            queue.clear();
            done = queued;
        }

        synchronized int pending() {
            return queue.size();
        }

        @Override
        public synchronized void copyToDeviceAsync(int device, long dst, ByteBuffer pinnedSrc, long bytes) {
            ByteBuffer src = pinnedSrc.duplicate();
            queue.add(() -> inner.copyToDevice(device, dst, src, bytes));
            queued++;
        }

        @Override
        public synchronized long recordEvent(int device) {
            long id = nextEvent++;
            events.put(id, queued);
            return id;
        }

        @Override
        public synchronized boolean eventDone(long event) {
            return events.get(event) <= done;
        }

        @Override
        public void waitEvent(long event) {
            flush();
        }

        @Override
        public synchronized void destroyEvent(long event) {
            events.remove(event);
        }

        @Override
        public synchronized ByteBuffer hostAlloc(long bytes) {
            if (hostBlocks >= hostBlockLimit) {
                return null;
            }
            hostBlocks++;
            return inner.hostAlloc(bytes);
        }

        @Override
        public synchronized void hostFree(ByteBuffer block) {
            hostBlocks--;
            inner.hostFree(block);
        }

        @Override
        public String name() {
            return "deferred " + inner.name();
        }

        @Override
        public int driverVersion() {
            return inner.driverVersion();
        }

        @Override
        public int deviceCount() {
            return inner.deviceCount();
        }

        @Override
        public DeviceProperties properties(int device) {
            return inner.properties(device);
        }

        @Override
        public long malloc(int device, long bytes) {
            return inner.malloc(device, bytes);
        }

        @Override
        public void free(int device, long ptr) {
            flush();
            inner.free(device, ptr);
        }

        @Override
        public long[] memoryInfo(int device) {
            return inner.memoryInfo(device);
        }

        @Override
        public void copyToDevice(int device, long dst, ByteBuffer src, long bytes) {
            flush();
            inner.copyToDevice(device, dst, src, bytes);
        }

        @Override
        public void copyToHost(int device, ByteBuffer dst, long src, long bytes) {
            flush();
            inner.copyToHost(device, dst, src, bytes);
        }

        @Override
        public void copyOnDevice(int device, long dst, long src, long bytes) {
            flush();
            inner.copyOnDevice(device, dst, src, bytes);
        }

        @Override
        public void launch(int device, String name, int gridX, int blockX, KernelArgs args) {
            flush();
            inner.launch(device, name, gridX, blockX, args);
        }

        @Override
        public void gemm(int device, boolean doublePrecision, boolean transA, boolean transB, int m, int n, int k, long a, int lda,
                         long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch) {
            flush();
            inner.gemm(device, doublePrecision, transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch);
        }

        @Override
        public void synchronize(int device) {
            flush();
        }

        @Override
        public String kernelPath(int device) {
            return inner.kernelPath(device);
        }
    }

    private DeferredDriver driver;
    private PinnedHostAllocator host;
    private CudaBackend backend;

    @BeforeEach
    void deferredDevice() {
        assumeTrue(EmulatedDevice.isAvailable(), () -> "the emulated device is unavailable: " + EmulatedDevice.unavailableReason());
        driver = new DeferredDriver(EmulatedDriver.open(1, 64L << 20));
        host = new PinnedHostAllocator(driver);
        backend = new CudaBackend(Device.cuda(0), driver, host, () -> { });
    }

    private static void put(PinnedHostBuffer b, float... values) {
        b.buffer().asFloatBuffer().put(values);
    }

    private float[] values(Storage s, int n) {
        float[] out = new float[n];
        backend.toHost(s, Layout.contiguous(n), out);
        return out;
    }

    @Test
    void aReleasedBlockIsNotReusedBeforeTheCopyFromItRuns() {
        PinnedHostBuffer a = backend.allocatePinned(16);
        put(a, 1, 2, 3, 4);
        Storage s = backend.fromPinned(a, 0, DType.FLOAT32, 4);
        assertEquals(1, driver.pending(), "the copy is queued, the host did not wait");
        a.release();
        assertEquals(512, host.stats().pending(), host.stats().toString());

        PinnedHostBuffer b = backend.allocatePinned(16);
        assertNotSame(a.block(), b.block(), "the block of a queued copy is not handed out again");
        put(b, 9, 9, 9, 9);
        assertEquals(1, driver.pending());
        assertArrayEquals(new float[] {1, 2, 3, 4}, values(s, 4), "the device got the values staged before the release");

        b.release();
        PinnedHostBuffer c = backend.allocatePinned(16);
        assertTrue(c.block() == a.block() || c.block() == b.block(), "once the copy ran, blocks are reused");
        PinnedMemoryStats st = host.stats();
        assertEquals(0, st.pending(), st.toString());
        assertEquals(2, st.hostAllocs(), st.toString());
        assertEquals(1, st.cacheHits(), st.toString());
    }

    @Test
    void copiesFromAnOffsetAndEveryCopyIsWaitedFor() {
        PinnedHostBuffer a = backend.allocatePinned(32);
        put(a, 0, 1, 2, 3, 4, 5, 6, 7);
        Storage tail = backend.fromPinned(a, 16, DType.FLOAT32, 4);
        Storage head = backend.fromPinned(a, 0, DType.FLOAT32, 2);
        assertEquals(2, driver.pending());
        a.release();
        PinnedHostBuffer b = backend.allocatePinned(32);
        assertNotSame(a.block(), b.block());
        assertArrayEquals(new float[] {4, 5, 6, 7}, values(tail, 4));
        assertArrayEquals(new float[] {0, 1}, values(head, 2));
        assertThrows(IllegalArgumentException.class, () -> backend.fromPinned(b, 24, DType.FLOAT32, 4));
    }

    @Test
    void whenTheHostRefusesMoreMemoryTheAllocatorWaitsForTheDeviceAndReuses() {
        driver.hostBlockLimit = 1;
        PinnedHostBuffer a = backend.allocatePinned(16);
        put(a, 5, 6, 7, 8);
        Storage s = backend.fromPinned(a, 0, DType.FLOAT32, 4);
        a.release();
        PinnedHostBuffer b = backend.allocatePinned(16);
        assertSame(a.block(), b.block(), "the only block, once its copy is done");
        assertEquals(0, driver.pending(), "the allocator made the stream catch up first");
        assertEquals(1, host.stats().waitsForDevice());
        put(b, 0, 0, 0, 0);
        assertArrayEquals(new float[] {5, 6, 7, 8}, values(s, 4));

        CudaException e = assertThrows(CudaException.class, () -> backend.allocatePinned(16));
        assertTrue(e.getMessage().startsWith("pinned host memory: cuMemHostAlloc of 512 bytes failed"), e.getMessage());
    }

    @Test
    void emptyCacheKeepsBlocksThatCopiesStillRead() {
        PinnedHostBuffer a = backend.allocatePinned(16);
        put(a, 1, 1, 1, 1);
        Storage s = backend.fromPinned(a, 0, DType.FLOAT32, 4);
        a.release();
        host.emptyCache();
        assertEquals(512, host.stats().reserved(), "the pending block stays: " + host.stats());
        assertEquals(0, host.stats().hostFrees());
        assertArrayEquals(new float[] {1, 1, 1, 1}, values(s, 4));
        host.emptyCache();
        assertEquals(0, host.stats().reserved(), host.stats().toString());
        assertEquals(1, host.stats().hostFrees());
        assertEquals(0, driver.inner.liveHostBlocks(), "every cuMemHostAlloc block was freed once");
    }
}
