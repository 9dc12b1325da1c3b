package dev.kiln.backend.cpu;

import dev.kiln.Layout;

/**
 * Row-major iteration over several layouts of one shape. Adjacent dims that are contiguous in
 * every operand are merged first, so contiguous tensors become one long row and strided views
 * keep as few dims as their strides require. Iteration is by rows (all dims but the last) and an
 * inner run along the last dim with a fixed stride per operand.
 */
final class Strided {

    final int operands;
    /** Merged shape; the last entry is the inner run length. */
    final long[] shape;
    /** strides[k][d] for operand k. */
    final long[][] strides;
    final long[] offsets;
    final long rows;
    final int inner;

    Strided(Layout... layouts) {
        operands = layouts.length;
        long[] s = layouts[0].shape();
        int rank = s.length;
        long[][] st = new long[operands][];
        offsets = new long[operands];
        for (int k = 0; k < operands; k++) {
            st[k] = layouts[k].strides();
            offsets[k] = layouts[k].offset();
        }
        // Drop size-1 dims, then merge (i, i+1) when stride[i] == stride[i+1] * size[i+1] for all operands.
        long[] ms = new long[Math.max(rank, 1)];
        long[][] mst = new long[operands][Math.max(rank, 1)];
        int m = 0;
        for (int d = 0; d < rank; d++) {
            if (s[d] == 1) {
                continue;
            }
            boolean merge = m > 0;
            for (int k = 0; k < operands && merge; k++) {
                merge = mst[k][m - 1] == st[k][d] * s[d];
            }
            if (merge) {
                ms[m - 1] *= s[d];
                for (int k = 0; k < operands; k++) {
                    mst[k][m - 1] = st[k][d];
                }
            } else {
                ms[m] = s[d];
                for (int k = 0; k < operands; k++) {
                    mst[k][m] = st[k][d];
                }
                m++;
            }
        }
        if (m == 0) {
            // A single element (or every dim of size 1).
            ms[0] = layouts[0].numel() == 0 ? 0 : 1;
            for (int k = 0; k < operands; k++) {
                mst[k][0] = 1;
            }
            m = 1;
        }
        shape = java.util.Arrays.copyOf(ms, m);
        strides = new long[operands][];
        for (int k = 0; k < operands; k++) {
            strides[k] = java.util.Arrays.copyOf(mst[k], m);
        }
        long r = 1;
        for (int d = 0; d < m - 1; d++) {
            r *= shape[d];
        }
        for (long x : s) {
            if (x == 0) {
                r = 0;
            }
        }
        rows = r;
        inner = (int) shape[m - 1];
    }

    /** The inner-run stride of operand k. */
    int innerStride(int k) {
        return (int) strides[k][shape.length - 1];
    }

    /** Writes each operand's storage index at the start of {@code row} into {@code out}. */
    void rowStart(long row, int[] out) {
        for (int k = 0; k < operands; k++) {
            out[k] = (int) offsets[k];
        }
        for (int d = shape.length - 2; d >= 0; d--) {
            long size = shape[d];
            long i = row % size;
            row /= size;
            for (int k = 0; k < operands; k++) {
                out[k] += (int) (i * strides[k][d]);
            }
        }
    }

    /** A loop body over one row: the operands' start indices and the run length. */
    @FunctionalInterface
    interface RowBody {
        void run(int[] starts, int length);
    }

    /**
     * Runs {@code body} for every row, in parallel when the work is large. A single long row (a
     * contiguous tensor) is cut into pieces, each run with its operands' start indices.
     */
    void forEachRow(RowBody body) {
        if (rows == 0 || inner == 0) {
            return;
        }
        if (rows == 1) {
            Parallel.forRange(inner, 1, (s, e) -> {
                int[] starts = new int[operands];
                for (int k = 0; k < operands; k++) {
                    starts[k] = (int) (offsets[k] + s * innerStride(k));
                }
                body.run(starts, (int) (e - s));
            });
            return;
        }
        Parallel.forRange(rows, inner, (r0, r1) -> {
            int[] starts = new int[operands];
            for (long r = r0; r < r1; r++) {
                rowStart(r, starts);
                body.run(starts, inner);
            }
        });
    }
}
