package dev.kiln.cuda;

import dev.kiln.spi.Backend;

/**
 * The caching allocator's statistics for one device, the counterpart of
 * {@code torch.cuda.memory_stats()}.
 *
 * @param allocated        bytes in live blocks (tensors not yet freed), sizes rounded to 512 bytes
 * @param reserved         bytes the allocator holds from the device: live blocks plus its cache
 * @param peakAllocated    the largest {@code allocated} since start or {@link Cuda#resetPeakMemoryStats}
 * @param peakReserved     the largest {@code reserved} likewise
 * @param liveAllocations  blocks currently live
 * @param allocations      blocks handed out since start
 * @param deviceMallocs    segments taken from the device since start ({@code cuMemAlloc} calls)
 * @param deviceFrees      segments given back since start
 * @param cacheFlushes     times an allocation found the device full and flushed the cache
 * @param collections      times it then had to run the garbage collector
 * @param outOfMemory      allocations that failed for good
 */
public record CudaMemoryStats(long allocated, long reserved, long peakAllocated, long peakReserved, long liveAllocations,
                              long allocations, long deviceMallocs, long deviceFrees, long cacheFlushes, long collections,
                              long outOfMemory) {

    /** The summary the device SPI reports: allocated, reserved, peak allocated, live allocations. */
    public Backend.MemoryStats toSpi() {
        return new Backend.MemoryStats(allocated, reserved, peakAllocated, liveAllocations);
    }

    @Override
    public String toString() {
        return "allocated " + CudaOutOfMemoryException.bytes(allocated) + ", reserved " + CudaOutOfMemoryException.bytes(reserved)
                + ", peak allocated " + CudaOutOfMemoryException.bytes(peakAllocated) + ", " + liveAllocations + " live blocks, "
                + allocations + " allocations, " + deviceMallocs + " device mallocs, " + cacheFlushes + " cache flushes, "
                + collections + " GC runs, " + outOfMemory + " out-of-memory errors";
    }
}
