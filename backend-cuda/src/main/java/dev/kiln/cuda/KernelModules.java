package dev.kiln.cuda;

import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.nvrtc.JNvrtc;
import jcuda.nvrtc.nvrtcProgram;
import jcuda.nvrtc.nvrtcResult;
import dev.kiln.kernels.KernelSources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static jcuda.driver.JCudaDriver.cuModuleLoadData;

/**
 * Loads Kiln's kernel module on one device, lazily, on the first launch: the shipped fatbin first
 * (cubins for sm_75 to sm_120 and PTX); when the driver rejects it (PTX newer than the driver,
 * no image for this GPU) the shipped {@code .cu} sources are compiled with NVRTC to a cubin for
 * the device's architecture, or, for a GPU newer than NVRTC knows, to PTX for the newest
 * architecture it does know, which the driver then compiles; the result is cached on disk. When
 * both fail, one error says what to install.
 */
final class KernelModules {

    private static final Logger LOG = LoggerFactory.getLogger(KernelModules.class);

    /** Driver results meaning "this image cannot run here", after which runtime compilation is tried. */
    private static final Set<Integer> REJECTED = Set.of(CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU,
            CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION, CUresult.CUDA_ERROR_INVALID_PTX, CUresult.CUDA_ERROR_INVALID_IMAGE,
            CUresult.CUDA_ERROR_JIT_COMPILER_NOT_FOUND, CUresult.CUDA_ERROR_INVALID_SOURCE);

    private final CudaDriver.DeviceProperties device;
    private final int driverVersion;
    private CUmodule module;
    private String path = "not loaded yet (kernels load on first use)";

    KernelModules(CudaDriver.DeviceProperties device, int driverVersion) {
        this.device = device;
        this.driverVersion = driverVersion;
    }

    /** The module, loading it on first use. The caller has made the device's context current. */
    synchronized CUmodule module() {
        if (module == null) {
            module = load();
        }
        return module;
    }

    synchronized String describe() {
        return path;
    }

    private CUmodule load() {
        String fatbinProblem;
        byte[] fatbin = KernelSources.fatbin().orElse(null);
        if (fatbin == null) {
            fatbinProblem = "this build of kiln-kernels carries no fatbin (it was built without nvcc)";
        } else {
            CUmodule m = new CUmodule();
            int r = cuModuleLoadData(m, fatbin);
            if (r == CUresult.CUDA_SUCCESS) {
                path = "shipped fatbin";
                LOG.info("CUDA kernels: loaded the shipped fatbin on {} (compute capability {})", device.name(),
                        device.computeCapability());
                return m;
            }
            if (!REJECTED.contains(r)) {
                JCudaDriver.check(r, "cuModuleLoadData(kiln_kernels.fatbin)");
            }
            fatbinProblem = "the driver rejected the shipped fatbin (" + CUresult.stringFor(r) + ")";
        }
        try {
            int cc = device.major() * 10 + device.minor();
            int[] supported = nvrtcArchitectures();
            CUmodule m = new CUmodule();
            if (Arrays.stream(supported).anyMatch(a -> a == cc)) {
                String arch = "sm_" + cc;
                byte[] cubin = compileCached(arch, false);
                JCudaDriver.check(cuModuleLoadData(m, cubin), "cuModuleLoadData(NVRTC cubin " + arch + ")");
                path = "NVRTC, compiled for " + arch + " (" + fatbinProblem + ")";
            } else {
                // A GPU newer than this NVRTC: PTX for the newest architecture it knows, which the
                // driver compiles for the GPU.
                int best = Arrays.stream(supported).filter(a -> a <= cc).max().orElseThrow(() -> new CudaException(
                        "NVRTC " + nvrtcVersion() + " compiles for none of the architectures up to sm_" + cc));
                String arch = "compute_" + best;
                byte[] ptx = compileCached(arch, true);
                int r = cuModuleLoadData(m, ptx);
                if (r != CUresult.CUDA_SUCCESS) {
                    throw new CudaException("NVRTC " + nvrtcVersion() + " does not know sm_" + cc + ", and the driver rejected the PTX "
                            + "it made for " + arch + " (" + CUresult.stringFor(r) + ")");
                }
                path = "NVRTC, PTX for " + arch + " compiled by the driver for sm_" + cc + " (" + fatbinProblem + ")";
            }
            LOG.info("CUDA kernels: {}", path);
            return m;
        } catch (RuntimeException | LinkageError e) {
            String why = e instanceof LinkageError l ? "the NVRTC library could not be loaded: " + JCudaDriver.concise(l) : e.getMessage();
            throw new CudaException("Kiln's CUDA kernels cannot run on " + device.name() + " (compute capability "
                    + device.computeCapability() + ") with this NVIDIA driver (CUDA " + JCudaDriver.versionString(driverVersion)
                    + "): " + fatbinProblem + ", and compiling them at run time with NVRTC failed (" + why
                    + "). Install NVIDIA driver 580 or newer, which runs the shipped kernels, or a CUDA 12 runtime compiler recent "
                    + "enough for this GPU (libnvrtc.so.12, e.g. the nvidia-cuda-nvrtc-cu12 package) so that Kiln can compile "
                    + "them for it.", e);
        }
    }

    /**
     * The cubin for {@code arch} ({@code sm_XY}) or the PTX ({@code compute_XY}, NUL-terminated),
     * from the disk cache when the same sources were compiled before by the same NVRTC.
     */
    private byte[] compileCached(String arch, boolean ptx) {
        Map<String, String> sources = new LinkedHashMap<>(KernelSources.headers());
        sources.put(KernelSources.MAIN, KernelSources.read(KernelSources.MAIN));
        String version = nvrtcVersion();
        Path file = cacheDir().resolve(key(sources, arch, version) + "-" + arch + (ptx ? ".ptx" : ".cubin"));
        try {
            if (Files.isRegularFile(file)) {
                LOG.debug("CUDA kernels: {} from the cache", file);
                return Files.readAllBytes(file);
            }
        } catch (IOException e) {
            LOG.warn("CUDA kernels: cannot read the cached {}: {}", file, e.toString());
        }
        byte[] image = compile(sources, arch, ptx);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "kiln", ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("CUDA kernels: cannot cache {}: {}", file, e.toString());
        }
        return image;
    }

    /** Where compiled cubins are kept: {@code kiln.cuda.cacheDir}, else {@code $XDG_CACHE_HOME/kiln/kernels}, else {@code ~/.cache/kiln/kernels}. */
    static Path cacheDir() {
        String p = System.getProperty("kiln.cuda.cacheDir");
        if (p != null) {
            return Path.of(p);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln").resolve("kernels");
    }

    private static String nvrtcVersion() {
        JNvrtc.setExceptionsEnabled(false);
        int[] major = new int[1];
        int[] minor = new int[1];
        checkNvrtc(JNvrtc.nvrtcVersion(major, minor), "nvrtcVersion");
        return major[0] + "." + minor[0];
    }

    private static String key(Map<String, String> sources, String arch, String version) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((arch + "\0" + version + "\0").getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, String> e : sources.entrySet()) {
                md.update((e.getKey() + "\0" + e.getValue() + "\0").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest(), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The architectures ({@code 86} for sm_86) this NVRTC compiles for. */
    private static int[] nvrtcArchitectures() {
        JNvrtc.setExceptionsEnabled(false);
        int[] n = new int[1];
        checkNvrtc(JNvrtc.nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs");
        int[] archs = new int[n[0]];
        checkNvrtc(JNvrtc.nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs");
        return archs;
    }

    /** Compiles the main source, with every other file as a header it may include, to a cubin or to PTX. */
    private static byte[] compile(Map<String, String> sources, String arch, boolean ptx) {
        String[] names = sources.keySet().stream().filter(n -> !n.equals(KernelSources.MAIN)).toArray(String[]::new);
        String[] contents = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            contents[i] = sources.get(names[i]);
        }
        nvrtcProgram program = new nvrtcProgram();
        checkNvrtc(JNvrtc.nvrtcCreateProgram(program, sources.get(KernelSources.MAIN), KernelSources.MAIN, names.length,
                contents, names), "nvrtcCreateProgram");
        try {
            String[] options = {"--gpu-architecture=" + arch, "--std=c++17", "-default-device"};
            int r = JNvrtc.nvrtcCompileProgram(program, options.length, options);
            if (r != nvrtcResult.NVRTC_SUCCESS) {
                String[] log = new String[1];
                JNvrtc.nvrtcGetProgramLog(program, log);
                throw new CudaException("nvrtcCompileProgram for " + arch + ": " + nvrtcResult.stringFor(r) + ": "
                        + String.valueOf(log[0]).trim());
            }
            if (ptx) {
                String[] text = new String[1];
                checkNvrtc(JNvrtc.nvrtcGetPTX(program, text), "nvrtcGetPTX");
                byte[] b = text[0].getBytes(StandardCharsets.US_ASCII);
                return Arrays.copyOf(b, b.length + 1);  // the driver reads PTX up to a NUL
            }
            long[] size = new long[1];
            checkNvrtc(JNvrtc.nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
            byte[] cubin = new byte[(int) size[0]];
            checkNvrtc(JNvrtc.nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN");
            return cubin;
        } finally {
            JNvrtc.nvrtcDestroyProgram(program);
        }
    }

    private static void checkNvrtc(int r, String call) {
        if (r != nvrtcResult.NVRTC_SUCCESS) {
            throw new CudaException(call + ": " + nvrtcResult.stringFor(r));
        }
    }
}
