package dev.kiln.cuda;

import dev.kiln.Device;

import java.util.ArrayList;
import java.util.List;

/**
 * CUDA-specific entry points, the counterpart of {@code torch.cuda}: device count, the caching
 * allocator's statistics and cache, synchronisation, and a diagnostic report for
 * {@code kiln doctor}. Everything else goes through {@link dev.kiln.Tensor} and {@link Device}.
 */
public final class Cuda {

    private Cuda() {
    }

    /** Whether CUDA can be used (never throws; see {@link #unavailableReason()}). */
    public static boolean isAvailable() {
        return CudaRuntime.get().driver() != null;
    }

    /** Why CUDA cannot be used, or null when it can. */
    public static String unavailableReason() {
        return CudaRuntime.get().reason();
    }

    /** Number of CUDA devices, 0 when CUDA is unavailable. */
    public static int deviceCount() {
        CudaDriver d = CudaRuntime.get().driver();
        return d == null ? 0 : d.deviceCount();
    }

    /** The allocator statistics of a CUDA device ({@code torch.cuda.memory_stats}). */
    public static CudaMemoryStats memoryStats(Device device) {
        return backend(device).allocator().stats();
    }

    /** Bytes in live tensors on a device ({@code torch.cuda.memory_allocated}). */
    public static long memoryAllocated(Device device) {
        return memoryStats(device).allocated();
    }

    /** Bytes the allocator holds on a device ({@code torch.cuda.memory_reserved}). */
    public static long memoryReserved(Device device) {
        return memoryStats(device).reserved();
    }

    /** Restarts the peak statistics of a device from the current values. */
    public static void resetPeakMemoryStats(Device device) {
        backend(device).allocator().resetPeaks();
    }

    /** Returns the cached, unused memory of every device that has been used to the driver. */
    public static void emptyCache() {
        for (int i = 0; i < deviceCount(); i++) {
            CudaBackend b = CudaRuntime.get().existingBackend(Device.cuda(i));
            if (b != null) {
                b.emptyCache();
            }
        }
    }

    /** Returns the cached, unused memory of one device to the driver. */
    public static void emptyCache(Device device) {
        backend(device).emptyCache();
    }

    /**
     * Statistics of the caching allocator of page-locked host memory, which backs
     * {@link dev.kiln.Tensor#pinMemory()} and {@code DataLoader}'s {@code pinMemory}.
     *
     * @throws IllegalStateException when CUDA is unavailable
     */
    public static PinnedMemoryStats pinnedMemoryStats() {
        return hostAllocator().stats();
    }

    /**
     * Returns cached page-locked host memory to the driver ({@code cuMemFreeHost}); blocks still
     * waiting for a queued copy stay until it is done. A no-op when CUDA is unavailable.
     */
    public static void emptyPinnedCache() {
        PinnedHostAllocator a = CudaRuntime.get().hostAllocator();
        if (a != null) {
            a.emptyCache();
        }
    }

    private static PinnedHostAllocator hostAllocator() {
        PinnedHostAllocator a = CudaRuntime.get().hostAllocator();
        if (a == null) {
            throw new IllegalStateException("CUDA is not available: " + unavailableReason());
        }
        return a;
    }

    /** Waits until the device has finished the work queued on it. */
    public static void synchronize(Device device) {
        backend(device).synchronize();
    }

    private static CudaBackend backend(Device device) {
        if (!device.isCuda()) {
            throw new IllegalArgumentException("Cuda: " + device + " is not a CUDA device");
        }
        return CudaRuntime.get().backend(device);
    }

    /** What {@link #report()} found on one device. */
    public record DeviceReport(int index, String name, String computeCapability, long totalMemory, long freeMemory,
                               String kernelPath) {
    }

    /**
     * What the doctor prints: versions, devices, libraries and the kernel path, or why CUDA is unavailable.
     *
     * @param jcudaVersion       version of the JCuda classes on the class path, null when absent
     * @param driver             {@code jcuda} or {@code emulated} (the {@code kiln.cuda.driver} property)
     * @param driverName         the driver in use, null when unavailable
     * @param driverVersion      the CUDA version the driver supports ({@code 12.4}), null when unknown
     * @param runtimeVersion     the CUDA runtime JCuda was built with, null when unknown
     * @param devices            each device
     * @param cublas             cuBLAS status and version
     * @param cudnn              cuDNN status and version, or why it is not used
     * @param unavailableReason  why CUDA cannot be used, null when it can
     */
    public record Report(String jcudaVersion, String driver, String driverName, String driverVersion, String runtimeVersion,
                         List<DeviceReport> devices, String cublas, String cudnn, String unavailableReason) {
    }

    /** Probes everything the doctor shows. Loads the kernels on each device, so it may take a moment; never throws. */
    public static Report report() {
        CudaRuntime rt = CudaRuntime.get();
        CudaDriver d = rt.driver();
        String jcuda = JCudaDriver.jcudaVersion();
        String runtime = runtimeVersion(rt);
        String cudnn = d == null ? cudnnStatus() : d.cudnn().describe();
        if (d == null) {
            return new Report(jcuda, rt.driverChoice(), null, null, runtime, List.of(), "not checked", cudnn, rt.reason());
        }
        List<DeviceReport> devices = new ArrayList<>();
        for (int i = 0; i < d.deviceCount(); i++) {
            try {
                CudaDriver.DeviceProperties p = d.properties(i);
                long[] mem = d.memoryInfo(i);
                String path;
                try {
                    path = d.kernelPath(i);
                } catch (RuntimeException | LinkageError e) {
                    path = "unusable: " + e.getMessage();
                }
                String cc = p.major() == 0 ? "none (emulated)" : p.computeCapability();
                devices.add(new DeviceReport(i, p.name(), cc, p.totalMemory(), mem[0], path));
            } catch (RuntimeException | LinkageError e) {
                devices.add(new DeviceReport(i, "error: " + e.getMessage(), "?", 0, 0, "?"));
            }
        }
        String cublas;
        if (d instanceof JCudaDriver j) {
            try {
                int v = j.cublasVersion(0);
                cublas = "loaded, version " + v / 10000 + "." + (v % 10000) / 100 + "." + v % 100;
            } catch (RuntimeException | LinkageError e) {
                cublas = "failed: " + e.getMessage();
            }
        } else {
            cublas = "emulated (column-major GEMM of the emulator)";
        }
        String driverVersion = d.driverVersion() == 0 ? null : JCudaDriver.versionString(d.driverVersion());
        return new Report(jcuda, rt.driverChoice(), d.name(), driverVersion, runtime, devices,
                cublas, cudnn, null);
    }

    private static String runtimeVersion(CudaRuntime rt) {
        if (!"jcuda".equals(rt.driverChoice())) {
            return null;
        }
        try {
            int[] v = new int[1];
            jcuda.runtime.JCuda.setExceptionsEnabled(false);
            jcuda.runtime.JCuda.cudaRuntimeGetVersion(v);
            return JCudaDriver.versionString(v[0]);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Without a driver cuDNN is not loaded; say whether JCudnn is there at all. */
    private static String cudnnStatus() {
        try {
            Class.forName("jcuda.jcudnn.JCudnn", false, Cuda.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return "not available: JCudnn is not on the class path";
        }
        return "not checked (CUDA is unavailable)";
    }
}
