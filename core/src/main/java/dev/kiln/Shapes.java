package dev.kiln;

import java.util.Arrays;

/** Shape arithmetic shared by the tensor operations: broadcasting, dim normalisation, formatting. */
public final class Shapes {

    private Shapes() {
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** {@code [2, 3]}: shapes are printed as PyTorch prints lists. */
    public static String str(long[] shape) {
        return Arrays.toString(shape);
    }

    /**
     * The NumPy broadcast of two shapes, or an exception naming the op and both shapes.
     */
    public static long[] broadcast(String op, long[] a, long[] b) {
        int n = Math.max(a.length, b.length);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long x = i < n - a.length ? 1 : a[i - (n - a.length)];
            long y = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (x == y || y == 1) {
                out[i] = x;
            } else if (x == 1) {
                out[i] = y;
            } else {
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b)
                        + " cannot be broadcast: size " + x + " vs " + y + " at dim " + i);
            }
        }
        return out;
    }

    /** Wraps a possibly negative dim into {@code [0, rank)}, or throws naming the op. */
    public static int dim(String op, int dim, int rank) {
        int r = Math.max(rank, 1);
        if (dim < -r || dim >= r) {
            throw new IndexOutOfBoundsException(op + ": dim " + dim + " out of range for a tensor of rank " + rank
                    + " (expected in [" + (-r) + ", " + (r - 1) + "])");
        }
        return dim < 0 ? dim + r : dim;
    }

    /** Normalises and sorts a dim list, rejecting repeats; an empty list means every dim. */
    public static int[] dims(String op, int[] dims, int rank) {
        if (dims.length == 0) {
            int[] all = new int[rank];
            for (int i = 0; i < rank; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dim(op, dims[i], rank);
        }
        Arrays.sort(out);
        for (int i = 1; i < out.length; i++) {
            if (out[i] == out[i - 1]) {
                throw new IllegalArgumentException(op + ": dim " + out[i] + " appears more than once in "
                        + Arrays.toString(dims));
            }
        }
        return out;
    }

    /** The dims {@code 0..rank-1} but {@code dim}, ascending: what a per-channel statistic reduces over. */
    public static int[] allDimsBut(int rank, int dim) {
        int[] dims = new int[rank - 1];
        for (int i = 0, j = 0; i < rank; i++) {
            if (i != dim) {
                dims[j++] = i;
            }
        }
        return dims;
    }

    /** A rank-{@code rank} shape of ones but {@code size} at {@code dim}: a vector broadcast along the other dims. */
    public static long[] along(int rank, int dim, long size) {
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        shape[dim] = size;
        return shape;
    }

    static long[] remove(long[] a, int index) {
        long[] out = new long[a.length - 1];
        System.arraycopy(a, 0, out, 0, index);
        System.arraycopy(a, index + 1, out, index, a.length - index - 1);
        return out;
    }

    static long[] insert(long[] a, int index, long value) {
        long[] out = new long[a.length + 1];
        System.arraycopy(a, 0, out, 0, index);
        out[index] = value;
        System.arraycopy(a, index, out, index + 1, a.length - index);
        return out;
    }

    /** {@code shape} with the given (sorted, normalised) dims set to 1, or removed when !keepdim. */
    static long[] reduced(long[] shape, int[] dims, boolean keepdim) {
        long[] kept = shape.clone();
        for (int d : dims) {
            kept[d] = 1;
        }
        if (keepdim) {
            return kept;
        }
        long[] out = new long[shape.length - dims.length];
        int j = 0;
        for (int i = 0; i < shape.length; i++) {
            if (Arrays.binarySearch(dims, i) < 0) {
                out[j++] = shape[i];
            }
        }
        return out;
    }

    static long[] toLongs(int... values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
