package dev.kiln.graph;

import dev.kiln.Tensor;

import java.util.List;

/**
 * The backward engine, provided by the autograd module through {@link java.util.ServiceLoader}.
 * Core records graphs; it knows no derivatives.
 */
public interface GradientEngine {

    /** Accumulates d(roots)/d(leaf) weighted by {@code grads} into every leaf's {@code grad}. */
    void backward(List<Tensor> roots, List<Tensor> grads, boolean retainGraph, boolean createGraph);

    /**
     * The gradients of {@code outputs} with respect to {@code inputs}, without touching any
     * {@code grad}; null for an unused input when {@code allowUnused}.
     */
    List<Tensor> grad(List<Tensor> outputs, List<Tensor> gradOutputs, List<Tensor> inputs,
                      boolean retainGraph, boolean createGraph, boolean allowUnused);
}
