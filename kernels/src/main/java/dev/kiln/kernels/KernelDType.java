package dev.kiln.kernels;

import java.util.Locale;

/** Element types as the kernels name them: the suffix of every typed kernel name. */
public enum KernelDType {
    F32("f32", 4),
    F64("f64", 8),
    I64("i64", 8),
    /** One byte per element; kernels write 0 or 1 and read any non-zero byte as true. */
    BOOL("bool", 1),
    /** IEEE binary16, stored as its raw 16 bits. */
    F16("f16", 2),
    /** bfloat16, stored as its raw 16 bits. */
    BF16("bf16", 2);

    private final String suffix;
    private final int byteSize;

    KernelDType(String suffix, int byteSize) {
        this.suffix = suffix;
        this.byteSize = byteSize;
    }

    /** The suffix in kernel names: {@code f32} in {@code kiln_unary_exp_f32}. */
    public String suffix() {
        return suffix;
    }

    public int byteSize() {
        return byteSize;
    }

    /**
     * The kernel dtype for a dtype name as core spells it ({@code FLOAT32}, {@code float32}) or as
     * safetensors does ({@code F32}, {@code BF16}).
     */
    public static KernelDType forName(String name) {
        switch (name.toUpperCase(Locale.ROOT)) {
            case "FLOAT32": case "F32": return F32;
            case "FLOAT64": case "F64": return F64;
            case "INT64": case "I64": return I64;
            case "BOOL": return BOOL;
            case "FLOAT16": case "F16": return F16;
            case "BFLOAT16": case "BF16": return BF16;
            default: throw new IllegalArgumentException("no kernel dtype for " + name);
        }
    }
}
