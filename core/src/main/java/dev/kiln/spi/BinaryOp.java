package dev.kiln.spi;

/**
 * Elementwise binary operations over operands already broadcast to the output shape (strides may
 * be 0). Comparisons write bool. The CUDA kernel is named {@code kiln_binary_<kernelName>_<dtype>} (see the kernels module's {@code KernelCatalog}).
 */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, REMAINDER, EQ, NE, LT, LE, GT, GE, LOGICAL_AND, LOGICAL_OR;

    /** True for the ops whose result is bool whatever the operand type. */
    public boolean isComparison() {
        return switch (this) {
            case EQ, NE, LT, LE, GT, GE, LOGICAL_AND, LOGICAL_OR -> true;
            default -> false;
        };
    }

    public String kernelName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
