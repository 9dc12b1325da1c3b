package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.spi.Storage;

import java.lang.ref.Cleaner;

/**
 * Elements on a CUDA device: one block of the device's caching allocator. Core frees it when the
 * last tensor over it closes; a {@link Cleaner} frees it when it becomes unreachable without that,
 * so a program that never closes a tensor still returns its memory (when the GC runs: the
 * allocator runs it when the device is full).
 */
final class CudaStorage implements Storage {

    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaBackend backend;
    private final DType dtype;
    private final long numel;
    private final CachingAllocator.Block block;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean freed;

    CudaStorage(CudaBackend backend, DType dtype, long numel, CachingAllocator.Block block) {
        this.backend = backend;
        this.dtype = dtype;
        this.numel = numel;
        this.block = block;
        this.cleanable = CLEANER.register(this, new Release(backend.allocator(), block));
    }

    /** Returns the block; holds no reference to the storage, or it would never become unreachable. */
    private record Release(CachingAllocator allocator, CachingAllocator.Block block) implements Runnable {
        @Override
        public void run() {
            allocator.free(block);
        }
    }

    /** The device address of element 0. */
    long address() {
        if (freed) {
            throw new IllegalStateException("CUDA storage of " + numel + " " + dtype + " on " + backend.device()
                    + " used after it was freed");
        }
        return block.ptr();
    }

    /** The device address of element {@code index}. */
    long address(long index) {
        return address() + index * dtype.byteSize();
    }

    CudaBackend backend() {
        return backend;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long numel() {
        return numel;
    }

    @Override
    public Device device() {
        return backend.device();
    }

    @Override
    public void free() {
        freed = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "CudaStorage(" + numel + " x " + dtype + " on " + backend.device() + " at 0x" + Long.toHexString(block.ptr()) + ")";
    }
}
