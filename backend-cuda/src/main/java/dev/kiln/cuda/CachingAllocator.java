package dev.kiln.cuda;

import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A caching allocator for one device, on the model of PyTorch's: device memory is taken in
 * segments and carved into blocks; a freed block goes back to a pool, is reused by the next
 * request that fits (best fit, split when the rest is worth keeping) and merges with free
 * neighbours, so a training loop that allocates the same sizes every step calls the driver only
 * in its first steps.
 *
 * <p>Sizes are rounded up to 512 bytes. Requests up to 1 MiB share 2 MiB segments (the small
 * pool); larger ones get segments rounded up to 2 MiB (the large pool), and a large block is
 * split only when more than 1 MiB would remain. {@link #emptyCache()} returns segments that hold
 * no live block to the device.
 *
 * <p>When the device is full the allocator frees its cache and retries; then it runs the garbage
 * collector, so that the {@link java.lang.ref.Cleaner}s of unreachable tensors return their
 * blocks, and retries; only then does it throw a {@link CudaOutOfMemoryException} with the numbers.
 * Thread-safe: blocks are freed from the cleaner thread too.
 */
final class CachingAllocator {

    /** The device memory under the allocator. */
    interface DeviceMemory {
        /** An address, or 0 when the device is out of memory. */
        long malloc(long bytes);

        void free(long ptr);

        /** Free and total bytes. */
        long[] info();
    }

    static final long ROUND = 512;
    static final long SMALL_LIMIT = 1L << 20;
    static final long SMALL_SEGMENT = 2L << 20;
    static final long LARGE_ROUND = 2L << 20;

    /** A piece of a segment, live or free. */
    static final class Block {
        final Segment segment;
        final long ptr;
        long size;
        boolean free = true;
        Block prev;
        Block next;

        Block(Segment segment, long ptr, long size) {
            this.segment = segment;
            this.ptr = ptr;
            this.size = size;
        }

        /** The device address. */
        long ptr() {
            return ptr;
        }

        long size() {
            return size;
        }
    }

    /** One allocation from the device. */
    record Segment(long ptr, long size, boolean small) {
    }

    private static final Comparator<Block> BY_SIZE = Comparator.<Block>comparingLong(b -> b.size).thenComparingLong(b -> b.ptr);

    private final String deviceName;
    private final DeviceMemory memory;
    private final Runnable collector;
    private final TreeSet<Block> smallPool = new TreeSet<>(BY_SIZE);
    private final TreeSet<Block> largePool = new TreeSet<>(BY_SIZE);
    private final Set<Segment> segments = new HashSet<>();

    private long allocated;
    private long reserved;
    private long peakAllocated;
    private long peakReserved;
    private long live;
    private long allocations;
    private long frees;
    private long deviceMallocs;
    private long deviceFrees;
    private long cacheFlushes;
    private long collections;
    private long outOfMemory;

    /**
     * @param collector runs the garbage collector and gives cleaners a chance to run; called without
     *                  the allocator's lock held, since cleaners free blocks
     */
    CachingAllocator(String deviceName, DeviceMemory memory, Runnable collector) {
        this.deviceName = deviceName;
        this.memory = memory;
        this.collector = collector;
    }

    static long roundSize(long bytes) {
        long b = Math.max(bytes, 1);
        return (b + ROUND - 1) / ROUND * ROUND;
    }

    /** A block of at least {@code bytes} bytes. */
    Block allocate(long bytes) {
        long size = roundSize(bytes);
        synchronized (this) {
            Block b = tryAllocate(size);
            if (b != null) {
                return b;
            }
            // Cached blocks may be free but of the wrong sizes: give them back and ask again.
            cacheFlushes++;
            releaseCached();
            b = tryAllocate(size);
            if (b != null) {
                return b;
            }
            collections++;
        }
        // Unreachable tensors hold blocks until their cleaners run; wait for them, and keep trying
        // while blocks are still coming back.
        for (int attempt = 0; attempt < 8; attempt++) {
            long freesBefore;
            synchronized (this) {
                freesBefore = frees;
            }
            collector.run();
            synchronized (this) {
                Block b = tryAllocate(size);
                if (b == null) {
                    releaseCached();
                    b = tryAllocate(size);
                }
                if (b != null) {
                    return b;
                }
                if (frees == freesBefore && attempt >= 1) {
                    break;
                }
            }
        }
        synchronized (this) {
            outOfMemory++;
            long[] info = memory.info();
            throw new CudaOutOfMemoryException(deviceName, size, allocated, reserved, info[0], info[1]);
        }
    }

    /** Returns a block to its pool, merging it with free neighbours. */
    synchronized void free(Block b) {
        if (b.free) {
            throw new IllegalStateException("CUDA allocator: block at 0x" + Long.toHexString(b.ptr) + " freed twice");
        }
        b.free = true;
        allocated -= b.size;
        live--;
        frees++;
        Block merged = b;
        if (b.prev != null && b.prev.free) {
            Block p = b.prev;
            pool(p).remove(p);
            p.size += b.size;
            unlink(b);
            merged = p;
        }
        if (merged.next != null && merged.next.free) {
            Block n = merged.next;
            pool(n).remove(n);
            merged.size += n.size;
            unlink(n);
        }
        pool(merged).add(merged);
    }

    /** Returns every segment without a live block to the device. */
    synchronized void emptyCache() {
        releaseCached();
    }

    synchronized CudaMemoryStats stats() {
        return new CudaMemoryStats(allocated, reserved, peakAllocated, peakReserved, live, allocations,
                deviceMallocs, deviceFrees, cacheFlushes, collections, outOfMemory);
    }

    /** Restarts the peaks from the current values. */
    synchronized void resetPeaks() {
        peakAllocated = allocated;
        peakReserved = reserved;
    }

    private TreeSet<Block> pool(Block b) {
        return b.segment.small() ? smallPool : largePool;
    }

    private static void unlink(Block b) {
        if (b.prev != null) {
            b.prev.next = b.next;
        }
        if (b.next != null) {
            b.next.prev = b.prev;
        }
    }

    private Block tryAllocate(long size) {
        boolean small = size <= SMALL_LIMIT;
        TreeSet<Block> pool = small ? smallPool : largePool;
        Block b = pool.ceiling(new Block(null, -1, size));
        if (b == null) {
            long segmentSize = small ? SMALL_SEGMENT : (size + LARGE_ROUND - 1) / LARGE_ROUND * LARGE_ROUND;
            long ptr = memory.malloc(segmentSize);
            if (ptr == 0) {
                return null;
            }
            Segment s = new Segment(ptr, segmentSize, small);
            segments.add(s);
            deviceMallocs++;
            reserved += segmentSize;
            peakReserved = Math.max(peakReserved, reserved);
            b = new Block(s, ptr, segmentSize);
        } else {
            pool.remove(b);
        }
        long rest = b.size - size;
        if (small ? rest >= ROUND : rest > SMALL_LIMIT) {
            Block r = new Block(b.segment, b.ptr + size, rest);
            r.prev = b;
            r.next = b.next;
            if (b.next != null) {
                b.next.prev = r;
            }
            b.next = r;
            b.size = size;
            pool.add(r);
        }
        b.free = false;
        allocated += b.size;
        peakAllocated = Math.max(peakAllocated, allocated);
        live++;
        allocations++;
        return b;
    }

    private void releaseCached() {
        for (TreeSet<Block> pool : java.util.List.of(smallPool, largePool)) {
            var it = pool.iterator();
            while (it.hasNext()) {
                Block b = it.next();
                if (b.prev == null && b.next == null) {
                    it.remove();
                    segments.remove(b.segment);
                    memory.free(b.segment.ptr());
                    reserved -= b.segment.size();
                    deviceFrees++;
                }
            }
        }
    }

    /**
     * Runs the garbage collector and waits a little for cleaners: the default collector of the
     * CUDA backend.
     */
    static void collectGarbage() {
        System.gc();
        try {
            // Cleaners run on their own thread after the collection; give them a moment.
            TimeUnit.MILLISECONDS.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
