package dev.kiln;

/**
 * The element type of a tensor. {@link #FLOAT32} is the default; {@link #FLOAT64} serves gradcheck,
 * {@link #INT64} labels and indices, {@link #BOOL} masks. {@link #FLOAT16} and {@link #BFLOAT16} are
 * storage types for the CUDA backend; the CPU backend can hold and cast them but computes in float32.
 */
public enum DType {
    FLOAT32(4, true, "F32", "float32"),
    FLOAT64(8, true, "F64", "float64"),
    INT64(8, false, "I64", "int64"),
    BOOL(1, false, "BOOL", "bool"),
    FLOAT16(2, true, "F16", "float16"),
    BFLOAT16(2, true, "BF16", "bfloat16");

    private final int byteSize;
    private final boolean floatingPoint;
    private final String safetensorsName;
    private final String torchName;

    DType(int byteSize, boolean floatingPoint, String safetensorsName, String torchName) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types, the only ones that can require gradients. */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** The name used in safetensors headers ({@code F32}, {@code I64}, ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Looks a type up by its safetensors name; returns null when Kiln does not know it. */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /**
     * The result type of a binary operation, as PyTorch promotes: bool &lt; int64 &lt; floating types,
     * and among floating types the wider one (float16 with bfloat16 gives float32).
     */
    public static DType promote(DType a, DType b) {
        if (a == b) {
            return a;
        }
        if (a.floatingPoint != b.floatingPoint) {
            return a.floatingPoint ? a : b;
        }
        if (a.floatingPoint) {
            if (a == FLOAT64 || b == FLOAT64) {
                return FLOAT64;
            }
            return FLOAT32;
        }
        return (a == INT64 || b == INT64) ? INT64 : BOOL;
    }

    @Override
    public String toString() {
        return torchName;
    }
}
