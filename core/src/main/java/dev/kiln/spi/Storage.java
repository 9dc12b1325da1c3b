package dev.kiln.spi;

import dev.kiln.DType;
import dev.kiln.Device;

/**
 * A flat buffer of elements of one dtype on one device, owned by a backend. Tensors are views over
 * storages; core reference-counts them and calls {@link #free()} when the last tensor lets go.
 */
public interface Storage {

    DType dtype();

    /** Number of elements. */
    long numel();

    Device device();

    /** Releases the memory now. Called at most once, by core; later use is a bug in core. */
    void free();
}
