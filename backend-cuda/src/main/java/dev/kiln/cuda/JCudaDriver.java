package dev.kiln.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

import dev.kiln.kernels.KernelArgs;

import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventQuery;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * {@link CudaDriver} over JCuda's driver API and JCublas2: the only class of Kiln that calls
 * JCuda. Each device gets its primary context, one stream and one cuBLAS handle bound to that
 * stream, created on first use.
 */
final class JCudaDriver implements CudaDriver {

    /** The oldest driver API Kiln's natives (JCuda 12.6) work with: CUDA 12.0. */
    static final int MINIMUM_DRIVER = 12000;

    private final int driverVersion;
    private final int deviceCount;
    private final Map<Integer, DeviceState> devices = new ConcurrentHashMap<>();
    private final ThreadLocal<CUcontext> current = new ThreadLocal<>();
    /** Page-locked blocks by their buffer, for cuMemFreeHost. */
    private final Map<ByteBuffer, Pointer> hostBlocks = new IdentityHashMap<>();
    private final Map<Long, DeviceEvent> events = new ConcurrentHashMap<>();
    private final AtomicLong nextEvent = new AtomicLong(1);

    /** An event and the device whose context it belongs to. */
    private record DeviceEvent(int device, CUevent event) {
    }

    private JCudaDriver(int driverVersion, int deviceCount) {
        this.driverVersion = driverVersion;
        this.deviceCount = deviceCount;
    }

    /**
     * Loads JCuda's natives and checks the driver, the devices and cuBLAS.
     *
     * @throws CudaUnavailableException with the reason, never anything else but errors of the VM itself
     */
    static JCudaDriver open() {
        int r;
        try {
            jcuda.driver.JCudaDriver.setExceptionsEnabled(false);
            r = cuInit(0);
        } catch (LinkageError e) {
            // The first touch throws UnsatisfiedLinkError, every later one NoClassDefFoundError.
            throw new CudaUnavailableException("JCuda could not load the NVIDIA driver library libcuda.so.1 (no NVIDIA driver "
                    + "installed on this machine?): " + concise(e));
        }
        if (r == CUresult.CUDA_ERROR_NO_DEVICE) {
            throw new CudaUnavailableException("the NVIDIA driver is installed but reports no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
        }
        if (r != CUresult.CUDA_SUCCESS) {
            throw new CudaUnavailableException("the NVIDIA driver failed to initialise (cuInit: " + CUresult.stringFor(r) + ")");
        }
        int[] version = new int[1];
        check(cuDriverGetVersion(version), "cuDriverGetVersion");
        if (version[0] < MINIMUM_DRIVER) {
            throw new CudaUnavailableException("the NVIDIA driver supports CUDA " + versionString(version[0])
                    + " but Kiln needs CUDA 12.0 or newer: install driver R525 or newer");
        }
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) {
            throw new CudaUnavailableException("the NVIDIA driver (CUDA " + versionString(version[0]) + ") reports no CUDA device");
        }
        try {
            JCublas2.setExceptionsEnabled(false);
            JCublas2.initialize();
        } catch (LinkageError e) {
            throw new CudaUnavailableException("cuBLAS could not be loaded: install the CUDA 12 libraries so that libcublas.so.12 is on "
                    + "the library path (" + concise(e) + ")");
        }
        JCudaDriver driver = new JCudaDriver(version[0], count[0]);
        try {
            // Loads (and keeps) the kernels on the first device: a driver that can run neither the
            // shipped fatbin nor runtime-compiled kernels makes CUDA unusable, so say so now.
            driver.kernelPath(0);
        } catch (CudaException e) {
            throw new CudaUnavailableException(e.getMessage());
        }
        return driver;
    }

    /**
     * One line out of JCuda's loader errors, whose messages carry whole stack traces: the dynamic
     * linker's complaint ({@code libcuda.so.1: cannot open shared object file}) when there is one.
     */
    static String concise(LinkageError e) {
        String m = String.valueOf(e.getMessage());
        String best = null;
        for (String line : m.split("\\R")) {
            if (line.contains("cannot open shared object file") || line.contains("undefined symbol")
                    || line.contains("version `")) {
                best = line.substring(line.indexOf("Error: ") >= 0 ? line.indexOf("Error: ") + 7 : 0).trim();
            }
        }
        if (best != null) {
            return best;
        }
        if (e instanceof NoClassDefFoundError) {
            return "an earlier attempt to load JCuda's natives failed (" + m.lines().findFirst().orElse(m) + ")";
        }
        return e.getClass().getSimpleName() + ": " + m.lines().findFirst().orElse(m);
    }

    /** The version of the JCuda classes on the class path, or null when they are absent. */
    static String jcudaVersion() {
        try {
            return jcuda.JCudaVersion.get();
        } catch (LinkageError e) {
            return null;
        }
    }

    static String versionString(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }

    @Override
    public String name() {
        return "JCuda " + jcudaVersion();
    }

    @Override
    public int driverVersion() {
        return driverVersion;
    }

    @Override
    public int deviceCount() {
        return deviceCount;
    }

    /** Per-device state, created on first use. */
    private final class DeviceState {
        final CUdevice device = new CUdevice();
        final CUcontext context = new CUcontext();
        final CUstream stream = new CUstream();
        final cublasHandle blas = new cublasHandle();
        final TreeMap<Long, DevicePointer> allocations = new TreeMap<>();
        final Map<String, Optional<CUfunction>> functions = new ConcurrentHashMap<>();
        final KernelModules modules;
        final DeviceProperties properties;

        DeviceState(int ordinal) {
            check(cuDeviceGet(device, ordinal), "cuDeviceGet");
            check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            check(cuStreamCreate(stream, 0), "cuStreamCreate");
            checkBlas(JCublas2.cublasCreate(blas), "cublasCreate");
            checkBlas(JCublas2.cublasSetStream(blas, new cudaStream_t(stream)), "cublasSetStream");
            properties = queryProperties(device);
            modules = new KernelModules(properties, driverVersion);
        }
    }

    private DeviceState state(int ordinal) {
        if (ordinal < 0 || ordinal >= deviceCount) {
            throw new IllegalArgumentException("cuda:" + ordinal + " does not exist: this machine has " + deviceCount + " CUDA device"
                    + (deviceCount == 1 ? "" : "s"));
        }
        DeviceState s = devices.computeIfAbsent(ordinal, DeviceState::new);
        if (current.get() != s.context) {
            check(cuCtxSetCurrent(s.context), "cuCtxSetCurrent");
            current.set(s.context);
        }
        return s;
    }

    private static DeviceProperties queryProperties(CUdevice d) {
        byte[] name = new byte[256];
        check(cuDeviceGetName(name, name.length, d), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        int[] major = new int[1];
        int[] minor = new int[1];
        check(cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d), "cuDeviceGetAttribute");
        check(cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d), "cuDeviceGetAttribute");
        long[] total = new long[1];
        check(cuDeviceTotalMem(total, d), "cuDeviceTotalMem");
        return new DeviceProperties(new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8), major[0], minor[0], total[0]);
    }

    @Override
    public DeviceProperties properties(int device) {
        return state(device).properties;
    }

    // ------------------------------------------------------------------ memory

    /** A device allocation whose address Java can read. */
    private static final class DevicePointer extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    /** A pointer object at a raw address, for cuBLAS's operands. */
    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            super(address);
        }
    }

    @Override
    public long malloc(int device, long bytes) {
        DeviceState s = state(device);
        DevicePointer p = new DevicePointer();
        int r = cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            return 0;
        }
        check(r, "cuMemAlloc(" + bytes + ")");
        synchronized (s.allocations) {
            s.allocations.put(p.address(), p);
        }
        return p.address();
    }

    @Override
    public void free(int device, long ptr) {
        DeviceState s = state(device);
        DevicePointer p;
        synchronized (s.allocations) {
            p = s.allocations.remove(ptr);
        }
        if (p == null) {
            throw new IllegalArgumentException("cuMemFree: 0x" + Long.toHexString(ptr) + " is not an allocation of cuda:" + device);
        }
        check(cuStreamSynchronize(s.stream), "cuStreamSynchronize");
        check(cuMemFree(p), "cuMemFree");
    }

    /** The driver's pointer object for an address inside one of this device's allocations. */
    private static CUdeviceptr at(DeviceState s, long address) {
        Map.Entry<Long, DevicePointer> e;
        synchronized (s.allocations) {
            e = s.allocations.floorEntry(address);
        }
        if (e == null) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is not device memory of Kiln's allocator");
        }
        return e.getValue().withByteOffset(address - e.getKey());
    }

    @Override
    public long[] memoryInfo(int device) {
        state(device);
        long[] free = new long[1];
        long[] total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** JCuda reads heap buffers from their array start; a direct buffer honours the position. */
    private static ByteBuffer direct(ByteBuffer b, long bytes) {
        if (b.isDirect()) {
            return b.slice(b.position(), (int) bytes);
        }
        return null;
    }

    @Override
    public void copyToDevice(int device, long dst, ByteBuffer src, long bytes) {
        DeviceState s = state(device);
        ByteBuffer d = direct(src, bytes);
        if (d == null) {
            d = ByteBuffer.allocateDirect((int) bytes);
            d.put(src.duplicate().limit(src.position() + (int) bytes)).flip();
        }
        // From pageable memory the driver stages the data before it returns, so the buffer may go.
        check(cuMemcpyHtoDAsync(at(s, dst), Pointer.to(d), bytes, s.stream), "cuMemcpyHtoDAsync");
    }

    @Override
    public void copyToHost(int device, ByteBuffer dst, long src, long bytes) {
        DeviceState s = state(device);
        ByteBuffer d = direct(dst, bytes);
        ByteBuffer target = d != null ? d : ByteBuffer.allocateDirect((int) bytes);
        check(cuMemcpyDtoHAsync(Pointer.to(target), at(s, src), bytes, s.stream), "cuMemcpyDtoHAsync");
        check(cuStreamSynchronize(s.stream), "cuStreamSynchronize");
        if (d == null) {
            dst.duplicate().put(target);
        }
    }

    @Override
    public ByteBuffer hostAlloc(long bytes) {
        state(0); // page-locked memory needs a current context; PORTABLE makes it usable from every device
        Pointer p = new Pointer();
        int r = cuMemHostAlloc(p, bytes, jcuda.driver.JCudaDriver.CU_MEMHOSTALLOC_PORTABLE);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            return null;
        }
        check(r, "cuMemHostAlloc(" + bytes + ")");
        ByteBuffer b = p.getByteBuffer(0, bytes);
        synchronized (hostBlocks) {
            hostBlocks.put(b, p);
        }
        return b;
    }

    @Override
    public void hostFree(ByteBuffer block) {
        Pointer p;
        synchronized (hostBlocks) {
            p = hostBlocks.remove(block);
        }
        if (p == null) {
            throw new IllegalArgumentException("cuMemFreeHost: " + block + " is not page-locked memory of this driver");
        }
        state(0);
        check(cuMemFreeHost(p), "cuMemFreeHost");
    }

    @Override
    public void copyToDeviceAsync(int device, long dst, ByteBuffer pinnedSrc, long bytes) {
        DeviceState s = state(device);
        if (!pinnedSrc.isDirect()) {
            throw new IllegalArgumentException("cuMemcpyHtoDAsync: the source must be page-locked memory, got " + pinnedSrc);
        }
        check(cuMemcpyHtoDAsync(at(s, dst), Pointer.to(direct(pinnedSrc, bytes)), bytes, s.stream), "cuMemcpyHtoDAsync");
    }

    @Override
    public long recordEvent(int device) {
        DeviceState s = state(device);
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        check(cuEventRecord(e, s.stream), "cuEventRecord");
        long id = nextEvent.getAndIncrement();
        events.put(id, new DeviceEvent(device, e));
        return id;
    }

    private DeviceEvent event(long id) {
        DeviceEvent e = events.get(id);
        if (e == null) {
            throw new IllegalArgumentException("no CUDA event " + id);
        }
        state(e.device());
        return e;
    }

    @Override
    public boolean eventDone(long id) {
        int r = cuEventQuery(event(id).event());
        if (r == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        check(r, "cuEventQuery");
        return true;
    }

    @Override
    public void waitEvent(long id) {
        check(cuEventSynchronize(event(id).event()), "cuEventSynchronize");
    }

    @Override
    public void destroyEvent(long id) {
        DeviceEvent e = event(id);
        events.remove(id);
        check(cuEventDestroy(e.event()), "cuEventDestroy");
    }

    @Override
    public void copyOnDevice(int device, long dst, long src, long bytes) {
        DeviceState s = state(device);
        check(cuMemcpyDtoDAsync(at(s, dst), at(s, src), bytes, s.stream), "cuMemcpyDtoDAsync");
    }

    // ------------------------------------------------------------------ kernels

    private Optional<CUfunction> function(DeviceState s, String name) {
        return s.functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            CUmodule m = s.modules.module();
            int r = cuModuleGetFunction(f, m, n);
            if (r == CUresult.CUDA_ERROR_NOT_FOUND) {
                return Optional.empty();
            }
            check(r, "cuModuleGetFunction(" + n + ")");
            return Optional.of(f);
        });
    }

    @Override
    public void launch(int device, String name, int gridX, int blockX, KernelArgs args) {
        DeviceState s = state(device);
        CUfunction f = function(s, name).orElseThrow(() -> new CudaException("no CUDA kernel named " + name
                + " in Kiln's kernel module"));
        Pointer[] params = new Pointer[args.count()];
        for (int i = 0; i < params.length; i++) {
            params[i] = Pointer.to(args.valueBytes(i));
        }
        int r = cuLaunchKernel(f, gridX, 1, 1, blockX, 1, 1, 0, s.stream, Pointer.to(params), null);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new CudaException("launching " + name + args + " with grid " + gridX + ", block " + blockX + ": "
                    + CUresult.stringFor(r));
        }
    }

    @Override
    public String kernelPath(int device) {
        DeviceState s = state(device);
        s.modules.module();
        return s.modules.describe();
    }

    // ------------------------------------------------------------------ cuBLAS

    @Override
    public void gemm(int device, boolean doublePrecision, boolean transA, boolean transB, int m, int n, int k,
                     long a, int lda, long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch) {
        DeviceState s = state(device);
        int opA = transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        int opB = transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        int r;
        if (doublePrecision) {
            r = JCublas2.cublasDgemmStridedBatched(s.blas, opA, opB, m, n, k, Pointer.to(new double[] {1}), new RawPointer(a), lda,
                    strideA, new RawPointer(b), ldb, strideB, Pointer.to(new double[] {0}), new RawPointer(c), ldc, strideC, batch);
        } else {
            r = JCublas2.cublasSgemmStridedBatched(s.blas, opA, opB, m, n, k, Pointer.to(new float[] {1}), new RawPointer(a), lda,
                    strideA, new RawPointer(b), ldb, strideB, Pointer.to(new float[] {0}), new RawPointer(c), ldc, strideC, batch);
        }
        checkBlas(r, (doublePrecision ? "cublasDgemmStridedBatched" : "cublasSgemmStridedBatched") + "(m=" + m + ", n=" + n
                + ", k=" + k + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc + ", batch=" + batch + ")");
    }

    // ------------------------------------------------------------------ cuDNN

    private volatile Cudnn.Status cudnn;

    @Override
    public Cudnn.Status cudnn() {
        Cudnn.Status c = cudnn;
        if (c == null) {
            synchronized (this) {
                c = cudnn;
                if (c == null) {
                    cudnn = c = JCudnnLibrary.load(ordinal -> new cudaStream_t(state(ordinal).stream));
                }
            }
        }
        return c;
    }

    /** The cuBLAS library version of a device's handle, as {@code major * 10000 + minor * 100 + patch}. */
    int cublasVersion(int device) {
        int[] v = new int[1];
        checkBlas(JCublas2.cublasGetVersion(state(device).blas, v), "cublasGetVersion");
        return v[0];
    }

    @Override
    public void synchronize(int device) {
        check(cuStreamSynchronize(state(device).stream), "cuStreamSynchronize");
    }

    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaException(call + ": " + CUresult.stringFor(result));
        }
    }

    private static void checkBlas(int status, String call) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new CudaException(call + ": " + cublasStatus.stringFor(status));
        }
    }
}
