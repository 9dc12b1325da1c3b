package dev.kiln.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The shape and per-operand strides of a strided kernel, the Java twin of the kernels'
 * {@code KilnGeom} struct, which kernels take by value (parameter kind {@code 'G'}).
 *
 * <p>Layout, little-endian, 336 bytes, 8-byte aligned: {@code int ndim}, {@code int reserved},
 * {@code long numel}, {@code long shape[8]}, {@code long stride[4][8]} (operand-major). Strides
 * are in elements and may be 0 (broadcast) or negative. Operand {@code k} is the kernel's
 * {@code k}-th pointer parameter; storage offsets go into the pointers, not here.
 */
public final class KernelGeometry {

    public static final int MAX_DIMS = 8;
    public static final int MAX_OPERANDS = 4;
    public static final int BYTES = 16 + 8 * MAX_DIMS + 8 * MAX_OPERANDS * MAX_DIMS;

    private final long[] shape;
    private final long[][] strides;
    private final long numel;

    private final boolean coalesced;

    private KernelGeometry(long[] shape, long[][] strides, boolean coalesced) {
        if (strides.length == 0 || strides.length > MAX_OPERANDS) {
            throw new IllegalArgumentException("kernel geometry: 1 to " + MAX_OPERANDS + " operands, got " + strides.length);
        }
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("kernel geometry: negative size in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, s);
        }
        for (int k = 0; k < strides.length; k++) {
            if (strides[k].length != shape.length) {
                throw new IllegalArgumentException("kernel geometry: operand " + k + " has " + strides[k].length
                        + " strides for the " + shape.length + " dims of " + Arrays.toString(shape));
            }
        }
        this.shape = shape.clone();
        this.strides = new long[strides.length][];
        for (int k = 0; k < strides.length; k++) {
            this.strides[k] = strides[k].clone();
        }
        this.numel = n;
        this.coalesced = coalesced;
    }

    /**
     * A geometry over {@code shape} with one stride array per operand (operand 0 first). Any rank
     * is accepted here; a kernel parameter ({@link #writeTo}) holds at most {@link #MAX_DIMS} dims,
     * which {@link #coalesced()} often reaches from a higher rank.
     */
    public static KernelGeometry of(long[] shape, long[]... operandStrides) {
        return new KernelGeometry(shape, operandStrides, false);
    }

    /** Every operand contiguous (row-major) over {@code shape}. */
    public static KernelGeometry contiguous(long[] shape, int operands) {
        long[][] s = new long[operands][];
        for (int k = 0; k < operands; k++) {
            s[k] = contiguousStrides(shape);
        }
        return new KernelGeometry(shape, s, false);
    }

    public static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= shape[d];
        }
        return s;
    }

    public int ndim() {
        return shape.length;
    }

    public long numel() {
        return numel;
    }

    public int operands() {
        return strides.length;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long[] strides(int operand) {
        return strides[operand].clone();
    }

    /**
     * The same iteration with fewer dims: size-1 dims dropped and neighbouring dims merged where
     * every operand steps through them as through one dim. Kernels decompose the linear index
     * dim by dim, so fewer dims means fewer divisions per element.
     */
    public KernelGeometry coalesced() {
        if (numel == 0) {
            long[][] s = new long[strides.length][];
            for (int k = 0; k < s.length; k++) {
                s[k] = new long[] {0};
            }
            return new KernelGeometry(new long[] {0}, s, true);
        }
        List<long[]> dims = new ArrayList<>();  // each: size, stride per operand
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 1) {
                continue;
            }
            if (!dims.isEmpty()) {
                long[] inner = dims.get(dims.size() - 1);
                boolean mergeable = true;
                for (int k = 0; k < strides.length && mergeable; k++) {
                    mergeable = strides[k][d] == inner[1 + k] * inner[0];
                }
                if (mergeable) {
                    inner[0] *= shape[d];
                    continue;
                }
            }
            long[] e = new long[1 + strides.length];
            e[0] = shape[d];
            for (int k = 0; k < strides.length; k++) {
                e[1 + k] = strides[k][d];
            }
            dims.add(e);
        }
        int nd = dims.size();
        long[] sh = new long[nd];
        long[][] st = new long[strides.length][nd];
        for (int i = 0; i < nd; i++) {
            long[] e = dims.get(nd - 1 - i);
            sh[i] = e[0];
            for (int k = 0; k < strides.length; k++) {
                st[k][i] = e[1 + k];
            }
        }
        return new KernelGeometry(sh, st, true);
    }

    /** The struct's bytes, as a kernel parameter. */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        writeTo(b);
        return b.array();
    }

    /**
     * Writes the 336 bytes at the buffer's position (which it advances); the buffer must be
     * little-endian.
     *
     * @throws IllegalArgumentException when the geometry has more than {@link #MAX_DIMS} dims
     */
    public void writeTo(ByteBuffer le) {
        if (le.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("kernel geometry: the buffer must be little-endian");
        }
        if (shape.length > MAX_DIMS) {
            throw new IllegalArgumentException(coalesced
                    ? "kernel geometry: " + this + " still has " + shape.length + " dims after dropping size-1 dims and"
                            + " merging the dims every operand steps through as one; CUDA kernels take at most " + MAX_DIMS
                            + " (make the operands contiguous, or fewer than " + (MAX_DIMS + 1) + " dims, first)"
                    : "kernel geometry: " + this + " has " + shape.length + " dims; CUDA kernels take at most " + MAX_DIMS
                            + " (this kernel indexes dims directly, so they are not merged)");
        }
        le.putInt(shape.length);
        le.putInt(0);
        le.putLong(numel);
        for (int d = 0; d < MAX_DIMS; d++) {
            le.putLong(d < shape.length ? shape[d] : 0);
        }
        for (int k = 0; k < MAX_OPERANDS; k++) {
            for (int d = 0; d < MAX_DIMS; d++) {
                le.putLong(k < strides.length && d < shape.length ? strides[k][d] : 0);
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("KernelGeometry").append(Arrays.toString(shape));
        for (long[] s : strides) {
            sb.append(' ').append(Arrays.toString(s));
        }
        return sb.toString();
    }
}
