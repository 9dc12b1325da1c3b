package dev.kiln.cuda;

/**
 * Statistics of the caching allocator of page-locked host memory ({@link Cuda#pinnedMemoryStats()}),
 * the counterpart of PyTorch's host allocator statistics.
 *
 * @param allocated      bytes in live pinned tensors (sizes rounded up to their size class)
 * @param reserved       bytes of page-locked memory the allocator holds: live, pending and cached blocks
 * @param peakAllocated  the largest {@code allocated} since start
 * @param liveBlocks     blocks currently held by pinned tensors
 * @param pending        bytes of released blocks still waiting for a queued copy from them to finish
 * @param allocations    blocks handed out since start
 * @param cacheHits      of those, blocks reused from the cache
 * @param hostAllocs     {@code cuMemHostAlloc} calls since start
 * @param hostFrees      {@code cuMemFreeHost} calls since start
 * @param waitsForDevice times an allocation found the host out of page-locked memory and waited for queued copies
 */
public record PinnedMemoryStats(long allocated, long reserved, long peakAllocated, long liveBlocks, long pending, long allocations,
                                long cacheHits, long hostAllocs, long hostFrees, long waitsForDevice) {

    @Override
    public String toString() {
        return "pinned: allocated " + CudaOutOfMemoryException.bytes(allocated) + ", reserved " + CudaOutOfMemoryException.bytes(reserved)
                + ", peak allocated " + CudaOutOfMemoryException.bytes(peakAllocated) + ", " + liveBlocks + " live blocks, "
                + CudaOutOfMemoryException.bytes(pending) + " waiting for copies, " + allocations + " allocations (" + cacheHits
                + " from the cache), " + hostAllocs + " cuMemHostAlloc, " + hostFrees + " cuMemFreeHost";
    }
}
