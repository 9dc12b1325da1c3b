package dev.kiln.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The arguments of one kernel launch, in parameter order, with their kinds. The kinds string
 * ({@link #kinds()}) is checked against the kernel's signature by the emulator; on a GPU the
 * raw bytes of each argument ({@link #valueBytes}) are what cuLaunchKernel's kernelParams point at.
 */
public final class KernelArgs {

    private final StringBuilder kinds = new StringBuilder();
    private final List<byte[]> values = new ArrayList<>();

    public static KernelArgs create() {
        return new KernelArgs();
    }

    private KernelArgs add(ParamKind kind, byte[] bytes) {
        kinds.append(kind.code());
        values.add(bytes);
        return this;
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A device pointer (0 for an absent optional operand). */
    public KernelArgs pointer(long devicePointer) {
        return add(ParamKind.POINTER, le(8).putLong(devicePointer).array());
    }

    public KernelArgs i32(int v) {
        return add(ParamKind.INT32, le(4).putInt(v).array());
    }

    public KernelArgs i64(long v) {
        return add(ParamKind.INT64, le(8).putLong(v).array());
    }

    public KernelArgs f32(float v) {
        return add(ParamKind.FLOAT32, le(4).putFloat(v).array());
    }

    public KernelArgs f64(double v) {
        return add(ParamKind.FLOAT64, le(8).putDouble(v).array());
    }

    public KernelArgs geometry(KernelGeometry g) {
        return add(ParamKind.GEOMETRY, g.toBytes());
    }

    /** The parameter kinds, one {@link ParamKind} code per argument: {@code "ppGdd"}. */
    public String kinds() {
        return kinds.toString();
    }

    public int count() {
        return values.size();
    }

    /** The little-endian bytes of argument {@code index}, as the kernel receives them. */
    public byte[] valueBytes(int index) {
        return values.get(index).clone();
    }

    /**
     * All arguments in one buffer, each at the next multiple of 8 bytes: the layout the JNI
     * binding unpacks.
     */
    public byte[] packed() {
        int size = 0;
        for (byte[] v : values) {
            size += (v.length + 7) & ~7;
        }
        byte[] out = new byte[size];
        int at = 0;
        for (byte[] v : values) {
            System.arraycopy(v, 0, out, at, v.length);
            at += (v.length + 7) & ~7;
        }
        return out;
    }

    @Override
    public String toString() {
        return "KernelArgs(" + kinds + ", " + values.size() + " values" + (values.isEmpty() ? "" : ", first "
                + Arrays.toString(values.get(0))) + ")";
    }
}
