package dev.kiln.spi;

import dev.kiln.Layout;
import dev.kiln.Shapes;

/**
 * The batch-normalization defaults of {@link Backend}, composed of its primitives: per-channel
 * reductions over every dim but 1 and elementwise ops on {@code [C]} operands broadcast along
 * the other dims. Each operation is rounded to the input's dtype in the order of Kiln's
 * Tensor-op composition ({@code nn.F.batchNorm} before the primitive existed), so both agree.
 */
final class BatchNormDefaults {

    private final Backend b;
    private final Layout x;
    private final Layout dense;
    private final Layout channels;
    private final int[] dims;
    private final long count;
    private final long c;

    private BatchNormDefaults(Backend b, Layout x) {
        this.b = b;
        this.x = x;
        this.dense = Layout.contiguous(x.shape());
        this.c = x.size(1);
        this.dims = Shapes.allDimsBut(x.rank(), 1);
        this.channels = Layout.contiguous(Shapes.along(x.rank(), 1, c));
        this.count = x.numel() / Math.max(c, 1);
    }

    static void training(Backend b, Storage xs, Layout xl, BatchNormOperands p, double momentum, double eps,
                         Storage out, Layout outLayout, Storage saveMean, Storage saveInvstd) {
        BatchNormDefaults d = new BatchNormDefaults(b, xl);
        Storage centered = b.allocate(xs.dtype(), xl.numel());
        Storage t = b.allocate(xs.dtype(), xl.numel());
        Storage var = b.allocate(xs.dtype(), d.c);
        try {
            d.mean(xs, xl, saveMean);
            b.binary(BinaryOp.SUB, xs, xl, saveMean, d.perChannel(), centered, d.dense);
            b.unary(UnaryOp.SQUARE, 0, 0, centered, d.dense, t, d.dense);
            d.mean(t, d.dense, var);
            d.scalarOp(BinaryOp.ADD, var, eps, saveInvstd);
            b.unary(UnaryOp.RSQRT, 0, 0, saveInvstd, d.vector(), saveInvstd, d.vector());
            b.binary(BinaryOp.MUL, centered, d.dense, saveInvstd, d.perChannel(), t, d.dense);
            d.affine(t, p, out, outLayout);
            if (p.hasRunningStats()) {
                d.runningUpdate(p.runningMean(), p.runningMeanLayout(), saveMean, 1.0, momentum);
                d.runningUpdate(p.runningVar(), p.runningVarLayout(), var, (double) d.count / (d.count - 1), momentum);
            }
        } finally {
            var.free();
            t.free();
            centered.free();
        }
    }

    static void inference(Backend b, Storage xs, Layout xl, BatchNormOperands p, double eps, Storage out, Layout outLayout) {
        BatchNormDefaults d = new BatchNormDefaults(b, xl);
        Storage scale = b.allocate(xs.dtype(), d.c);
        Storage shift = b.allocate(xs.dtype(), d.c);
        Storage t = b.allocate(xs.dtype(), xl.numel());
        try {
            // Folded into one scale and one shift per channel: x * scale + shift.
            d.scalarOp(BinaryOp.ADD, p.runningVar(), p.runningVarLayout(), eps, scale);
            b.unary(UnaryOp.RSQRT, 0, 0, scale, d.vector(), scale, d.vector());
            if (p.weight() != null) {
                b.binary(BinaryOp.MUL, scale, d.vector(), p.weight(), p.weightLayout(), scale, d.vector());
            }
            b.binary(BinaryOp.MUL, p.runningMean(), p.runningMeanLayout(), scale, d.vector(), shift, d.vector());
            b.unary(UnaryOp.NEG, 0, 0, shift, d.vector(), shift, d.vector());
            if (p.bias() != null) {
                b.binary(BinaryOp.ADD, shift, d.vector(), p.bias(), p.biasLayout(), shift, d.vector());
            }
            b.binary(BinaryOp.MUL, xs, xl, scale, d.perChannel(), t, d.dense);
            b.binary(BinaryOp.ADD, t, d.dense, shift, d.perChannel(), out, outLayout);
        } finally {
            t.free();
            shift.free();
            scale.free();
        }
    }

    static void backward(Backend b, Storage grad, Layout gradLayout, Storage xs, Layout xl, Storage weight,
                         Layout weightLayout, Storage saveMean, Storage saveInvstd, Storage dx, Layout dxLayout,
                         Storage dWeight, Storage dBias) {
        BatchNormDefaults d = new BatchNormDefaults(b, xl);
        Storage xhat = b.allocate(xs.dtype(), xl.numel());
        Storage t = b.allocate(xs.dtype(), xl.numel());
        Storage sumG = b.allocate(xs.dtype(), d.c);
        Storage sumGx = b.allocate(xs.dtype(), d.c);
        try {
            b.binary(BinaryOp.SUB, xs, xl, saveMean, d.perChannel(), xhat, d.dense);
            b.binary(BinaryOp.MUL, xhat, d.dense, saveInvstd, d.perChannel(), xhat, d.dense);
            b.reduce(ReduceOp.SUM, grad, gradLayout, d.dims, sumG, d.channels);
            b.binary(BinaryOp.MUL, grad, gradLayout, xhat, d.dense, t, d.dense);
            b.reduce(ReduceOp.SUM, t, d.dense, d.dims, sumGx, d.channels);
            if (dBias != null) {
                b.copy(sumG, d.vector(), dBias, d.vector());
            }
            if (dWeight != null) {
                b.copy(sumGx, d.vector(), dWeight, d.vector());
            }
            if (dx == null) {
                return;
            }
            // dx = (grad - sum(grad) / M - xhat * sum(grad * xhat) / M) * invstd * weight
            d.scalarOp(BinaryOp.DIV, sumG, d.count, sumG);
            d.scalarOp(BinaryOp.DIV, sumGx, d.count, sumGx);
            b.binary(BinaryOp.MUL, xhat, d.dense, sumGx, d.perChannel(), t, d.dense);
            b.binary(BinaryOp.SUB, grad, gradLayout, t, d.dense, t, d.dense);
            b.binary(BinaryOp.SUB, t, d.dense, sumG, d.perChannel(), t, d.dense);
            if (weight != null) {
                b.binary(BinaryOp.MUL, saveInvstd, d.vector(), weight, weightLayout, sumG, d.vector());
                b.binary(BinaryOp.MUL, t, d.dense, sumG, d.perChannel(), dx, dxLayout);
            } else {
                b.binary(BinaryOp.MUL, t, d.dense, saveInvstd, d.perChannel(), dx, dxLayout);
            }
        } finally {
            sumGx.free();
            sumG.free();
            t.free();
            xhat.free();
        }
    }

    /** A contiguous {@code [C]} operand. */
    private Layout vector() {
        return Layout.contiguous(c);
    }

    /** A contiguous {@code [C]} operand broadcast along every dim of the input but 1. */
    private Layout perChannel() {
        return perChannel(vector());
    }

    private Layout perChannel(Layout vector) {
        long[] strides = new long[x.rank()];
        strides[1] = vector.stride(0);
        return new Layout(x.shape(), strides, vector.offset());
    }

    /** {@code dst[C] = sum(src over every dim but 1) / count}. */
    private void mean(Storage src, Layout srcLayout, Storage dst) {
        b.reduce(ReduceOp.SUM, src, srcLayout, dims, dst, channels);
        scalarOp(BinaryOp.DIV, dst, count, dst);
    }

    private void scalarOp(BinaryOp op, Storage src, double scalar, Storage dst) {
        scalarOp(op, src, vector(), scalar, dst);
    }

    /** {@code dst[C] = src op scalar}, the scalar rounded to the dtype first (as a Tensor-op composition does). */
    private void scalarOp(BinaryOp op, Storage src, Layout srcLayout, double scalar, Storage dst) {
        Storage s = b.allocate(dst.dtype(), 1);
        try {
            b.fill(s, Layout.contiguous(), scalar);
            b.binary(op, src, srcLayout, s, Layout.contiguous().broadcastTo(new long[] {c}), dst, vector());
        } finally {
            s.free();
        }
    }

    /** {@code t} (normalized, dense) times weight plus bias, into {@code out}. */
    private void affine(Storage t, BatchNormOperands p, Storage out, Layout outLayout) {
        if (p.weight() == null && p.bias() == null) {
            b.copy(t, dense, out, outLayout);
            return;
        }
        if (p.weight() != null) {
            b.binary(BinaryOp.MUL, t, dense, p.weight(), perChannel(p.weightLayout()), p.bias() == null ? out : t,
                    p.bias() == null ? outLayout : dense);
        }
        if (p.bias() != null) {
            b.binary(BinaryOp.ADD, t, dense, p.bias(), perChannel(p.biasLayout()), out, outLayout);
        }
    }

    /** {@code running = running * (1 - momentum) + (stat * correction) * momentum}, in place. */
    private void runningUpdate(Storage running, Layout runningLayout, Storage stat, double correction, double momentum) {
        Storage s = b.allocate(running.dtype(), c);
        Storage r = b.allocate(running.dtype(), c);
        try {
            if (correction != 1.0) {
                scalarOp(BinaryOp.MUL, stat, correction, s);
                scalarOp(BinaryOp.MUL, s, momentum, s);
            } else {
                scalarOp(BinaryOp.MUL, stat, momentum, s);
            }
            scalarOp(BinaryOp.MUL, running, runningLayout, 1 - momentum, r);
            b.binary(BinaryOp.ADD, r, vector(), s, vector(), running, runningLayout);
        } finally {
            r.free();
            s.free();
        }
    }
}
