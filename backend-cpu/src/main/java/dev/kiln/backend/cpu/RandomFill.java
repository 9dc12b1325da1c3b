package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.Philox;

/** Uniform and normal fills from the Philox stream, laid out as {@link Philox} documents. */
final class RandomFill {

    private RandomFill() {
    }

    static void uniform(CpuStorage dst, Layout l, long seed, long offset, double lo, double hi) {
        boolean f64 = dst.dtype() == DType.FLOAT64;
        int perBlock = f64 ? 2 : 4;
        long n = l.numel();
        long blocks = (n + perBlock - 1) / perBlock;
        double span = hi - lo;
        Parallel.forRange(blocks, perBlock * 8L, (b0, b1) -> {
            int[] w = new int[4];
            for (long blk = b0; blk < b1; blk++) {
                Philox.block(seed, offset + blk, w);
                for (int k = 0; k < perBlock; k++) {
                    long i = blk * perBlock + k;
                    if (i >= n) {
                        break;
                    }
                    double u = f64 ? Philox.uniformDouble(w[2 * k], w[2 * k + 1]) : Philox.uniformFloat(w[k]);
                    double v = lo + u * span;
                    int q = (int) l.indexOf(i);
                    if (f64) {
                        dst.doubles()[q] = v;
                    } else {
                        // Rounding lo + u * span to float can reach hi; keep the interval half-open.
                        float f = (float) v;
                        dst.floats()[q] = f >= hi && span > 0 ? Math.nextDown((float) hi) : f;
                    }
                }
            }
        });
    }

    static void normal(CpuStorage dst, Layout l, long seed, long offset, double mean, double std) {
        long n = l.numel();
        boolean f64 = dst.dtype() == DType.FLOAT64;
        Parallel.forRange(n, 32, (i0, i1) -> {
            int[] w = new int[4];
            for (long i = i0; i < i1; i++) {
                Philox.block(seed, offset + i, w);
                double v = mean + std * Philox.normal(w);
                int q = (int) l.indexOf(i);
                if (f64) {
                    dst.doubles()[q] = v;
                } else {
                    dst.floats()[q] = (float) v;
                }
            }
        });
    }
}
