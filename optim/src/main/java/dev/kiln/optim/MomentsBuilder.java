package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The builder part shared by the optimizers that keep first- and second-moment estimates of the
 * gradient ({@link Adam}, {@link AdamW}, {@link AdamZ}, {@link AdamX}, {@link NAdam},
 * {@link RAdam}, {@link Adamax}): on top of {@link OptimizerBuilder}'s {@code lr},
 * {@code weightDecay} and {@code maximize}, it sets {@code betas} and {@code eps}. Each optimizer's
 * own {@code Builder} adds only what is specific to it.
 *
 * @param <B> the concrete builder
 * @param <O> the optimizer it builds
 */
public abstract class MomentsBuilder<B extends MomentsBuilder<B, O>, O extends Optimizer> extends OptimizerBuilder<B, O> {

    /**
     * @param params  the tensors to optimize
     * @param factory the optimizer's options constructor, e.g. {@code Adam::new}
     */
    protected MomentsBuilder(Iterable<Tensor> params, BiFunction<Iterable<Tensor>, Map<String, ?>, O> factory) {
        super(params, factory);
    }

    /**
     * The decay rates {@code (beta1, beta2)} of the two running averages, each in [0, 1): of the
     * gradient and of its square (for {@link Adamax}, of its infinity norm).
     */
    public B betas(double beta1, double beta2) {
        return set("betas", List.of(beta1, beta2));
    }

    /**
     * The small term that keeps the update's denominator away from zero; where exactly it enters
     * (after the square root, or inside Adamax's running maximum) is in each optimizer's class
     * comment.
     */
    public B eps(double eps) {
        return set("eps", eps);
    }
}
