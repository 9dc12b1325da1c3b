package dev.kiln.kernels;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.nvrtc.JNvrtc;
import jcuda.nvrtc.nvrtcProgram;
import jcuda.nvrtc.nvrtcResult;

/**
 * Runs in a child JVM whose LD_LIBRARY_PATH holds the fake libcuda.so.1 and libcublas.so.12:
 * drives them through the real JCuda classes and prints one line per check, "FAIL ..." on a
 * failure. Argument: "modern" (driver 13.0: the fatbin loads) or "old-driver" (12.6: it does not, and the
 * sources are compiled with the fake NVRTC instead).
 */
public final class FakeCudaProbe {

    private static int failures;

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            failures++;
        }
    }

    /** Compiles the shipped sources as the CUDA backend does; null (and the log printed) on failure. */
    private static byte[] nvrtcCubin(String arch, java.util.Map<String, String> headers) {
        String[] names = headers.keySet().toArray(new String[0]);
        String[] texts = headers.values().toArray(new String[0]);
        nvrtcProgram program = new nvrtcProgram();
        JNvrtc.nvrtcCreateProgram(program, KernelSources.read(KernelSources.MAIN), KernelSources.MAIN, names.length,
                texts, names);
        String[] options = {"--gpu-architecture=" + arch, "--std=c++17", "-default-device"};
        int r = JNvrtc.nvrtcCompileProgram(program, options.length, options);
        String[] log = new String[1];
        JNvrtc.nvrtcGetProgramLog(program, log);
        if (r != nvrtcResult.NVRTC_SUCCESS) {
            System.out.println("nvrtc: " + nvrtcResult.stringFor(r) + ": " + log[0].trim());
            JNvrtc.nvrtcDestroyProgram(program);
            return null;
        }
        long[] size = new long[1];
        JNvrtc.nvrtcGetCUBINSize(program, size);
        byte[] cubin = new byte[(int) size[0]];
        JNvrtc.nvrtcGetCUBIN(program, cubin);
        JNvrtc.nvrtcDestroyProgram(program);
        return cubin;
    }

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "modern";
        int rc = cuInit(0);
        check(rc == CUresult.CUDA_SUCCESS, "cuInit: " + CUresult.stringFor(rc));
        int[] v = new int[1];
        cuDriverGetVersion(v);
        System.out.println("driver version " + v[0]);
        cuDeviceGetCount(v);
        check(v[0] == 1, "one device");
        CUdevice dev = new CUdevice();
        cuDeviceGet(dev, 0);
        byte[] name = new byte[64];
        cuDeviceGetName(name, name.length, dev);
        System.out.println("device " + new String(name, StandardCharsets.US_ASCII).trim());
        cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        check(v[0] == 8, "compute capability 8.x");
        CUcontext ctx = new CUcontext();
        check(cuCtxCreate(ctx, 0, dev) == CUresult.CUDA_SUCCESS, "cuCtxCreate");

        CUmodule module = new CUmodule();
        byte[] fatbin = KernelSources.fatbin().orElse(null);
        if (fatbin != null) {
            rc = cuModuleLoadData(module, fatbin);
            if (mode.equals("old-driver")) {
                check(rc == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION,
                        "an old driver refuses the CUDA 13 fatbin: " + CUresult.stringFor(rc));
            } else {
                check(rc == CUresult.CUDA_SUCCESS, "the fatbin loads: " + CUresult.stringFor(rc));
            }
        }
        String ptx = KernelSources.ptx().orElse(null);
        if (mode.equals("old-driver") || fatbin == null) {
            if (ptx == null) {
                System.out.println("no PTX in this build; the module checks stop here");
                System.exit(failures == 0 ? 0 : 1);
            }
            // what NVRTC of CUDA 12.6 would produce: the same kernels at PTX ISA 8.5
            String old = ptx.replaceFirst("\\.version \\d+\\.\\d+", ".version 8.5");
            rc = cuModuleLoadData(module, (old + "\0").getBytes(StandardCharsets.US_ASCII));
            check(rc == CUresult.CUDA_SUCCESS, "PTX 8.5 loads: " + CUresult.stringFor(rc));
            rc = cuModuleLoadData(new CUmodule(), (ptx + "\0").getBytes(StandardCharsets.US_ASCII));
            check(mode.equals("modern") ? rc == CUresult.CUDA_SUCCESS : rc == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION,
                    "PTX " + ptx.substring(ptx.indexOf(".version") + 9, ptx.indexOf(".version") + 12) + ": "
                            + CUresult.stringFor(rc));
        }

        if (mode.equals("old-driver")) {
            // the backend's fallback: compile the shipped sources with NVRTC for the device
            module = new CUmodule();
            byte[] cubin = nvrtcCubin("sm_86", KernelSources.headers());
            rc = cubin == null ? -1 : cuModuleLoadData(module, cubin);
            check(rc == CUresult.CUDA_SUCCESS, "the NVRTC cubin loads: " + CUresult.stringFor(rc));
            java.util.Map<String, String> missing = new java.util.LinkedHashMap<>(KernelSources.headers());
            missing.remove("reduce.cu");
            check(nvrtcCubin("sm_86", missing) == null, "NVRTC fails without a header the sources include");
        }

        CUfunction add = new CUfunction();
        rc = cuModuleGetFunction(add, module, KernelCatalog.binary("add", KernelDType.F32));
        check(rc == CUresult.CUDA_SUCCESS, "cuModuleGetFunction add: " + CUresult.stringFor(rc));
        rc = cuModuleGetFunction(new CUfunction(), module, "kiln_no_such_kernel");
        check(rc == CUresult.CUDA_ERROR_NOT_FOUND, "an unknown kernel is not found: " + CUresult.stringFor(rc));

        // out = a + b with b broadcast along dim 0: the geometry struct travels by value
        int n = 12;
        float[] a = new float[n];
        float[] b = {10, 20, 30, 40};
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        CUdeviceptr da = new CUdeviceptr();
        CUdeviceptr db = new CUdeviceptr();
        CUdeviceptr dout = new CUdeviceptr();
        cuMemAlloc(da, n * Sizeof.FLOAT);
        cuMemAlloc(db, 4 * Sizeof.FLOAT);
        cuMemAlloc(dout, n * Sizeof.FLOAT);
        cuMemcpyHtoD(da, Pointer.to(a), n * Sizeof.FLOAT);
        cuMemcpyHtoD(db, Pointer.to(b), 4 * Sizeof.FLOAT);
        KernelGeometry g = KernelGeometry.of(new long[] {3, 4}, new long[] {4, 1}, new long[] {4, 1}, new long[] {0, 1});
        Pointer params = Pointer.to(Pointer.to(dout), Pointer.to(da), Pointer.to(db), Pointer.to(g.toBytes()));
        rc = cuLaunchKernel(add, 1, 1, 1, 64, 1, 1, 0, null, params, null);
        check(rc == CUresult.CUDA_SUCCESS, "cuLaunchKernel: " + CUresult.stringFor(rc));
        float[] out = new float[n];
        cuMemcpyDtoH(Pointer.to(out), dout, n * Sizeof.FLOAT);
        float[] want = new float[n];
        for (int i = 0; i < n; i++) {
            want[i] = a[i] + b[i % 4];
        }
        check(Arrays.equals(want, out), "broadcast add " + Arrays.toString(out));

        // a stray pointer is an illegal address, as on a GPU
        CUdeviceptr stray = new CUdeviceptr();
        cuMemAlloc(stray, 4);
        cuMemFree(stray);
        Pointer bad = Pointer.to(Pointer.to(dout), Pointer.to(stray), Pointer.to(db), Pointer.to(g.toBytes()));
        rc = cuLaunchKernel(add, 1, 1, 1, 64, 1, 1, 0, null, bad, null);
        check(rc == CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, "freed pointer: " + CUresult.stringFor(rc));

        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        check(total[0] - free[0] == (n + 4 + n) * Sizeof.FLOAT, "cuMemGetInfo counts the live bytes: "
                + (total[0] - free[0]));

        // cuBLAS: C (3x2) = A (3x4) * B (4x2), column-major
        float[] bm = {1, 2, 3, 4, -1, 0.5f, 2, 0};
        CUdeviceptr dbm = new CUdeviceptr();
        cuMemAlloc(dbm, 8 * Sizeof.FLOAT);
        cuMemcpyHtoD(dbm, Pointer.to(bm), 8 * Sizeof.FLOAT);
        cublasHandle h = new cublasHandle();
        check(JCublas2.cublasCreate(h) == cublasStatus.CUBLAS_STATUS_SUCCESS, "cublasCreate");
        CUdeviceptr dc = new CUdeviceptr();
        cuMemAlloc(dc, 6 * Sizeof.FLOAT);
        int st = JCublas2.cublasSgemm(h, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, 3, 2, 4,
                Pointer.to(new float[] {1f}), da, 3, dbm, 4, Pointer.to(new float[] {0f}), dc, 3);
        check(st == cublasStatus.CUBLAS_STATUS_SUCCESS, "cublasSgemm: " + cublasStatus.stringFor(st));
        float[] c = new float[6];
        cuMemcpyDtoH(Pointer.to(c), dc, 6 * Sizeof.FLOAT);
        float[] wantC = new float[6];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                for (int p = 0; p < 4; p++) {
                    wantC[i + 3 * j] += a[i + 3 * p] * bm[p + 4 * j];
                }
            }
        }
        check(Arrays.equals(wantC, c), "sgemm " + Arrays.toString(c));
        st = JCublas2.cublasSgemm(h, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, 3, 2, 4,
                Pointer.to(new float[] {1f}), da, 2, dbm, 4, Pointer.to(new float[] {0f}), dc, 3);
        check(st == cublasStatus.CUBLAS_STATUS_INVALID_VALUE, "lda < m: " + cublasStatus.stringFor(st));
        JCublas2.cublasDestroy(h);

        // an entry point the emulator lacks fails loudly instead of crashing the JVM
        rc = JCudaDriver.cuCtxEnablePeerAccess(ctx, 0);
        check(rc == CUresult.CUDA_ERROR_NOT_SUPPORTED, "unimplemented entry point: " + CUresult.stringFor(rc));

        System.out.println(failures == 0 ? "ALL OK" : failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
