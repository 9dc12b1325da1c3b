package dev.kiln.cuda;

import dev.kiln.kernels.KernelArgs;

import java.nio.ByteBuffer;

/**
 * Every call the backend makes into CUDA, in one thin interface. {@link JCudaDriver} implements it
 * over JCuda and cuBLAS; {@link EmulatedDriver} over the kernels module's emulated device, so the
 * rest of the backend (argument marshalling, launch configuration, the cuBLAS mapping, the
 * allocator) runs in CI without a GPU.
 *
 * <p>Device pointers are plain {@code long} addresses. Each method acts on one device, chosen by
 * its ordinal; an implementation makes that device's context current itself. Work is queued on
 * one stream per device: host-to-device copies and launches return when queued, device-to-host
 * copies return when the data is on the host. Page-locked host memory ({@link #hostAlloc}) is
 * process-wide; copies from it are truly asynchronous, so events tell when the source may be reused.
 */
interface CudaDriver {

    /** A short name for logs and the doctor: {@code "JCuda 12.6.0"}, {@code "emulated"}. */
    String name();

    /** The driver's CUDA version as {@code 1000 * major + 10 * minor} (12040 for 12.4). */
    int driverVersion();

    /** Number of devices. */
    int deviceCount();

    /** Name, compute capability and memory of a device. */
    DeviceProperties properties(int device);

    /**
     * Allocates {@code bytes} of device memory.
     *
     * @return the address, or 0 when the device is out of memory (any other failure throws)
     */
    long malloc(int device, long bytes);

    /** Frees an address returned by {@link #malloc}; waits for queued work first. */
    void free(int device, long ptr);

    /** Free and total bytes of the device, as {@code cuMemGetInfo} reports them. */
    long[] memoryInfo(int device);

    /** Copies {@code bytes} from the host buffer's position to {@code dst}. */
    void copyToDevice(int device, long dst, ByteBuffer src, long bytes);

    /** Copies {@code bytes} from {@code src} to the host buffer's position, waiting for queued work. */
    void copyToHost(int device, ByteBuffer dst, long src, long bytes);

    /**
     * Allocates {@code bytes} of page-locked host memory that every device can copy from
     * ({@code cuMemHostAlloc} with {@code CU_MEMHOSTALLOC_PORTABLE}).
     *
     * @return a direct buffer over the memory (capacity {@code bytes}), or null when the host is out
     *         of page-locked memory (any other failure throws)
     */
    ByteBuffer hostAlloc(long bytes);

    /**
     * Frees a buffer returned by {@link #hostAlloc} ({@code cuMemFreeHost}). The caller makes sure
     * that no copy from it is still queued.
     */
    void hostFree(ByteBuffer block);

    /**
     * Queues a copy of {@code bytes} from page-locked host memory (a view of a {@link #hostAlloc}
     * buffer, from its position) to {@code dst} on the device's stream and returns without waiting
     * ({@code cuMemcpyHtoDAsync}): the source must stay unchanged until an event recorded after it
     * has completed.
     */
    void copyToDeviceAsync(int device, long dst, ByteBuffer pinnedSrc, long bytes);

    /** Records an event on the device's stream, after the work queued so far; returns its handle. */
    long recordEvent(int device);

    /** Whether the stream has passed the event ({@code cuEventQuery}). */
    boolean eventDone(long event);

    /** Waits until the stream has passed the event ({@code cuEventSynchronize}). */
    void waitEvent(long event);

    /** Destroys an event handle. */
    void destroyEvent(long event);

    /** Device-to-device copy. */
    void copyOnDevice(int device, long dst, long src, long bytes);

    /**
     * Launches kernel {@code name} on a one-dimensional grid. The first use of a name loads its
     * module (fatbin, else runtime compilation).
     *
     * @throws CudaException when there is no such kernel, its parameters do not match, or the launch fails
     */
    void launch(int device, String name, int gridX, int blockX, KernelArgs args);

    /**
     * Column-major strided batched GEMM with cuBLAS's semantics:
     * {@code C[i] = op(A[i]) op(B[i])} for float32 ({@code doublePrecision} false) or float64.
     */
    void gemm(int device, boolean doublePrecision, boolean transA, boolean transB, int m, int n, int k,
              long a, int lda, long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch);

    /** Waits until the device's stream has finished its work. */
    void synchronize(int device);

    /**
     * Loads the kernels on a device if not done yet and says which image runs ("shipped fatbin",
     * "NVRTC, compiled for sm_86", "emulator"), for the doctor.
     *
     * @throws CudaException when no image can run on the device, saying what to install
     */
    String kernelPath(int device);

    /**
     * cuDNN, loaded on the first call (the answer is kept). Never throws: without it, the status
     * says why. The emulated device has none.
     */
    default Cudnn.Status cudnn() {
        return Cudnn.Status.absent("the emulated device has no cuDNN");
    }

    /** Name, compute capability (major, minor) and total memory of a device. */
    record DeviceProperties(String name, int major, int minor, long totalMemory) {
        /** {@code "8.6"}. */
        public String computeCapability() {
            return major + "." + minor;
        }
    }
}
