package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The common part of the optimizers' builders: {@code Adam.builder(params).lr(1e-3).betas(0.9,
 * 0.999).build()}. Options not set keep the optimizer's defaults.
 *
 * @param <B> the concrete builder
 * @param <O> the optimizer it builds
 */
public abstract class OptimizerBuilder<B extends OptimizerBuilder<B, O>, O extends Optimizer> {

    /** The tensors to optimize. */
    protected final Iterable<Tensor> params;
    /** The options set so far, keyed by PyTorch's names. */
    protected final Map<String, Object> options = new LinkedHashMap<>();

    protected OptimizerBuilder(Iterable<Tensor> params) {
        this.params = params;
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

    protected final B set(String key, Object value) {
        options.put(key, value);
        return self();
    }

    @SuppressWarnings("unchecked")
    protected final B self() {
        return (B) this;
    }

    /** Builds the optimizer; throws {@link IllegalArgumentException} on an invalid option. */
    public abstract O build();
}
