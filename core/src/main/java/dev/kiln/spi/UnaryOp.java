package dev.kiln.spi;

/**
 * Elementwise unary operations a backend implements. The CUDA kernel for an op is named
 * {@code kiln_unary_<kernelName>_<dtype>} (see the kernels module's {@code KernelCatalog}). {@link #CLAMP} takes (lo, hi) with infinities for an absent
 * bound, {@link #LEAKY_RELU} (slope) and {@link #ELU} (alpha); the others ignore the parameters.
 */
public enum UnaryOp {
    NEG, ABS, EXP, LOG, SQRT, RSQRT, SIN, COS, TANH, SIGMOID, RELU, GELU, SILU, SIGN, FLOOR, CEIL,
    ROUND, RECIPROCAL, SQUARE, LOG1P, EXPM1, ERF, LOGICAL_NOT, CLAMP, LEAKY_RELU, ELU;

    /** The op's name in kernel names: {@code leaky_relu}. */
    public String kernelName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
