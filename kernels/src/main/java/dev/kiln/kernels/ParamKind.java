package dev.kiln.kernels;

/**
 * The kind of one kernel parameter, one character each in a kernel's parameter string
 * ({@code "ppGdd"}): what the emulator checks at launch and what {@link KernelArgs} packs.
 */
public enum ParamKind {
    /** A device pointer (64 bits). */
    POINTER('p', 8),
    /** A 32-bit int. */
    INT32('i', 4),
    /** A 64-bit int ({@code long long}). */
    INT64('l', 8),
    FLOAT32('f', 4),
    FLOAT64('d', 8),
    /** A {@link KernelGeometry} passed by value: 336 bytes, 8-byte aligned. */
    GEOMETRY('G', KernelGeometry.BYTES);

    private final char code;
    private final int byteSize;

    ParamKind(char code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    public char code() {
        return code;
    }

    /** Bytes of the value as the kernel receives it. */
    public int byteSize() {
        return byteSize;
    }

    public static ParamKind of(char code) {
        for (ParamKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown parameter kind '" + code + "'");
    }
}
