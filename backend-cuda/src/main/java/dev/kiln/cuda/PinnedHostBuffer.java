package dev.kiln.cuda;

import dev.kiln.spi.PinnedBuffer;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;

/**
 * Page-locked host memory lent to core: one block of the {@link PinnedHostAllocator}. Core releases
 * it with the pinned tensor's storage; a {@link Cleaner} returns it when it becomes unreachable
 * without that, as {@link CudaStorage} does for device memory. Either way the allocator reuses the
 * block only after the copies queued from it are done.
 */
final class PinnedHostBuffer implements PinnedBuffer {

    private static final Cleaner CLEANER = Cleaner.create();

    private final PinnedHostAllocator allocator;
    private final PinnedHostAllocator.Block block;
    private final long bytes;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean released;

    PinnedHostBuffer(PinnedHostAllocator allocator, long bytes) {
        this.allocator = allocator;
        this.block = allocator.allocate(bytes);
        this.bytes = bytes;
        this.cleanable = CLEANER.register(this, new Release(allocator, block));
    }

    /** Returns the block; holds no reference to the buffer, or it would never become unreachable. */
    private record Release(PinnedHostAllocator allocator, PinnedHostAllocator.Block block) implements Runnable {
        @Override
        public void run() {
            allocator.free(block);
        }
    }

    PinnedHostAllocator allocator() {
        return allocator;
    }

    PinnedHostAllocator.Block block() {
        return block;
    }

    @Override
    public ByteBuffer buffer() {
        if (released) {
            throw new IllegalStateException("pinned host buffer of " + bytes + " bytes used after it was released");
        }
        return block.view(bytes);
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public void release() {
        released = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "PinnedHostBuffer(" + bytes + " bytes in a block of " + block.size + (released ? ", released)" : ")");
    }
}
