package dev.kiln.data;

import dev.kiln.Tensor;

import java.util.Objects;

/**
 * A function applied to each item as it is loaded (an image decoded to a tensor, normalized,
 * augmented), the counterpart of torchvision's transform callables.
 *
 * <p>A transform may also have a <em>batch form</em>: {@link #applyBatch} takes the stack of the
 * samples' tensor forms (dim 0 indexes the samples) and returns the stack of the results, so a
 * dataset that gathers a batch at once can transform it with a few whole-batch tensor ops instead of
 * one call per sample. For inputs that are tensors the tensor form is the tensor itself; for
 * {@code dev.kiln.data.vision.Image} it is the {@code [H, W, C]} float tensor of its 0-255 values.
 * The batch form must give the same values as applying {@link #apply} to each sample, including for
 * random transforms, which draw their numbers per sample in order.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface Transform<I, O> {

    /** Transforms one item. */
    O apply(I input);

    /** Whether {@link #applyBatch} is available. */
    default boolean supportsBatch() {
        return false;
    }

    /**
     * Transforms a batch: {@code batch} stacks the tensor forms of the inputs along dim 0, and the
     * result stacks the outputs.
     *
     * @throws UnsupportedOperationException when {@link #supportsBatch()} is false
     */
    default Tensor applyBatch(Tensor batch) {
        throw new UnsupportedOperationException(this + " has no batch form");
    }

    /** This transform, then {@code next}; batch-capable when both are. */
    default <R> Transform<I, R> andThen(Transform<? super O, ? extends R> next) {
        Objects.requireNonNull(next, "next");
        Transform<I, O> first = this;
        return new Transform<>() {
            @Override
            public R apply(I input) {
                return next.apply(first.apply(input));
            }

            @Override
            public boolean supportsBatch() {
                return first.supportsBatch() && next.supportsBatch();
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                return next.applyBatch(first.applyBatch(batch));
            }

            @Override
            public String toString() {
                return first + " -> " + next;
            }
        };
    }

    /** The transform that returns its input. */
    static <T> Transform<T, T> identity() {
        return new Transform<>() {
            @Override
            public T apply(T input) {
                return input;
            }

            @Override
            public boolean supportsBatch() {
                return true;
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                return batch;
            }

            @Override
            public String toString() {
                return "Identity()";
            }
        };
    }
}
