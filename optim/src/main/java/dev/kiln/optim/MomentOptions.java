package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options that every parameter group of a moment-based optimizer holds ({@code lr},
 * {@code betas}, {@code eps}, {@code weight_decay}, {@code maximize}), read once per step with
 * their types; the optimizers built with a {@link MomentsBuilder} read their group this way and
 * read only their own extra options by name; {@link #defaults} gives those options' defaults.
 * ({@link Optimizer#validate} checks them.)
 *
 * @param lr          the learning rate
 * @param beta1       the first-moment decay, {@code betas[0]}
 * @param beta2       the second-moment decay, {@code betas[1]}
 * @param eps         the denominator term
 * @param weightDecay the weight decay
 * @param maximize    whether the gradient is negated first
 */
record MomentOptions(double lr, double beta1, double beta2, double eps, double weightDecay, boolean maximize) {

    /** Reads the shared options of {@code group}; throws {@link IllegalStateException} when one is missing. */
    static MomentOptions of(ParamGroup group) {
        double[] betas = group.getDoubles("betas");
        return new MomentOptions(group.lr(), betas[0], betas[1], group.getDouble("eps"), group.getDouble("weight_decay"),
                group.getBoolean("maximize"));
    }

    /**
     * The shared defaults, in PyTorch's key order: {@code lr}, {@code betas} (0.9, 0.999),
     * {@code eps} 1e-8, {@code weight_decay}. The map is mutable: the optimizer appends its own
     * keys and {@code maximize}, so that its options keep PyTorch's order.
     */
    static Map<String, Object> defaults(double lr, double weightDecay) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("betas", List.of(0.9, 0.999));
        d.put("eps", 1e-8);
        d.put("weight_decay", weightDecay);
        return d;
    }

    /** {@code g + weight_decay * p} (an L2 penalty in the gradient), or {@code g} itself when there is no decay. */
    Tensor withWeightDecay(Tensor g, Tensor p) {
        return Optimizer.withWeightDecay(g, p, weightDecay);
    }
}
