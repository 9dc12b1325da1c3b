package dev.kiln.kernels;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CUDA device emulated on the CPU: the same kernel sources, compiled with g++ against the
 * emulation header, run with every block's threads as fibers. Device pointers are plain
 * {@code long}s; every allocation is tracked (poisoned when allocated, guarded at both ends,
 * quarantined after free), copies and kernel pointer arguments are range-checked, and the memory
 * capacity is configurable so that out-of-memory paths can be tested.
 *
 * <p>Every method throws {@link EmulatorException} with the driver's (or cuBLAS's) status code
 * when the call fails; {@link #isAvailable()} says whether the native library could be loaded.
 * Instances are thread-safe; launches run one at a time per process.
 */
public final class EmulatedDevice implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmulatedDevice.class);

    /** cuBLAS's CUBLAS_OP_N / CUBLAS_OP_T. */
    public static final int OP_N = 0;
    public static final int OP_T = 1;

    private final Object lock = new Object();
    private long handle;

    private EmulatedDevice(long handle) {
        this.handle = handle;
    }

    /** Whether the emulator library is built for this platform and loaded. */
    public static boolean isAvailable() {
        return EmulatorLibrary.unavailableReason() == null;
    }

    /** Why the emulator cannot be used, or null when it can. */
    public static String unavailableReason() {
        return EmulatorLibrary.unavailableReason();
    }

    /** A new device whose allocations may total at most {@code capacityBytes}. */
    public static EmulatedDevice create(long capacityBytes) {
        EmulatorLibrary.require();
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacity must not be negative: " + capacityBytes);
        }
        return new EmulatedDevice(EmulatorNative.create(capacityBytes));
    }

    private long h() {
        synchronized (lock) {
            if (handle == 0) {
                throw new IllegalStateException("the emulated device is closed");
            }
            return handle;
        }
    }

    // ---- memory ------------------------------------------------------------------------------

    /** Allocates {@code bytes} (256-byte aligned, filled with 0xFF so unwritten floats read NaN). */
    public long malloc(long bytes) {
        return EmulatorNative.malloc(h(), bytes);
    }

    public void free(long pointer) {
        EmulatorNative.free(h(), pointer);
    }

    private static void checkSlice(int arrayLength, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, arrayLength);
    }

    public void copyToDevice(long dst, float[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.FLOAT, offset, length);
    }

    public void copyToDevice(long dst, double[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.DOUBLE, offset, length);
    }

    public void copyToDevice(long dst, long[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.LONG, offset, length);
    }

    public void copyToDevice(long dst, byte[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.BYTE, offset, length);
    }

    /** 16-bit elements: float16 and bfloat16 bits. */
    public void copyToDevice(long dst, short[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.SHORT, offset, length);
    }

    public void copyToDevice(long dst, int[] src, int offset, int length) {
        checkSlice(src.length, offset, length);
        EmulatorNative.toDevice(h(), dst, src, EmulatorNative.INT, offset, length);
    }

    public void copyToHost(long src, float[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.FLOAT, offset, length);
    }

    public void copyToHost(long src, double[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.DOUBLE, offset, length);
    }

    public void copyToHost(long src, long[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.LONG, offset, length);
    }

    public void copyToHost(long src, byte[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.BYTE, offset, length);
    }

    public void copyToHost(long src, short[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.SHORT, offset, length);
    }

    public void copyToHost(long src, int[] dst, int offset, int length) {
        checkSlice(dst.length, offset, length);
        EmulatorNative.toHost(h(), src, dst, EmulatorNative.INT, offset, length);
    }

    /**
     * Copies the {@code remaining()} bytes of {@code src} from its position (a heap or a direct
     * buffer); the buffer's position does not move.
     */
    public void copyToDevice(long dst, ByteBuffer src) {
        if (src.hasArray()) {
            copyToDevice(dst, src.array(), src.arrayOffset() + src.position(), src.remaining());
        } else if (src.isDirect()) {
            EmulatorNative.directToDevice(h(), dst, src, src.position(), src.remaining());
        } else {
            byte[] b = new byte[src.remaining()];
            src.duplicate().get(b);
            copyToDevice(dst, b, 0, b.length);
        }
    }

    /** Fills the {@code remaining()} bytes of {@code dst} from its position; the position does not move. */
    public void copyToHost(long src, ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new java.nio.ReadOnlyBufferException();
        }
        if (dst.hasArray()) {
            copyToHost(src, dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        } else {
            EmulatorNative.directToHost(h(), src, dst, dst.position(), dst.remaining());
        }
    }

    public void copyDeviceToDevice(long dst, long src, long bytes) {
        EmulatorNative.deviceToDevice(h(), dst, src, bytes);
    }

    /** Sets {@code bytes} bytes at {@code pointer} to the low 8 bits of {@code value} (cuMemsetD8). */
    public void memset(long pointer, int value, long bytes) {
        EmulatorNative.memset(h(), pointer, value, 1, bytes);
    }

    /** Sets {@code count} elements of 1, 2 or 4 bytes (cuMemsetD8/D16/D32). */
    public void memset(long pointer, int value, int elementSize, long count) {
        EmulatorNative.memset(h(), pointer, value, elementSize, count);
    }

    // ---- kernels -----------------------------------------------------------------------------

    /**
     * Launches a kernel by name. The argument kinds must equal the kernel's parameter kinds and
     * every pointer argument must lie in a live allocation; afterwards the guard bytes of all
     * allocations are checked for out-of-bounds writes.
     */
    public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        Objects.requireNonNull(kernel, "kernel");
        EmulatorNative.launch(h(), kernel, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes,
                args.kinds(), args.packed());
    }

    /** Every kernel compiled into the emulator library, with its parameter kinds. */
    public static List<KernelSpec> registeredKernels() {
        EmulatorLibrary.require();
        String[] pairs = EmulatorNative.kernels();
        List<KernelSpec> out = new ArrayList<>(pairs.length / 2);
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            out.add(new KernelSpec(pairs[i], pairs[i + 1], "emulator"));
        }
        return Collections.unmodifiableList(out);
    }

    /** Chooses the thread interleaving of later launches (process-wide). */
    public static void setSchedule(Schedule schedule, long seed) {
        EmulatorLibrary.require();
        EmulatorNative.setSchedule(schedule.ordinal(), seed);
    }

    public static Schedule schedule() {
        EmulatorLibrary.require();
        return Schedule.values()[EmulatorNative.schedule()];
    }

    public static long scheduleSeed() {
        EmulatorLibrary.require();
        return EmulatorNative.scheduleSeed();
    }

    /** Worker threads that run blocks (process-wide; 1 runs every block on the calling thread). */
    public static void setWorkers(int workers) {
        EmulatorLibrary.require();
        EmulatorNative.setWorkers(workers);
    }

    public static int workers() {
        EmulatorLibrary.require();
        return EmulatorNative.workers();
    }

    /**
     * Bytes of kernel {@code __shared__} variables refilled with 0xFF at the start of every block
     * (0 would mean the library was linked so that they cannot be found, and stale shared memory
     * from earlier blocks could hide a missing barrier).
     */
    public static long sharedMemoryPoisonBytes() {
        EmulatorLibrary.require();
        return EmulatorNative.sharedPoisonBytes();
    }

    // ---- GEMM (cuBLAS semantics: column-major, argument checks, status codes) ----------------

    /** {@code C = alpha * op(A) * op(B) + beta * C}, column-major, as cublasSgemm. */
    public void sgemm(int transa, int transb, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                      float beta, long c, int ldc) {
        EmulatorNative.sgemm(h(), transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    }

    public void dgemm(int transa, int transb, int m, int n, int k, double alpha, long a, int lda, long b, int ldb,
                      double beta, long c, int ldc) {
        EmulatorNative.dgemm(h(), transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    }

    /** As cublasSgemmStridedBatched: {@code batch} products, operand i at base + i * stride elements. */
    public void sgemmStridedBatched(int transa, int transb, int m, int n, int k, float alpha, long a, int lda,
                                    long strideA, long b, int ldb, long strideB, float beta, long c, int ldc,
                                    long strideC, int batch) {
        EmulatorNative.sgemm(h(), transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc,
                strideC, batch);
    }

    public void dgemmStridedBatched(int transa, int transb, int m, int n, int k, double alpha, long a, int lda,
                                    long strideA, long b, int ldb, long strideB, double beta, long c, int ldc,
                                    long strideC, int batch) {
        EmulatorNative.dgemm(h(), transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc,
                strideC, batch);
    }

    // ---- statistics and capacity -------------------------------------------------------------

    public long capacity() {
        return EmulatorNative.stat(h(), EmulatorNative.CAPACITY);
    }

    /** Changes the capacity; allocations above it fail with {@link EmulatorException#OUT_OF_MEMORY}. */
    public void setCapacity(long bytes) {
        EmulatorNative.setCapacity(h(), bytes);
    }

    /** Bytes in live allocations (as requested, not rounded). */
    public long allocatedBytes() {
        return EmulatorNative.stat(h(), EmulatorNative.ALLOCATED);
    }

    public long peakAllocatedBytes() {
        return EmulatorNative.stat(h(), EmulatorNative.PEAK);
    }

    public void resetPeak() {
        EmulatorNative.resetPeak(h());
    }

    public long liveAllocations() {
        return EmulatorNative.stat(h(), EmulatorNative.LIVE);
    }

    /** Allocations made since the device was created. */
    public long totalAllocations() {
        return EmulatorNative.stat(h(), EmulatorNative.TOTAL);
    }

    /** Frees the device and everything still allocated on it (logged when something was). */
    @Override
    public void close() {
        long h;
        synchronized (lock) {
            h = handle;
            handle = 0;
        }
        if (h != 0) {
            long leaked = EmulatorNative.destroy(h);
            if (leaked > 0) {
                LOG.debug("emulated device closed with {} live allocations", leaked);
            }
        }
    }
}
