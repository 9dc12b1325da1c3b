package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The caching allocator's bookkeeping, over a fake device memory with a capacity. */
class CachingAllocatorTest {

    /** A device of {@code capacity} bytes whose addresses are handed out upwards. */
    static final class FakeMemory implements CachingAllocator.DeviceMemory {
        final long capacity;
        final Map<Long, Long> live = new HashMap<>();
        long used;
        long next = 1L << 32;
        int mallocs;

        FakeMemory(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long malloc(long bytes) {
            if (used + bytes > capacity) {
                return 0;
            }
            long p = next;
            next += bytes + 4096;
            live.put(p, bytes);
            used += bytes;
            mallocs++;
            return p;
        }

        @Override
        public void free(long ptr) {
            used -= live.remove(ptr);
        }

        @Override
        public long[] info() {
            return new long[] {capacity - used, capacity};
        }
    }

    private static final long MB = 1 << 20;

    @Test
    void roundsTo512BytesAndReusesFreedBlocks() {
        FakeMemory m = new FakeMemory(64 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block b = a.allocate(100);
        assertEquals(512, b.size());
        assertEquals(512, a.stats().allocated());
        assertEquals(2 * MB, a.stats().reserved(), "small requests share a 2 MiB segment");
        long ptr = b.ptr();
        a.free(b);
        assertEquals(0, a.stats().allocated());
        CachingAllocator.Block again = a.allocate(300);
        assertEquals(ptr, again.ptr(), "the freed block is reused");
        assertEquals(1, m.mallocs, "no second device allocation");
    }

    @Test
    void splitsSegmentsAndMergesNeighboursBack() {
        FakeMemory m = new FakeMemory(64 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        List<CachingAllocator.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            blocks.add(a.allocate(1000));
        }
        assertEquals(1, m.mallocs);
        for (int i = 1; i < 4; i++) {
            assertEquals(blocks.get(i - 1).ptr() + 1024, blocks.get(i).ptr(), "blocks are carved from one segment in order");
        }
        a.free(blocks.get(1));
        a.free(blocks.get(2));
        // The two freed neighbours merged: a 2048-byte request fits where they were.
        assertEquals(blocks.get(1).ptr(), a.allocate(2048).ptr());
        a.free(blocks.get(0));
        a.free(blocks.get(3));
        assertEquals(1, a.stats().liveAllocations());
    }

    @Test
    void largeRequestsGetTheirOwnSegments() {
        FakeMemory m = new FakeMemory(64 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block b = a.allocate(3 * MB + 5);
        assertEquals(4 * MB, a.stats().reserved(), "large segments are rounded to 2 MiB");
        a.free(b);
        CachingAllocator.Block c = a.allocate(3 * MB);
        assertSame(b.segment, c.segment);
        a.free(c);
    }

    @Test
    void emptyCacheReturnsOnlyUnusedSegments() {
        FakeMemory m = new FakeMemory(64 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block keep = a.allocate(10);
        CachingAllocator.Block big = a.allocate(8 * MB);
        a.free(big);
        assertEquals(10 * MB, a.stats().reserved());
        a.emptyCache();
        assertEquals(2 * MB, a.stats().reserved(), "the small segment still holds a live block");
        assertEquals(2 * MB, m.used);
        a.free(keep);
        a.emptyCache();
        assertEquals(0, a.stats().reserved());
        assertEquals(0, m.used);
    }

    @Test
    void peaksAndCountersAreKept() {
        FakeMemory m = new FakeMemory(64 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block x = a.allocate(4 * MB);
        CachingAllocator.Block y = a.allocate(4 * MB);
        a.free(x);
        a.free(y);
        CudaMemoryStats s = a.stats();
        assertEquals(8 * MB, s.peakAllocated());
        assertEquals(0, s.allocated());
        assertEquals(2, s.allocations());
        assertEquals(0, s.liveAllocations());
        a.resetPeaks();
        assertEquals(0, a.stats().peakAllocated());
        assertTrue(s.toString().contains("peak allocated 8.00 MiB"), s.toString());
    }

    @Test
    void outOfMemoryFlushesTheCacheFirst() {
        FakeMemory m = new FakeMemory(8 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block b = a.allocate(6 * MB);
        a.free(b);
        // 6 MiB sit in the cache; 7 MiB fits only once they are returned.
        CachingAllocator.Block c = a.allocate(7 * MB);
        assertEquals(1, a.stats().cacheFlushes());
        assertEquals(0, a.stats().collections());
        a.free(c);
    }

    @Test
    void outOfMemoryRunsTheCollectorWhichFreesBlocks() {
        FakeMemory m = new FakeMemory(8 * MB);
        List<CachingAllocator.Block> garbage = new ArrayList<>();
        CachingAllocator[] self = new CachingAllocator[1];
        // The collector plays the GC: it frees what dead tensors held.
        self[0] = new CachingAllocator("cuda:0", m, () -> {
            garbage.forEach(self[0]::free);
            garbage.clear();
        });
        CachingAllocator a = self[0];
        garbage.add(a.allocate(4 * MB));
        garbage.add(a.allocate(3 * MB));
        CachingAllocator.Block c = a.allocate(6 * MB);
        assertEquals(1, a.stats().collections());
        assertEquals(6 * MB, a.stats().allocated());
        a.free(c);
    }

    @Test
    void outOfMemoryThatCannotRecoverReportsTheNumbers() {
        FakeMemory m = new FakeMemory(8 * MB);
        CachingAllocator a = new CachingAllocator("cuda:0", m, () -> { });
        CachingAllocator.Block held = a.allocate(5 * MB);
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(5 * MB));
        assertEquals(5 * MB, e.requested());
        assertEquals(6 * MB, e.allocated(), "the live block, rounded to its 2 MiB-aligned segment size");
        assertEquals(6 * MB, e.reserved());
        assertEquals(2 * MB, e.free());
        assertEquals(8 * MB, e.total());
        assertTrue(e.getMessage().contains("tried to allocate 5.00 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
        assertEquals(1, a.stats().outOfMemory());
        a.free(held);
        assertNotEquals(0, a.allocate(5 * MB).ptr(), "after the free it fits");
    }

    @Test
    void doubleFreeIsCaught() {
        CachingAllocator a = new CachingAllocator("cuda:0", new FakeMemory(8 * MB), () -> { });
        CachingAllocator.Block b = a.allocate(10);
        a.free(b);
        assertThrows(IllegalStateException.class, () -> a.free(b));
    }
}
