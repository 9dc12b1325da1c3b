package dev.kiln.cuda;

/**
 * Device memory ran out even after the allocator freed its cache and let the garbage collector
 * release the memory of unreachable tensors. The message and the accessors give the numbers that
 * explain it: what was asked for, what live tensors hold, what the allocator holds and what the
 * device still has free.
 */
public final class CudaOutOfMemoryException extends CudaException {

    private static final long serialVersionUID = 1L;

    private final long requested;
    private final long allocated;
    private final long reserved;
    private final long free;
    private final long total;

    CudaOutOfMemoryException(String device, long requested, long allocated, long reserved, long free, long total) {
        super("CUDA out of memory on " + device + ": tried to allocate " + bytes(requested) + "; live tensors hold "
                + bytes(allocated) + ", Kiln's allocator reserves " + bytes(reserved) + " in total, the device has "
                + bytes(free) + " free of " + bytes(total) + ". Close tensors you no longer need (try-with-resources), "
                + "use smaller batches, or call Cuda.emptyCache() if other programs share the GPU.");
        this.requested = requested;
        this.allocated = allocated;
        this.reserved = reserved;
        this.free = free;
        this.total = total;
    }

    /** Bytes of the allocation that failed. */
    public long requested() {
        return requested;
    }

    /** Bytes in live tensors when it failed. */
    public long allocated() {
        return allocated;
    }

    /** Bytes the allocator held from the device when it failed. */
    public long reserved() {
        return reserved;
    }

    /** Bytes the device reported free. */
    public long free() {
        return free;
    }

    /** The device's total memory. */
    public long total() {
        return total;
    }

    /** {@code 1.50 GiB (1610612736 bytes)}. */
    static String bytes(long n) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " bytes" : String.format(java.util.Locale.ROOT, "%.2f %s (%d bytes)", v, units[u], n);
    }
}
