package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The common part of the optimizers' builders: {@code Adam.builder(params).lr(1e-3).betas(0.9,
 * 0.999).build()}. Options not set keep the optimizer's defaults.
 *
 * <p>The builders form a small self-typed hierarchy, so that every setter returns the concrete
 * builder and each optimizer's {@code Builder} states only its own options: this class has the
 * options every optimizer takes ({@code lr}, {@code weightDecay}, {@code maximize}) and
 * {@link #build()}; {@link MomentsBuilder} adds {@code betas} and {@code eps};
 * {@link AmsgradBuilder} adds {@code amsgrad}.
 *
 * @param <B> the concrete builder
 * @param <O> the optimizer it builds
 */
public abstract class OptimizerBuilder<B extends OptimizerBuilder<B, O>, O extends Optimizer> {

    /** The tensors to optimize. */
    protected final Iterable<Tensor> params;
    /** The options set so far, keyed by PyTorch's names. */
    protected final Map<String, Object> options = new LinkedHashMap<>();
    private final BiFunction<Iterable<Tensor>, Map<String, ?>, O> factory;

    /**
     * @param params  the tensors to optimize
     * @param factory the optimizer's constructor from tensors and an options map, e.g.
     *                {@code Adam::new}; {@link #build()} calls it with the options set
     */
    protected OptimizerBuilder(Iterable<Tensor> params, BiFunction<Iterable<Tensor>, Map<String, ?>, O> factory) {
        this.params = params;
        this.factory = factory;
    }

    /** The learning rate. */
    public B lr(double lr) {
        return set("lr", lr);
    }

    /** Weight decay (an L2 penalty added to the gradient, or decoupled for AdamW). */
    public B weightDecay(double weightDecay) {
        return set("weight_decay", weightDecay);
    }

    /** Maximize the objective instead of minimizing it (the gradient is negated first). */
    public B maximize(boolean maximize) {
        return set("maximize", maximize);
    }

    /** Sets any option by PyTorch's name (or its camelCase form). */
    public B option(String key, Object value) {
        return set(Options.normalizeKey(key), value);
    }

    /** Records option {@code key} (PyTorch's name) and returns this builder. */
    protected final B set(String key, Object value) {
        options.put(key, value);
        return self();
    }

    /** This builder as its concrete type. */
    @SuppressWarnings("unchecked")
    protected final B self() {
        return (B) this;
    }

    /** Builds the optimizer; throws {@link IllegalArgumentException} on an invalid option. */
    public O build() {
        return factory.apply(params, options);
    }
}
