package dev.kiln.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The caching allocator of page-locked host memory, one per process (pinned memory is usable from
 * every device), on the model of PyTorch's caching host allocator. {@code cuMemHostAlloc} is slow
 * (it maps the pages for the device), so a released block is kept and handed to the next request
 * of its size class; sizes round up to a power of two, at least 512 bytes.
 *
 * <p>Reuse waits for the device: each asynchronous copy from a block records an event on the
 * stream ({@link #recordUse}); a released block whose events have not all completed waits in a
 * pending list and joins the cache only once the stream has passed them, so memory is never
 * overwritten while a queued copy still reads it. When the host refuses more page-locked memory the
 * allocator frees its cache, then waits for pending blocks and frees them, and retries before it
 * throws. Thread-safe: blocks are released from the cleaner thread too.
 */
final class PinnedHostAllocator {

    static final long MIN_BLOCK = 512;

    /** One {@code cuMemHostAlloc} block. */
    static final class Block {
        final ByteBuffer memory;
        final long size;
        boolean live;
        /** Events recorded after copies from this block; guarded by the allocator. */
        final List<Long> events = new ArrayList<>();

        Block(ByteBuffer memory, long size) {
            this.memory = memory;
            this.size = size;
        }

        /** A little-endian view of the first {@code bytes}. */
        ByteBuffer view(long bytes) {
            return memory.duplicate().clear().limit(Math.toIntExact(bytes)).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private final CudaDriver driver;
    private final Map<Long, ArrayDeque<Block>> cached = new HashMap<>();
    private final List<Block> pending = new ArrayList<>();
    private long allocated;
    private long reserved;
    private long peakAllocated;
    private long liveBlocks;
    private long allocations;
    private long cacheHits;
    private long hostAllocs;
    private long hostFrees;
    private long waitsForDevice;

    PinnedHostAllocator(CudaDriver driver) {
        this.driver = driver;
    }

    /** The size class of a request. */
    static long roundUp(long bytes) {
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        long p = Long.highestOneBit(bytes);
        return p == bytes ? p : p << 1;
    }

    /** A block of at least {@code bytes}, from the cache when one of its size class is free. */
    synchronized Block allocate(long bytes) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("pinned host memory: cannot allocate " + bytes + " bytes in one block (at most 2 GiB)");
        }
        long size = roundUp(bytes);
        processEvents();
        Block b = takeCached(size);
        if (b == null) {
            ByteBuffer m = driver.hostAlloc(size);
            if (m == null) {
                releaseCache();
                m = driver.hostAlloc(size);
            }
            if (m == null && !pending.isEmpty()) {
                // Wait for the device to finish the copies that hold released blocks, then reuse or free them.
                waitsForDevice++;
                for (Block p : pending) {
                    for (long e : p.events) {
                        driver.waitEvent(e);
                    }
                }
                processEvents();
                b = takeCached(size);
                if (b == null) {
                    releaseCache();
                    m = driver.hostAlloc(size);
                }
            }
            if (b == null) {
                if (m == null) {
                    throw new CudaException("pinned host memory: cuMemHostAlloc of " + CudaOutOfMemoryException.bytes(size)
                            + " failed: the host has no more page-locked memory (" + CudaOutOfMemoryException.bytes(allocated)
                            + " in live pinned tensors, " + CudaOutOfMemoryException.bytes(reserved) + " reserved); pin smaller "
                            + "batches or fewer at a time (numWorkers * prefetchFactor bounds a DataLoader's)");
                }
                b = new Block(m, size);
                reserved += size;
                hostAllocs++;
            }
        }
        b.live = true;
        allocated += size;
        peakAllocated = Math.max(peakAllocated, allocated);
        liveBlocks++;
        allocations++;
        return b;
    }

    /**
     * Notes that a copy from {@code b} was queued and {@code event} recorded after it: the block is
     * not reused before the stream passes the event. Prunes the block's events that are done.
     */
    synchronized void recordUse(Block b, long event) {
        pruneDone(b);
        b.events.add(event);
    }

    /** Returns a block: to the cache now, or once the copies queued from it are done. Idempotent. */
    synchronized void free(Block b) {
        if (!b.live) {
            return;
        }
        b.live = false;
        allocated -= b.size;
        liveBlocks--;
        pruneDone(b);
        if (b.events.isEmpty()) {
            cache(b);
        } else {
            pending.add(b);
        }
    }

    /** Returns the cached blocks, and pending ones whose copies are done, to the driver. */
    synchronized void emptyCache() {
        processEvents();
        releaseCache();
    }

    /** Statistics. */
    synchronized PinnedMemoryStats stats() {
        long pendingBytes = 0;
        for (Block b : pending) {
            pendingBytes += b.size;
        }
        return new PinnedMemoryStats(allocated, reserved, peakAllocated, liveBlocks, pendingBytes, allocations, cacheHits, hostAllocs,
                hostFrees, waitsForDevice);
    }

    private Block takeCached(long size) {
        ArrayDeque<Block> free = cached.get(size);
        Block b = free == null ? null : free.poll();
        if (b != null) {
            cacheHits++;
        }
        return b;
    }

    private void cache(Block b) {
        cached.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
    }

    private void releaseCache() {
        for (ArrayDeque<Block> q : cached.values()) {
            for (Block b : q) {
                driver.hostFree(b.memory);
                reserved -= b.size;
                hostFrees++;
            }
        }
        cached.clear();
    }

    /** Moves released blocks whose copies have completed into the cache. */
    private void processEvents() {
        for (Iterator<Block> it = pending.iterator(); it.hasNext(); ) {
            Block b = it.next();
            pruneDone(b);
            if (b.events.isEmpty()) {
                it.remove();
                cache(b);
            }
        }
    }

    private void pruneDone(Block b) {
        for (Iterator<Long> it = b.events.iterator(); it.hasNext(); ) {
            long e = it.next();
            if (driver.eventDone(e)) {
                driver.destroyEvent(e);
                it.remove();
            }
        }
    }
}
