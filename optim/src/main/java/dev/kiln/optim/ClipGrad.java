package dev.kiln.optim;

import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient clipping, the counterparts of {@code torch.nn.utils.clip_grad_norm_} and
 * {@code clip_grad_value_} (PyTorch 1.13). Both change the gradients in place, run with Tensor
 * operations on the gradients' device, and skip tensors without a gradient.
 */
public final class ClipGrad {

    private ClipGrad() {
    }

    /** {@link #clipGradNorm(Iterable, double, double)} with the 2-norm. */
    public static Tensor clipGradNorm(Iterable<Tensor> params, double maxNorm) {
        return clipGradNorm(params, maxNorm, 2.0, false);
    }

    /** {@link #clipGradNorm(Iterable, double, double, boolean)} without the non-finite check. */
    public static Tensor clipGradNorm(Iterable<Tensor> params, double maxNorm, double normType) {
        return clipGradNorm(params, maxNorm, normType, false);
    }

    /**
     * Scales all gradients together so that their total norm is at most {@code maxNorm}.
     *
     * <p>The total norm is the {@code normType}-norm of the vector of every gradient's
     * {@code normType}-norm, i.e. the norm of all gradients concatenated; {@code normType} is a
     * positive number or {@link Double#POSITIVE_INFINITY} (the largest absolute value). Every
     * gradient is multiplied by {@code min(1, maxNorm / (total + 1e-6))}.
     *
     * @param errorIfNonfinite throw when the total norm is NaN or infinite (the gradients are then
     *                         left unchanged)
     * @return the total norm before clipping, a 0-dim tensor on the first gradient's device (0 when
     *         no tensor has a gradient)
     */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public static Tensor clipGradNorm(Iterable<Tensor> params, double maxNorm, double normType, boolean errorIfNonfinite) {
        if (!(normType > 0)) {
            throw new IllegalArgumentException("clipGradNorm: normType must be positive or infinity, got " + normType);
        }
        if (Double.isNaN(maxNorm)) {
            throw new IllegalArgumentException("clipGradNorm: maxNorm is NaN");
        }
        List<Tensor> grads = grads(params);
        if (grads.isEmpty()) {
            return Tensor.scalar(0);
        }
        try (GradScope s = Kiln.noGrad()) {
            var device = grads.get(0).device();
            List<Tensor> norms = new ArrayList<>(grads.size());
            for (Tensor g : grads) {
                norms.add(norm(g.detach(), normType).to(device));
            }
            Tensor total = norms.size() == 1 ? norms.get(0) : norm(Tensor.stack(norms, 0), normType);
            if (errorIfNonfinite) {
                double t = total.item();
                if (!Double.isFinite(t)) {
                    throw new IllegalStateException("clipGradNorm: the total norm of order " + normType + " of the gradients is "
                            + t + "; set errorIfNonfinite to false to clip anyway");
                }
            }
            // The coefficient stays a tensor so no value leaves the device.
            Tensor coef = Tensor.scalar(maxNorm, total.dtype(), total.device()).div(total.add(1e-6)).clampMax(1.0);
            for (Tensor g : grads) {
                g.mul_(coef.to(g.device()).to(g.dtype()));
            }
            return total;
        }
    }

    /** Clamps every gradient element to {@code [-clipValue, clipValue]}. */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public static void clipGradValue(Iterable<Tensor> params, double clipValue) {
        if (!(clipValue >= 0)) {
            throw new IllegalArgumentException("clipGradValue: clipValue must be >= 0, got " + clipValue);
        }
        try (GradScope s = Kiln.noGrad()) {
            for (Tensor g : grads(params)) {
                g.clamp_(-clipValue, clipValue);
            }
        }
    }

    private static List<Tensor> grads(Iterable<Tensor> params) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : params) {
            if (p.grad() != null) {
                out.add(p.grad());
            }
        }
        return out;
    }

    private static Tensor norm(Tensor t, double p) {
        if (Double.isInfinite(p)) {
            return t.abs().max();
        }
        if (p == 1) {
            return t.abs().sum();
        }
        if (p == 2) {
            return t.mul(t).sum().sqrt();
        }
        return t.abs().pow(p).sum().pow(1 / p);
    }
}
