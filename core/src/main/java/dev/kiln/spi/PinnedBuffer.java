package dev.kiln.spi;

import java.nio.ByteBuffer;

/**
 * Page-locked ("pinned") host memory lent by a device backend ({@link Backend#allocatePinned}):
 * memory the device can copy from by DMA while the host goes on, which pageable memory does not
 * allow. Core stages a pinned tensor's bytes here and passes the buffer to
 * {@link Backend#fromPinned}.
 *
 * <p>The backend owns the memory and its reuse: after {@link #release()} (or once the buffer is
 * unreachable) it goes back to the backend's host allocator, which hands it out again only after
 * every copy queued from it has completed.
 */
public interface PinnedBuffer {

    /**
     * The memory: a direct, little-endian buffer of exactly the requested bytes, position 0. Each
     * call returns a new view; writing to it while a copy from it is queued is a bug in the caller.
     */
    ByteBuffer buffer();

    /** Bytes requested. */
    long byteSize();

    /** Returns the memory to its allocator (reused once queued copies from it finish). Idempotent. */
    void release();
}
