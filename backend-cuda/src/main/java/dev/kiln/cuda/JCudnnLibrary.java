package dev.kiln.cuda;

import dev.kiln.spi.ConvGeometry;
import jcuda.JCudaVersion;
import jcuda.LibUtils;
import jcuda.Pointer;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnBatchNormMode;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnDeterminism;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnStatus;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;
import jcuda.runtime.cudaStream_t;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * {@link Cudnn} over JCudnn: the only class of Kiln that calls JCudnn. One cuDNN handle per device,
 * bound to the device's stream, created on first use.
 *
 * <p>JCudnn 11.7.0, the newest on Maven Central, loads its natives under the name of the JCuda
 * version on the class path ({@code JCudnn-12.6.0-...}), which no release ships. {@link #load}
 * therefore puts JCudnn 11.7.0's own natives, from the {@code jcudnn-natives} jar, where JCuda's
 * loader looks for an extracted copy (the temporary directory, under the name it asks for), and
 * keeps that copy identical to the jar's. Those natives need cuDNN 8 ({@code libcudnn.so.8}).
 */
final class JCudnnLibrary implements Cudnn {

    /** The cuDNN major version JCudnn 11.7.0's natives are built against. */
    static final int CUDNN_MAJOR = 8;

    /** Calls of {@link #convolution} and of the batch-norm functions that ran on cuDNN, for tests that check which path ran. */
    static final AtomicLong CALLS = new AtomicLong();

    private final String version;
    private final IntFunction<cudaStream_t> streams;
    private final Map<Integer, cudnnHandle> handles = new ConcurrentHashMap<>();

    private JCudnnLibrary(String version, IntFunction<cudaStream_t> streams) {
        this.version = version;
        this.streams = streams;
    }

    /**
     * Loads JCudnn and cuDNN. Never throws: every failure becomes the status's reason.
     *
     * @param streams the stream of a device; calling it also makes the device's context current
     */
    static Status load(IntFunction<cudaStream_t> streams) {
        try {
            Class.forName("jcuda.jcudnn.JCudnn", false, JCudnnLibrary.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return Status.absent("JCudnn is not on the class path (add org.jcuda:jcudnn)");
        }
        try {
            String problem = placeNatives();
            if (problem != null) {
                return Status.absent(problem);
            }
            JCudnn.setExceptionsEnabled(false);
            long v = JCudnn.cudnnGetVersion();
            String version = v / 1000 + "." + (v % 1000) / 100 + "." + v % 100;
            if (v / 1000 != CUDNN_MAJOR) {
                return Status.absent("found cuDNN " + version + " but JCudnn " + jcudnnVersion() + " needs cuDNN " + CUDNN_MAJOR
                        + " (libcudnn.so.8)");
            }
            return new Status(new JCudnnLibrary(version, streams), null);
        } catch (LinkageError e) {
            return Status.absent("cuDNN 8 could not be loaded (install cuDNN 8 for CUDA 12 so that libcudnn.so.8 is on the "
                    + "library path): " + JCudaDriver.concise(e));
        } catch (RuntimeException e) {
            return Status.absent("loading JCudnn failed: " + e);
        }
    }

    /** JCudnn's version from its jar's Maven metadata, {@code 11.7.0} if that is missing. */
    static String jcudnnVersion() {
        try (InputStream in = JCudnn.class.getResourceAsStream("/META-INF/maven/org.jcuda/jcudnn/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "11.7.0");
            }
        } catch (IOException e) {
            // fall through
        }
        return "11.7.0";
    }

    /**
     * Makes the natives JCudnn will ask for available; returns why not, or null. See the class comment.
     */
    private static String placeNatives() {
        String own = LibUtils.createPlatformLibraryName("JCudnn-" + jcudnnVersion());
        String asked = LibUtils.createPlatformLibraryName("JCudnn-" + JCudaVersion.get());
        if (own.equals(asked)) {
            return null;
        }
        String resource = "/lib/" + LibUtils.createLibraryFileName(own);
        byte[] bytes;
        try (InputStream in = JCudnnLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "JCudnn's natives for this platform (" + resource.substring(1) + ", in org.jcuda:jcudnn-natives) are "
                        + "not on the class path";
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            return "reading JCudnn's natives " + resource + " failed: " + e;
        }
        Path target = Path.of(System.getProperty("java.io.tmpdir"), LibUtils.createLibraryFileName(asked));
        try {
            if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), bytes)) {
                return null;
            }
            Path tmp = Files.createTempFile(target.getParent(), "kiln-jcudnn", ".so");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return null;
        } catch (IOException | UncheckedIOException e) {
            return "could not place JCudnn's natives at " + target + ": " + e;
        }
    }

    @Override
    public String version() {
        return version;
    }

    private cudnnHandle handle(int device) {
        cudaStream_t stream = streams.apply(device);
        return handles.computeIfAbsent(device, d -> {
            cudnnHandle h = new cudnnHandle();
            check(JCudnn.cudnnCreate(h), "cudnnCreate");
            check(JCudnn.cudnnSetStream(h, stream), "cudnnSetStream");
            return h;
        });
    }

    /** A pointer object at a raw device address. */
    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            super(address);
        }
    }

    @Override
    public boolean convolution(int device, Pass pass, boolean doublePrecision, long x, long w, long y, int n, int c, int o,
                               ConvGeometry g, int groups, Workspace workspace) {
        cudnnHandle h = handle(device);
        int type = dataType(doublePrecision);
        cudnnTensorDescriptor xd = new cudnnTensorDescriptor();
        cudnnTensorDescriptor yd = new cudnnTensorDescriptor();
        cudnnFilterDescriptor wd = new cudnnFilterDescriptor();
        cudnnConvolutionDescriptor cd = new cudnnConvolutionDescriptor();
        check(JCudnn.cudnnCreateTensorDescriptor(xd), "cudnnCreateTensorDescriptor");
        check(JCudnn.cudnnCreateTensorDescriptor(yd), "cudnnCreateTensorDescriptor");
        check(JCudnn.cudnnCreateFilterDescriptor(wd), "cudnnCreateFilterDescriptor");
        check(JCudnn.cudnnCreateConvolutionDescriptor(cd), "cudnnCreateConvolutionDescriptor");
        try {
            String what = pass + " of x [" + n + ", " + c + ", " + g.h() + ", " + g.w() + "], w [" + o + ", " + c / groups + ", "
                    + g.kh() + ", " + g.kw() + "], " + g + ", groups=" + groups;
            int nchw = cudnnTensorFormat.CUDNN_TENSOR_NCHW;
            check(JCudnn.cudnnSetTensor4dDescriptor(xd, nchw, type, n, c, (int) g.h(), (int) g.w()), "cudnnSetTensor4dDescriptor", what);
            check(JCudnn.cudnnSetTensor4dDescriptor(yd, nchw, type, n, o, (int) g.outH(), (int) g.outW()),
                    "cudnnSetTensor4dDescriptor", what);
            check(JCudnn.cudnnSetFilter4dDescriptor(wd, type, nchw, o, c / groups, g.kh(), g.kw()), "cudnnSetFilter4dDescriptor", what);
            check(JCudnn.cudnnSetConvolution2dDescriptor(cd, g.ph(), g.pw(), g.sh(), g.sw(), g.dh(), g.dw(),
                    cudnnConvolutionMode.CUDNN_CROSS_CORRELATION, type), "cudnnSetConvolution2dDescriptor", what);
            check(JCudnn.cudnnSetConvolutionGroupCount(cd, groups), "cudnnSetConvolutionGroupCount", what);
            // Plain FMA math: no TF32 on tensor cores, whose 10-bit mantissas would break parity with the CPU.
            check(JCudnn.cudnnSetConvolutionMathType(cd, cudnnMathType.CUDNN_FMA_MATH), "cudnnSetConvolutionMathType", what);
            Pointer one = scalar(doublePrecision, 1);
            Pointer zero = scalar(doublePrecision, 0);
            Pointer px = new RawPointer(x);
            Pointer pw = new RawPointer(w);
            Pointer py = new RawPointer(y);
            int[] count = new int[1];
            long[] bytes = new long[1];
            int algo = -1;
            switch (pass) {
                case FORWARD -> {
                    cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[8];
                    Arrays.setAll(perf, i -> new cudnnConvolutionFwdAlgoPerf());
                    check(JCudnn.cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, perf.length, count, perf),
                            "cudnnGetConvolutionForwardAlgorithm_v7", what);
                    for (int i = 0; i < count[0] && algo < 0; i++) {
                        algo = usable(perf[i].status, perf[i].determinism, perf[i].mathType) ? perf[i].algo : -1;
                    }
                    if (algo < 0) {
                        return false;
                    }
                    check(JCudnn.cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, algo, bytes),
                            "cudnnGetConvolutionForwardWorkspaceSize", what);
                    long ws = workspace.allocate(bytes[0]);
                    check(JCudnn.cudnnConvolutionForward(h, one, xd, px, wd, pw, cd, algo, new RawPointer(ws), bytes[0], zero, yd, py),
                            "cudnnConvolutionForward", what);
                }
                case BACKWARD_DATA -> {
                    cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[8];
                    Arrays.setAll(perf, i -> new cudnnConvolutionBwdDataAlgoPerf());
                    check(JCudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd, yd, cd, xd, perf.length, count, perf),
                            "cudnnGetConvolutionBackwardDataAlgorithm_v7", what);
                    for (int i = 0; i < count[0] && algo < 0; i++) {
                        algo = usable(perf[i].status, perf[i].determinism, perf[i].mathType) ? perf[i].algo : -1;
                    }
                    if (algo < 0) {
                        return false;
                    }
                    check(JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, yd, cd, xd, algo, bytes),
                            "cudnnGetConvolutionBackwardDataWorkspaceSize", what);
                    long ws = workspace.allocate(bytes[0]);
                    check(JCudnn.cudnnConvolutionBackwardData(h, one, wd, pw, yd, py, cd, algo, new RawPointer(ws), bytes[0], zero, xd,
                            px), "cudnnConvolutionBackwardData", what);
                }
                case BACKWARD_FILTER -> {
                    cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[8];
                    Arrays.setAll(perf, i -> new cudnnConvolutionBwdFilterAlgoPerf());
                    check(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd, yd, cd, wd, perf.length, count, perf),
                            "cudnnGetConvolutionBackwardFilterAlgorithm_v7", what);
                    for (int i = 0; i < count[0] && algo < 0; i++) {
                        algo = usable(perf[i].status, perf[i].determinism, perf[i].mathType) ? perf[i].algo : -1;
                    }
                    if (algo < 0) {
                        return false;
                    }
                    check(JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cd, wd, algo, bytes),
                            "cudnnGetConvolutionBackwardFilterWorkspaceSize", what);
                    long ws = workspace.allocate(bytes[0]);
                    check(JCudnn.cudnnConvolutionBackwardFilter(h, one, xd, px, yd, py, cd, algo, new RawPointer(ws), bytes[0], zero,
                            wd, pw), "cudnnConvolutionBackwardFilter", what);
                }
            }
            CALLS.incrementAndGet();
            return true;
        } finally {
            JCudnn.cudnnDestroyConvolutionDescriptor(cd);
            JCudnn.cudnnDestroyFilterDescriptor(wd);
            JCudnn.cudnnDestroyTensorDescriptor(yd);
            JCudnn.cudnnDestroyTensorDescriptor(xd);
        }
    }

    @Override
    public void batchNormTraining(int device, BatchNorm p, long x, long y, long scale, long bias, double momentum,
                                  long runningMean, long runningVar, long saveMean, long saveInvstd) {
        batchNorm(p, "cudnnBatchNormalizationForwardTraining", (d, one, zero) -> JCudnn.cudnnBatchNormalizationForwardTraining(
                handle(device), cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero, d[0], new RawPointer(x), d[0],
                new RawPointer(y), d[1], new RawPointer(scale), new RawPointer(bias), momentum, new RawPointer(runningMean),
                new RawPointer(runningVar), p.eps(), new RawPointer(saveMean), new RawPointer(saveInvstd)));
    }

    @Override
    public void batchNormInference(int device, BatchNorm p, long x, long y, long scale, long bias, long mean, long var) {
        batchNorm(p, "cudnnBatchNormalizationForwardInference", (d, one, zero) -> JCudnn.cudnnBatchNormalizationForwardInference(
                handle(device), cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero, d[0], new RawPointer(x), d[0],
                new RawPointer(y), d[1], new RawPointer(scale), new RawPointer(bias), new RawPointer(mean), new RawPointer(var),
                p.eps()));
    }

    @Override
    public void batchNormBackward(int device, BatchNorm p, long x, long dy, long dx, long scale, long dScale, long dBias,
                                  long saveMean, long saveInvstd) {
        batchNorm(p, "cudnnBatchNormalizationBackward", (d, one, zero) -> JCudnn.cudnnBatchNormalizationBackward(
                handle(device), cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero, one, zero, d[0], new RawPointer(x), d[0],
                new RawPointer(dy), d[0], new RawPointer(dx), d[1], new RawPointer(scale), new RawPointer(dScale),
                new RawPointer(dBias), p.eps(), new RawPointer(saveMean), new RawPointer(saveInvstd)));
    }

    /** A batch-norm call: {@code descriptors[0]} is the data's, {@code [1]} the per-channel operands'. */
    private interface BatchNormCall {
        int run(cudnnTensorDescriptor[] descriptors, Pointer one, Pointer zero);
    }

    private static void batchNorm(BatchNorm p, String call, BatchNormCall body) {
        int type = dataType(p.doublePrecision());
        cudnnTensorDescriptor[] d = {new cudnnTensorDescriptor(), new cudnnTensorDescriptor()};
        check(JCudnn.cudnnCreateTensorDescriptor(d[0]), "cudnnCreateTensorDescriptor");
        check(JCudnn.cudnnCreateTensorDescriptor(d[1]), "cudnnCreateTensorDescriptor");
        try {
            String what = "x [" + p.n() + ", " + p.c() + ", " + p.spatial() + ", 1], eps=" + p.eps();
            check(JCudnn.cudnnSetTensor4dDescriptor(d[0], cudnnTensorFormat.CUDNN_TENSOR_NCHW, type, p.n(), p.c(), p.spatial(), 1),
                    "cudnnSetTensor4dDescriptor", what);
            check(JCudnn.cudnnDeriveBNTensorDescriptor(d[1], d[0], cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL),
                    "cudnnDeriveBNTensorDescriptor", what);
            check(body.run(d, scalar(p.doublePrecision(), 1), scalar(p.doublePrecision(), 0)), call, what);
            CALLS.incrementAndGet();
        } finally {
            JCudnn.cudnnDestroyTensorDescriptor(d[1]);
            JCudnn.cudnnDestroyTensorDescriptor(d[0]);
        }
    }

    private static int dataType(boolean doublePrecision) {
        return doublePrecision ? cudnnDataType.CUDNN_DATA_DOUBLE : cudnnDataType.CUDNN_DATA_FLOAT;
    }

    /** A host scalar of the operands' type, as cuDNN's alpha and beta arguments want it. */
    private static Pointer scalar(boolean doublePrecision, double value) {
        return doublePrecision ? Pointer.to(new double[] {value}) : Pointer.to(new float[] {(float) value});
    }

    /** A heuristic's result Kiln takes: it ran, is deterministic and does not use tensor-core math. */
    private static boolean usable(int status, int determinism, int mathType) {
        return status == cudnnStatus.CUDNN_STATUS_SUCCESS && determinism == cudnnDeterminism.CUDNN_DETERMINISTIC
                && mathType != cudnnMathType.CUDNN_TENSOR_OP_MATH && mathType != cudnnMathType.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    }

    private static void check(int status, String call) {
        check(status, call, null);
    }

    private static void check(int status, String call, String what) {
        if (status != cudnnStatus.CUDNN_STATUS_SUCCESS) {
            throw new CudaException(call + (what == null ? "" : " (" + what + ")") + ": " + cudnnStatus.stringFor(status));
        }
    }
}
