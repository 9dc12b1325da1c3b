package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.BatchNormOperands;
import dev.kiln.spi.Storage;

/**
 * The CUDA backend's batch normalization through cuDNN (spatial mode, the input seen as
 * {@code [N, C, prod(rest), 1]}): dense copies of strided operands ({@link DenseOperands}), ones
 * and zeros for an absent weight and bias, running statistics copied back when they were
 * strided. Answers false, having done nothing, when cuDNN cannot take the problem (not loaded, a
 * dtype other than float32/float64, sizes past {@code int}, no positive eps), and the backend then
 * runs the SPI's composition of Kiln kernels.
 */
final class CudnnBatchNorm implements AutoCloseable {

    /**
     * The eps given to cuDNN's backward, which uses it only to recompute statistics that are not
     * passed; the saved ones always are. cuDNN's historical minimum (CUDNN_BN_MIN_EPSILON).
     */
    private static final double BACKWARD_EPS = 1e-5;

    private final CudaBackend backend;
    private final Cudnn cudnn;
    private final Cudnn.BatchNorm problem;
    private final DType dtype;
    private final DenseOperands operands;

    private CudnnBatchNorm(CudaBackend backend, Cudnn cudnn, Cudnn.BatchNorm problem, DType dtype) {
        this.backend = backend;
        this.cudnn = cudnn;
        this.problem = problem;
        this.dtype = dtype;
        this.operands = new DenseOperands(backend);
    }

    /** The call for {@code x}, or null when cuDNN cannot take it. */
    private static CudnnBatchNorm of(CudaBackend backend, Storage x, Layout xl, double eps) {
        Cudnn cudnn = backend.driver().cudnn().library();
        DType dtype = x.dtype();
        long n = xl.size(0);
        long c = xl.size(1);
        long spatial = xl.numel() / Math.max(1, n * c);
        if (cudnn == null || dtype != DType.FLOAT32 && dtype != DType.FLOAT64 || xl.numel() == 0
                || xl.numel() > Integer.MAX_VALUE || !(eps > 0)) {
            return null;
        }
        return new CudnnBatchNorm(backend, cudnn, new Cudnn.BatchNorm((int) n, (int) c, (int) spatial, dtype == DType.FLOAT64, eps),
                dtype);
    }

    static boolean training(CudaBackend backend, Storage x, Layout xl, BatchNormOperands p, double momentum, double eps,
                            Storage out, Layout outLayout, Storage saveMean, Storage saveInvstd) {
        CudnnBatchNorm call = of(backend, x, xl, eps);
        if (call == null) {
            return false;
        }
        try (call) {
            DenseOperands.Operand y = call.operands.output(out, outLayout);
            DenseOperands.Operand rm = p.hasRunningStats() ? call.operands.input(p.runningMean(), p.runningMeanLayout()) : null;
            DenseOperands.Operand rv = p.hasRunningStats() ? call.operands.input(p.runningVar(), p.runningVarLayout()) : null;
            call.cudnn.batchNormTraining(call.device(), call.problem, call.operands.input(x, xl).address, y.address,
                    call.scale(p), call.bias(p), momentum, rm == null ? 0 : rm.address, rv == null ? 0 : rv.address,
                    ((CudaStorage) saveMean).address(), ((CudaStorage) saveInvstd).address());
            y.writeBack();
            if (rm != null) {
                rm.writeBack();
                rv.writeBack();
            }
            return true;
        }
    }

    static boolean inference(CudaBackend backend, Storage x, Layout xl, BatchNormOperands p, double eps, Storage out,
                             Layout outLayout) {
        CudnnBatchNorm call = of(backend, x, xl, eps);
        if (call == null) {
            return false;
        }
        try (call) {
            DenseOperands.Operand y = call.operands.output(out, outLayout);
            call.cudnn.batchNormInference(call.device(), call.problem, call.operands.input(x, xl).address, y.address,
                    call.scale(p), call.bias(p), call.operands.input(p.runningMean(), p.runningMeanLayout()).address,
                    call.operands.input(p.runningVar(), p.runningVarLayout()).address);
            y.writeBack();
            return true;
        }
    }

    static boolean backward(CudaBackend backend, Storage grad, Layout gradLayout, Storage x, Layout xl, Storage weight,
                            Layout weightLayout, Storage saveMean, Storage saveInvstd, Storage dx, Layout dxLayout,
                            Storage dWeight, Storage dBias) {
        CudnnBatchNorm call = of(backend, x, xl, BACKWARD_EPS);
        if (call == null) {
            return false;
        }
        try (call) {
            // cuDNN writes all three gradients; the unwanted ones go to scratch memory.
            DenseOperands.Operand d = dx != null ? call.operands.output(dx, dxLayout) : null;
            long dxAt = d != null ? d.address : call.scratch(xl.numel());
            long dWeightAt = dWeight != null ? ((CudaStorage) dWeight).address() : call.scratch(xl.size(1));
            long dBiasAt = dBias != null ? ((CudaStorage) dBias).address() : call.scratch(xl.size(1));
            long weightAt = weight != null ? call.operands.input(weight, weightLayout).address : call.filled(1);
            call.cudnn.batchNormBackward(call.device(), call.problem, call.operands.input(x, xl).address,
                    call.operands.input(grad, gradLayout).address, dxAt, weightAt, dWeightAt, dBiasAt,
                    ((CudaStorage) saveMean).address(), ((CudaStorage) saveInvstd).address());
            if (d != null) {
                d.writeBack();
            }
            return true;
        }
    }

    /** The weight's address, or that of C ones. */
    private long scale(BatchNormOperands p) {
        return p.weight() != null ? operands.input(p.weight(), p.weightLayout()).address : filled(1);
    }

    /** The bias's address, or that of C zeros. */
    private long bias(BatchNormOperands p) {
        return p.bias() != null ? operands.input(p.bias(), p.biasLayout()).address : filled(0);
    }

    private long scratch(long numel) {
        return operands.scratch(dtype, numel).address();
    }

    private long filled(double value) {
        CudaStorage s = operands.scratch(dtype, problem.c());
        backend.fill(s, Layout.contiguous(problem.c()), value);
        return s.address();
    }

    private int device() {
        return backend.device().index();
    }

    @Override
    public void close() {
        operands.close();
    }
}
