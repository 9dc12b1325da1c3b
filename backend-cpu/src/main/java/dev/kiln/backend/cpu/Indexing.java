package dev.kiln.backend.cpu;

import dev.kiln.Layout;

/**
 * Gather, scatter, index-select and index-add along one dim. Indices are checked against the
 * dim's size as they are read; a bad one fails the op with its value, before any write for the
 * gathering ops.
 */
final class Indexing {

    private Indexing() {
    }

    /** Storage offset of {@code layout} at the coordinates of {@code linear} in {@code shape}, with {@code dim} replaced. */
    private static int offset(Layout layout, long[] shape, long linear, int dim, long replacement) {
        long pos = layout.offset();
        for (int d = shape.length - 1; d >= 0; d--) {
            long i = linear % shape[d];
            linear /= shape[d];
            pos += (d == dim ? replacement : i) * layout.stride(d);
        }
        return (int) pos;
    }

    private static long coordinate(long[] shape, long linear, int dim) {
        for (int d = shape.length - 1; d > dim; d--) {
            linear /= shape[d];
        }
        return linear % shape[dim];
    }

    private static long checked(String op, long idx, long size, int dim) {
        if (idx < 0 || idx >= size) {
            throw new IndexOutOfBoundsException(op + ": index " + idx + " is out of bounds for dim " + dim + " with size " + size);
        }
        return idx;
    }

    private static void move(CpuStorage src, int p, CpuStorage dst, int q) {
        switch (src.dtype()) {
            case FLOAT32 -> dst.floats()[q] = src.floats()[p];
            case FLOAT64 -> dst.doubles()[q] = src.doubles()[p];
            case INT64 -> dst.longs()[q] = src.longs()[p];
            case BOOL -> dst.bools()[q] = src.bools()[p];
            case FLOAT16, BFLOAT16 -> dst.shorts()[q] = src.shorts()[p];
        }
    }

    private static void accumulate(CpuStorage src, int p, CpuStorage dst, int q) {
        switch (src.dtype()) {
            case FLOAT32 -> dst.floats()[q] += src.floats()[p];
            case FLOAT64 -> dst.doubles()[q] += src.doubles()[p];
            case INT64 -> dst.longs()[q] += src.longs()[p];
            case BOOL -> dst.bools()[q] |= src.bools()[p];
            default -> Elementwise.write(dst, q, Elementwise.read(dst, q) + Elementwise.read(src, p));
        }
    }

    private static long[] rank1(long[] shape) {
        return shape.length == 0 ? new long[] {1} : shape;
    }

    private static Layout rank1(Layout l) {
        return l.rank() == 0 ? new Layout(new long[] {1}, new long[] {1}, l.offset()) : l;
    }

    static void gather(int dim, CpuStorage src, Layout sl, CpuStorage index, Layout il, CpuStorage dst, Layout dl) {
        Layout s = rank1(sl);
        Layout i = rank1(il);
        Layout d = rank1(dl);
        long[] shape = i.shape();
        long size = s.size(dim);
        long[] idx = index.longs();
        Parallel.forRange(i.numel(), 4, (a, b) -> {
            for (long n = a; n < b; n++) {
                long k = checked("gather", idx[(int) i.indexOf(n)], size, dim);
                move(src, offset(s, shape, n, dim, k), dst, (int) d.indexOf(n));
            }
        });
    }

    static void scatter(int dim, boolean add, CpuStorage index, Layout il, CpuStorage src, Layout sl,
                        CpuStorage dst, Layout dl) {
        Layout i = rank1(il);
        Layout s = rank1(sl);
        Layout d = rank1(dl);
        long[] shape = i.shape();
        long size = d.size(dim);
        long[] idx = index.longs();
        long n = i.numel();
        for (long m = 0; m < n; m++) {
            checked(add ? "scatterAdd" : "scatter", idx[(int) i.indexOf(m)], size, dim);
        }
        // Sequential: duplicate indices must accumulate (or overwrite) deterministically.
        for (long m = 0; m < n; m++) {
            long k = checked("scatter", idx[(int) i.indexOf(m)], size, dim);
            int p = offset(s, shape, m, -1, 0);
            int q = offset(d, shape, m, dim, k);
            if (add) {
                accumulate(src, p, dst, q);
            } else {
                move(src, p, dst, q);
            }
        }
    }

    static void indexSelect(int dim, CpuStorage src, Layout sl, CpuStorage index, Layout il, CpuStorage dst, Layout dl) {
        Layout s = rank1(sl);
        Layout d = rank1(dl);
        long[] shape = rank1(d.shape());
        long size = s.size(dim);
        long[] idx = index.longs();
        long count = il.numel();
        long[] resolved = new long[(int) count];
        for (int m = 0; m < count; m++) {
            resolved[m] = checked("indexSelect", idx[(int) il.indexOf(m)], size, dim);
        }
        if (s.isContiguous() && d.isContiguous()) {
            // Each selected slice is one contiguous run in both: copy it whole (a data loader's batch gather).
            long in = 1;
            long out = 1;
            for (int k = 0; k < shape.length; k++) {
                if (k < dim) {
                    out *= shape[k];
                } else if (k > dim) {
                    in *= shape[k];
                }
            }
            long inner = in;
            int run = (int) in;
            int picks = resolved.length;
            Object from = src.data();
            Object to = dst.data();
            long so = s.offset();
            long dOff = d.offset();
            Parallel.forRange(out * picks, inner, (a, b) -> {
                for (long x = a; x < b; x++) {
                    long o = x / picks;
                    long k = resolved[(int) (x % picks)];
                    System.arraycopy(from, (int) (so + (o * size + k) * inner), to, (int) (dOff + x * inner), run);
                }
            });
            return;
        }
        Parallel.forRange(d.numel(), 4, (a, b) -> {
            for (long n = a; n < b; n++) {
                long k = resolved[(int) coordinate(shape, n, dim)];
                move(src, offset(s, shape, n, dim, k), dst, (int) d.indexOf(n));
            }
        });
    }

    static void indexAdd(int dim, CpuStorage index, Layout il, CpuStorage src, Layout sl, CpuStorage dst, Layout dl) {
        Layout s = rank1(sl);
        Layout d = rank1(dl);
        long[] shape = s.shape();
        long size = d.size(dim);
        long[] idx = index.longs();
        long count = il.numel();
        long[] resolved = new long[(int) count];
        for (int m = 0; m < count; m++) {
            resolved[m] = checked("indexAdd", idx[(int) il.indexOf(m)], size, dim);
        }
        long n = s.numel();
        for (long m = 0; m < n; m++) {
            long k = resolved[(int) coordinate(shape, m, dim)];
            accumulate(src, (int) s.indexOf(m), dst, offset(d, shape, m, dim, k));
        }
    }
}
