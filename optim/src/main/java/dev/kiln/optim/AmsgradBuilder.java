package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.Map;
import java.util.function.BiFunction;

/**
 * The builder part of the optimizers that take Adam's step ({@link Adam}, {@link AdamW},
 * {@link AdamZ}): {@link MomentsBuilder}'s options and the AMSGrad switch.
 *
 * @param <B> the concrete builder
 * @param <O> the optimizer it builds
 */
public abstract class AmsgradBuilder<B extends AmsgradBuilder<B, O>, O extends Optimizer> extends MomentsBuilder<B, O> {

    /**
     * @param params  the tensors to optimize
     * @param factory the optimizer's options constructor, e.g. {@code Adam::new}
     */
    protected AmsgradBuilder(Iterable<Tensor> params, BiFunction<Iterable<Tensor>, Map<String, ?>, O> factory) {
        super(params, factory);
    }

    /** The AMSGrad variant: divide by the running maximum of the second moment. */
    public B amsgrad(boolean amsgrad) {
        return set("amsgrad", amsgrad);
    }
}
