package dev.kiln.cuda;

import dev.kiln.kernels.Dim3;
import dev.kiln.kernels.EmulatedDevice;
import dev.kiln.kernels.EmulatorException;
import dev.kiln.kernels.KernelArgs;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link CudaDriver} over the kernels module's {@link EmulatedDevice}: the same kernels compiled
 * for the CPU, with tracked allocations, checked launches and a memory cap. Everything the backend
 * does above the driver (argument marshalling, launch configuration, the cuBLAS mapping, the
 * allocator) runs unchanged, so tests without a GPU exercise it. Work is synchronous: an
 * asynchronous copy is done when it returns and every event has completed when recorded.
 * Page-locked host memory is direct buffers, tracked so that freeing one twice fails.
 */
final class EmulatedDriver implements CudaDriver {

    private final EmulatedDevice[] devices;
    private final Set<ByteBuffer> hostBlocks = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private final Set<Long> events = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextEvent = new AtomicLong(1);

    private EmulatedDriver(EmulatedDevice[] devices) {
        this.devices = devices;
    }

    /**
     * {@code count} emulated devices of {@code capacity} bytes each.
     *
     * @throws CudaUnavailableException when the emulator's native library is not built here
     */
    static EmulatedDriver open(int count, long capacity) {
        if (!EmulatedDevice.isAvailable()) {
            throw new CudaUnavailableException("the emulated CUDA device is unavailable: " + EmulatedDevice.unavailableReason());
        }
        if (count < 1) {
            throw new CudaUnavailableException(CudaRuntime.EMULATED_DEVICES_PROPERTY + " must be at least 1, got " + count);
        }
        EmulatedDevice[] d = new EmulatedDevice[count];
        for (int i = 0; i < count; i++) {
            d[i] = EmulatedDevice.create(capacity);
        }
        return new EmulatedDriver(d);
    }

    /** The emulated device behind {@code cuda:N}, for tests (capacity, statistics). */
    EmulatedDevice device(int ordinal) {
        if (ordinal < 0 || ordinal >= devices.length) {
            throw new IllegalArgumentException("cuda:" + ordinal + " does not exist: " + devices.length + " emulated devices");
        }
        return devices[ordinal];
    }

    @Override
    public String name() {
        return "emulated (kiln-kernels CPU emulation)";
    }

    /** The emulator is no driver: 0, shown as "none". */
    @Override
    public int driverVersion() {
        return 0;
    }

    @Override
    public int deviceCount() {
        return devices.length;
    }

    @Override
    public DeviceProperties properties(int device) {
        return new DeviceProperties("Kiln emulated CUDA device " + device, 0, 0, device(device).capacity());
    }

    @Override
    public long malloc(int device, long bytes) {
        try {
            return device(device).malloc(bytes);
        } catch (EmulatorException e) {
            if (e.code() == EmulatorException.OUT_OF_MEMORY) {
                return 0;
            }
            throw new CudaException("malloc(" + bytes + ") on emulated cuda:" + device + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void free(int device, long ptr) {
        device(device).free(ptr);
    }

    @Override
    public long[] memoryInfo(int device) {
        EmulatedDevice d = device(device);
        long capacity = d.capacity();
        return new long[] {Math.max(0, capacity - d.allocatedBytes()), capacity};
    }

    @Override
    public void copyToDevice(int device, long dst, ByteBuffer src, long bytes) {
        int n = Math.toIntExact(bytes);
        if (src.hasArray()) {
            device(device).copyToDevice(dst, src.array(), src.arrayOffset() + src.position(), n);
        } else {
            byte[] b = new byte[n];
            src.duplicate().get(b);
            device(device).copyToDevice(dst, b, 0, n);
        }
    }

    @Override
    public void copyToHost(int device, ByteBuffer dst, long src, long bytes) {
        int n = Math.toIntExact(bytes);
        if (dst.hasArray()) {
            device(device).copyToHost(src, dst.array(), dst.arrayOffset() + dst.position(), n);
        } else {
            byte[] b = new byte[n];
            device(device).copyToHost(src, b, 0, n);
            dst.duplicate().put(b);
        }
    }

    @Override
    public ByteBuffer hostAlloc(long bytes) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE) {
            throw new CudaException("cuMemHostAlloc(" + bytes + "): the emulator lends at most 2 GiB per block");
        }
        ByteBuffer b;
        try {
            b = ByteBuffer.allocateDirect((int) bytes);
        } catch (OutOfMemoryError e) {
            return null;
        }
        hostBlocks.add(b);
        return b;
    }

    @Override
    public void hostFree(ByteBuffer block) {
        if (!hostBlocks.remove(block)) {
            throw new IllegalArgumentException("cuMemFreeHost: " + block + " is not page-locked memory of this driver");
        }
    }

    /** Page-locked blocks allocated and not freed, for tests. */
    int liveHostBlocks() {
        return hostBlocks.size();
    }

    @Override
    public void copyToDeviceAsync(int device, long dst, ByteBuffer pinnedSrc, long bytes) {
        copyToDevice(device, dst, pinnedSrc, bytes);
    }

    @Override
    public long recordEvent(int device) {
        device(device);
        long e = nextEvent.getAndIncrement();
        events.add(e);
        return e;
    }

    @Override
    public boolean eventDone(long event) {
        if (!events.contains(event)) {
            throw new IllegalArgumentException("cuEventQuery: no event " + event);
        }
        return true;
    }

    @Override
    public void waitEvent(long event) {
        eventDone(event);
    }

    @Override
    public void destroyEvent(long event) {
        if (!events.remove(event)) {
            throw new IllegalArgumentException("cuEventDestroy: no event " + event);
        }
    }

    @Override
    public void copyOnDevice(int device, long dst, long src, long bytes) {
        device(device).copyDeviceToDevice(dst, src, bytes);
    }

    @Override
    public void launch(int device, String name, int gridX, int blockX, KernelArgs args) {
        try {
            device(device).launch(name, Dim3.of(gridX), Dim3.of(blockX), 0, args);
        } catch (EmulatorException e) {
            throw new CudaException("launching " + name + "(" + args.kinds() + ") with grid " + gridX + ", block " + blockX
                    + " on emulated cuda:" + device + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void gemm(int device, boolean doublePrecision, boolean transA, boolean transB, int m, int n, int k,
                     long a, int lda, long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch) {
        int opA = transA ? EmulatedDevice.OP_T : EmulatedDevice.OP_N;
        int opB = transB ? EmulatedDevice.OP_T : EmulatedDevice.OP_N;
        try {
            if (doublePrecision) {
                device(device).dgemmStridedBatched(opA, opB, m, n, k, 1, a, lda, strideA, b, ldb, strideB, 0, c, ldc, strideC, batch);
            } else {
                device(device).sgemmStridedBatched(opA, opB, m, n, k, 1, a, lda, strideA, b, ldb, strideB, 0, c, ldc, strideC, batch);
            }
        } catch (EmulatorException e) {
            throw new CudaException((doublePrecision ? "dgemm" : "sgemm") + "StridedBatched(m=" + m + ", n=" + n + ", k=" + k
                    + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc + ", batch=" + batch + ") on emulated cuda:" + device
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void synchronize(int device) {
        device(device);
    }

    @Override
    public String kernelPath(int device) {
        return "emulator (the kernel sources compiled with g++ against the CUDA emulation header)";
    }
}
