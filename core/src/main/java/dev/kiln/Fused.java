package dev.kiln;

import dev.kiln.spi.UnaryOp;

import java.util.Arrays;

/**
 * Fused kernels for library code (autograd rules, optimizers): each is one backend call, one pass
 * over memory on backends that override it ({@link dev.kiln.spi.Backend#activationBackward},
 * {@link dev.kiln.spi.Backend#adamStep}), with no temporaries. They give the results of the
 * Tensor-op compositions they replace, rounding included.
 */
public final class Fused {

    private Fused() {
    }

    /**
     * The gradient of {@code relu}, {@code sigmoid} or {@code tanh} from the gradient of its output
     * and the output itself: {@code grad * sign(out)}, {@code grad * out * (1 - out)},
     * {@code grad * (1 - out^2)}. When grad mode is on and an argument requires grad (a backward
     * that is itself differentiated) it composes Tensor ops, so the result is recorded.
     */
    public static Tensor activationBackward(UnaryOp op, Tensor grad, Tensor out) {
        boolean fusable = !(GradMode.isEnabled() && (grad.requiresGrad() || out.requiresGrad()))
                && grad.dtype() == out.dtype() && grad.dtype().isFloatingPoint()
                && grad.device().equals(out.device()) && Arrays.equals(grad.shape(), out.shape());
        if (!fusable) {
            return switch (op) {
                case RELU -> grad.mul(out.sign());
                case SIGMOID -> grad.mul(out).mul(out.rsub(1.0));
                case TANH -> grad.mul(out.square().rsub(1.0));
                default -> throw new UnsupportedOperationException("activationBackward: no fused gradient for " + op.kernelName());
            };
        }
        Tensor dst = Tensor.empty(out.shape(), out.dtype(), out.device());
        out.backend().activationBackward(op, grad.storage(), grad.layout(), out.storage(), out.layout(), dst.storage(),
                dst.layout());
        return dst;
    }

    /**
     * The gradients of {@link Tensor#batchNorm} with batch statistics, from the gradient of its
     * output, its input {@code x}, {@code weight} (null when absent) and the saved batch
     * {@code mean} and {@code invstd}: {@code {dx, dWeight, dBias}}, each computed only where
     * {@code need} says (null otherwise). One backend call; when grad mode is on and an argument
     * requires grad (a backward that is itself differentiated) it composes Tensor ops from
     * {@code x} and {@code eps} instead, so that the statistics' dependence on x is recorded too.
     */
    public static Tensor[] batchNormBackward(Tensor grad, Tensor x, Tensor weight, Tensor mean, Tensor invstd, double eps,
                                             boolean[] need) {
        boolean recorded = GradMode.isEnabled()
                && (grad.requiresGrad() || x.requiresGrad() || weight != null && weight.requiresGrad());
        if (recorded) {
            return batchNormBackwardRecorded(grad, x, weight, eps, need);
        }
        long c = x.size(1);
        Tensor dx = need[0] ? Tensor.empty(x.shape(), x.dtype(), x.device()) : null;
        Tensor dWeight = need[1] ? Tensor.empty(new long[] {c}, x.dtype(), x.device()) : null;
        Tensor dBias = need[2] ? Tensor.empty(new long[] {c}, x.dtype(), x.device()) : null;
        x.backend().batchNormBackward(grad.storage(), grad.layout(), x.storage(), x.layout(),
                weight == null ? null : weight.storage(), weight == null ? null : weight.layout(), mean.storage(),
                invstd.storage(), dx == null ? null : dx.storage(), dx == null ? null : dx.layout(),
                dWeight == null ? null : dWeight.storage(), dBias == null ? null : dBias.storage());
        return new Tensor[] {dx, dWeight, dBias};
    }

    private static Tensor[] batchNormBackwardRecorded(Tensor grad, Tensor x, Tensor weight, double eps, boolean[] need) {
        int[] dims = Shapes.allDimsBut(x.dim(), 1);
        double count = (double) x.numel() / x.size(1);
        Tensor centered = x.sub(x.mean(dims, true));
        Tensor invstd = centered.square().mean(dims, true).add(eps).rsqrt();
        Tensor xhat = centered.mul(invstd);
        Tensor sumG = grad.sum(dims, true);
        Tensor sumGx = grad.mul(xhat).sum(dims, true);
        Tensor dx = null;
        if (need[0]) {
            Tensor scale = weight == null ? invstd : invstd.mul(weight.view(Shapes.along(x.dim(), 1, x.size(1))));
            dx = grad.sub(sumG.div(count)).sub(xhat.mul(sumGx.div(count))).mul(scale);
        }
        return new Tensor[] {dx, need[1] ? sumGx.reshape(x.size(1)) : null, need[2] ? sumG.reshape(x.size(1)) : null};
    }

    /**
     * One Adam/AdamW step in place on {@code param}, {@code expAvg} and {@code expAvgSq} from
     * {@code grad} (see {@link dev.kiln.spi.Backend#adamStep} for the arithmetic); {@code step} is
     * the 1-based step count that the bias corrections use. Nothing is recorded for autograd.
     *
     * @throws IllegalArgumentException when the four tensors differ in shape, dtype or device, or are not floating point
     */
    public static void adamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double lr, double beta1,
                                double beta2, double eps, double weightDecay, double step, boolean decoupled,
                                boolean maximize) {
        for (Tensor t : new Tensor[] {grad, expAvg, expAvgSq}) {
            if (!Arrays.equals(t.shape(), param.shape()) || t.dtype() != param.dtype() || !t.device().equals(param.device())) {
                throw new IllegalArgumentException("adamStep: expected tensors like the parameter (" + param.dtype() + " "
                        + Shapes.str(param.shape()) + " on " + param.device() + "), got " + t.dtype() + " "
                        + Shapes.str(t.shape()) + " on " + t.device());
            }
        }
        if (!param.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("adamStep: expected floating-point tensors, got " + param.dtype());
        }
        param.backend().adamStep(param.storage(), param.layout(), grad.storage(), grad.layout(), expAvg.storage(),
                expAvg.layout(), expAvgSq.storage(), expAvgSq.layout(), lr, beta1, beta2, eps, weightDecay,
                1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step), decoupled, maximize);
        param.bumpVersion();
        expAvg.bumpVersion();
        expAvgSq.bumpVersion();
    }
}
