package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.BatchNormOperands;
import dev.kiln.spi.Storage;

import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA backend's batch normalization through cuDNN (spatial mode, the input seen as
 * {@code [N, C, prod(rest), 1]}): dense copies of strided operands, ones and zeros for an absent
 * weight and bias, running statistics copied back when they were strided. Answers false, having
 * done nothing, when cuDNN cannot take the problem (not loaded, a dtype other than
 * float32/float64, sizes past {@code int}, no positive eps), and the backend then runs the SPI's
 * composition of Kiln kernels.
 */
final class CudnnBatchNorm {

    /**
     * The eps given to cuDNN's backward, which uses it only to recompute statistics that are not
     * passed; the saved ones always are. cuDNN's historical minimum (CUDNN_BN_MIN_EPSILON).
     */
    private static final double BACKWARD_EPS = 1e-5;

    private final CudaBackend backend;
    private final Cudnn cudnn;
    private final Cudnn.BatchNorm problem;
    private final List<CudaStorage> temps = new ArrayList<>();

    private CudnnBatchNorm(CudaBackend backend, Cudnn cudnn, Cudnn.BatchNorm problem) {
        this.backend = backend;
        this.cudnn = cudnn;
        this.problem = problem;
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
        return new CudnnBatchNorm(backend, cudnn, new Cudnn.BatchNorm((int) n, (int) c, (int) spatial, dtype == DType.FLOAT64, eps));
    }

    static boolean training(CudaBackend backend, Storage x, Layout xl, BatchNormOperands p, double momentum, double eps,
                            Storage out, Layout outLayout, Storage saveMean, Storage saveInvstd) {
        CudnnBatchNorm call = of(backend, x, xl, eps);
        if (call == null) {
            return false;
        }
        try {
            Dense y = call.output(out, outLayout);
            Dense rm = p.hasRunningStats() ? call.input(p.runningMean(), p.runningMeanLayout()) : null;
            Dense rv = p.hasRunningStats() ? call.input(p.runningVar(), p.runningVarLayout()) : null;
            call.cudnn.batchNormTraining(call.device(), call.problem, call.input(x, xl).address, y.address,
                    call.scale(p).address, call.bias(p).address, momentum, rm == null ? 0 : rm.address,
                    rv == null ? 0 : rv.address, ((CudaStorage) saveMean).address(), ((CudaStorage) saveInvstd).address());
            y.writeBack();
            if (rm != null) {
                rm.writeBack();
                rv.writeBack();
            }
            return true;
        } finally {
            call.free();
        }
    }

    static boolean inference(CudaBackend backend, Storage x, Layout xl, BatchNormOperands p, double eps, Storage out,
                             Layout outLayout) {
        CudnnBatchNorm call = of(backend, x, xl, eps);
        if (call == null) {
            return false;
        }
        try {
            Dense y = call.output(out, outLayout);
            call.cudnn.batchNormInference(call.device(), call.problem, call.input(x, xl).address, y.address,
                    call.scale(p).address, call.bias(p).address, call.input(p.runningMean(), p.runningMeanLayout()).address,
                    call.input(p.runningVar(), p.runningVarLayout()).address);
            y.writeBack();
            return true;
        } finally {
            call.free();
        }
    }

    static boolean backward(CudaBackend backend, Storage grad, Layout gradLayout, Storage x, Layout xl, Storage weight,
                            Layout weightLayout, Storage saveMean, Storage saveInvstd, Storage dx, Layout dxLayout,
                            Storage dWeight, Storage dBias) {
        CudnnBatchNorm call = of(backend, x, xl, BACKWARD_EPS);
        if (call == null) {
            return false;
        }
        try {
            Layout perChannel = Layout.contiguous(xl.size(1));
            Dense g = call.input(grad, gradLayout);
            Dense d = dx != null ? call.output(dx, dxLayout) : call.scratch(xl.numel());
            Dense dw = dWeight != null ? call.output(dWeight, perChannel) : call.scratch(xl.size(1));
            Dense db = dBias != null ? call.output(dBias, perChannel) : call.scratch(xl.size(1));
            Dense w = weight != null ? call.input(weight, weightLayout) : call.filled(1);
            call.cudnn.batchNormBackward(call.device(), call.problem, call.input(x, xl).address, g.address, d.address, w.address,
                    dw.address, db.address, ((CudaStorage) saveMean).address(), ((CudaStorage) saveInvstd).address());
            d.writeBack();
            return true;
        } finally {
            call.free();
        }
    }

    /** A dense operand: the storage itself, or a contiguous copy written back to {@code storage} by {@link #writeBack}. */
    private final class Dense {
        final long address;
        final CudaStorage copy;
        final Storage storage;
        final Layout layout;

        Dense(long address, CudaStorage copy, Storage storage, Layout layout) {
            this.address = address;
            this.copy = copy;
            this.storage = storage;
            this.layout = layout;
        }

        void writeBack() {
            if (copy != null && storage != null) {
                backend.copy(copy, Layout.contiguous(layout.shape()), storage, layout);
            }
        }
    }

    private Dense input(Storage s, Layout l) {
        Dense d = output(s, l);
        if (d.copy != null) {
            backend.copy(s, l, d.copy, Layout.contiguous(l.shape()));
        }
        return d;
    }

    private Dense output(Storage s, Layout l) {
        if (l.isContiguous()) {
            return new Dense(((CudaStorage) s).address(l.offset()), null, s, l);
        }
        CudaStorage copy = scratchStorage(l.numel());
        return new Dense(copy.address(), copy, s, l);
    }

    private Dense scratch(long numel) {
        return new Dense(scratchStorage(numel).address(), null, null, null);
    }

    private Dense filled(double value) {
        CudaStorage s = scratchStorage(problem.c());
        backend.fill(s, Layout.contiguous(problem.c()), value);
        return new Dense(s.address(), null, null, null);
    }

    private Dense scale(BatchNormOperands p) {
        return p.weight() != null ? input(p.weight(), p.weightLayout()) : filled(1);
    }

    private Dense bias(BatchNormOperands p) {
        return p.bias() != null ? input(p.bias(), p.biasLayout()) : filled(0);
    }

    private CudaStorage scratchStorage(long numel) {
        CudaStorage s = backend.allocate(problem.doublePrecision() ? DType.FLOAT64 : DType.FLOAT32, numel);
        temps.add(s);
        return s;
    }

    private int device() {
        return backend.device().index();
    }

    private void free() {
        for (CudaStorage t : temps) {
            t.free();
        }
    }
}
