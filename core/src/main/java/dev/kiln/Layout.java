package dev.kiln;

import java.util.Arrays;

/**
 * How a tensor's elements sit in its storage: element {@code (i0, i1, ...)} is at
 * {@code offset + i0 * strides[0] + i1 * strides[1] + ...}. Strides are in elements, may be zero
 * (broadcast) and are never negative. Immutable; the arrays passed in are copied.
 */
public final class Layout {

    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private final long numel;

    public Layout(long[] shape, long[] strides, long offset) {
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("Layout: shape " + Arrays.toString(shape) + " and strides "
                    + Arrays.toString(strides) + " differ in rank");
        }
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
        this.numel = Shapes.numel(this.shape);
    }

    /** The row-major contiguous layout of {@code shape} at offset 0. */
    public static Layout contiguous(long... shape) {
        return new Layout(shape, contiguousStrides(shape), 0);
    }

    /** Row-major strides for {@code shape}. */
    public static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long[] strides() {
        return strides.clone();
    }

    public long size(int dim) {
        return shape[dim];
    }

    public long stride(int dim) {
        return strides[dim];
    }

    public long offset() {
        return offset;
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return numel;
    }

    /** True when the elements are row-major and dense from {@link #offset()} (size-1 dims ignored). */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1) {
                if (strides[i] != expected) {
                    return numel == 0;
                }
                expected *= shape[i];
            }
        }
        return true;
    }

    /** One past the largest storage index this layout touches (its offset when empty). */
    public long storageExtent() {
        if (numel == 0) {
            return offset;
        }
        long last = offset;
        for (int i = 0; i < shape.length; i++) {
            last += (shape[i] - 1) * strides[i];
        }
        return last + 1;
    }

    /** Storage index of the element at {@code index} in row-major order. */
    public long indexOf(long linear) {
        long pos = offset;
        for (int d = shape.length - 1; d >= 0; d--) {
            long size = shape[d];
            long i = linear % size;
            linear /= size;
            pos += i * strides[d];
        }
        return pos;
    }

    Layout permute(int[] dims) {
        long[] s = new long[dims.length];
        long[] st = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = shape[dims[i]];
            st[i] = strides[dims[i]];
        }
        return new Layout(s, st, offset);
    }

    Layout narrow(int dim, long start, long length) {
        long[] s = shape.clone();
        s[dim] = length;
        return new Layout(s, strides, offset + start * strides[dim]);
    }

    Layout slice(int dim, long start, long length, long step) {
        long[] s = shape.clone();
        long[] st = strides.clone();
        s[dim] = length;
        st[dim] = strides[dim] * step;
        return new Layout(s, st, offset + start * strides[dim]);
    }

    Layout select(int dim, long index) {
        return new Layout(Shapes.remove(shape, dim), Shapes.remove(strides, dim), offset + index * strides[dim]);
    }

    Layout unsqueeze(int dim) {
        long st = dim < shape.length ? strides[dim] * shape[dim] : 1;
        return new Layout(Shapes.insert(shape, dim, 1), Shapes.insert(strides, dim, st), offset);
    }

    /** This layout broadcast to {@code target}: new leading dims and size-1 dims get stride 0. */
    public Layout broadcastTo(long[] target) {
        int extra = target.length - shape.length;
        long[] st = new long[target.length];
        for (int i = 0; i < shape.length; i++) {
            int t = i + extra;
            if (shape[i] == target[t]) {
                st[t] = strides[i];
            } else if (shape[i] == 1) {
                st[t] = 0;
            } else {
                throw new IllegalArgumentException("cannot broadcast " + Shapes.str(shape) + " to " + Shapes.str(target));
            }
        }
        return new Layout(target, st, offset);
    }

    /**
     * The same elements under {@code newShape} without copying, or null when the strides do not allow
     * it (as {@code torch.Tensor.view} decides: each run of merged dims must be contiguous).
     */
    Layout view(long[] newShape) {
        if (isContiguous() || numel == 0) {
            return new Layout(newShape, contiguousStrides(newShape), offset);
        }
        return viewByChunks(newShape);
    }

    private Layout viewByChunks(long[] newShape) {
        // Merge old dims (ignoring size 1) into maximal contiguous chunks, each (size, innermost stride).
        long[] cs = new long[shape.length];
        long[] cst = new long[shape.length];
        int n = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) {
                continue;
            }
            if (n > 0 && cst[n - 1] == strides[i] * shape[i]) {
                cs[n - 1] *= shape[i];
                cst[n - 1] = strides[i];
            } else {
                cs[n] = shape[i];
                cst[n] = strides[i];
                n++;
            }
        }
        long[] newStrides = new long[newShape.length];
        int chunk = n - 1;
        long remaining = chunk >= 0 ? cs[chunk] : 1;
        long stride = chunk >= 0 ? cst[chunk] : 1;
        for (int i = newShape.length - 1; i >= 0; i--) {
            long size = newShape[i];
            if (size == 1) {
                newStrides[i] = stride;
                continue;
            }
            if (chunk < 0 || remaining % size != 0) {
                return null;
            }
            newStrides[i] = stride;
            stride *= size;
            remaining /= size;
            if (remaining == 1) {
                chunk--;
                if (chunk >= 0) {
                    remaining = cs[chunk];
                    stride = cst[chunk];
                }
            }
        }
        if (chunk >= 0) {
            return null;
        }
        return new Layout(newShape, newStrides, offset);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l && l.offset == offset && Arrays.equals(l.shape, shape)
                && Arrays.equals(l.strides, strides);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Arrays.hashCode(strides) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return "Layout(shape=" + Shapes.str(shape) + ", strides=" + Shapes.str(strides) + ", offset=" + offset + ")";
    }
}
