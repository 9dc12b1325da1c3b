package dev.kiln.graph;

import dev.kiln.Tensor;

/** The backward half of a user-defined function, as recorded in the graph. */
public interface CustomBackward {

    /** A name for error messages and {@link Node#name()}. */
    String name();

    /** Gradients for each input (null where an input needs none), given the output's gradient. */
    Tensor[] backward(Tensor gradOutput);

    /** Drops saved state after backward unless the graph is retained. */
    default void release() {
    }
}
