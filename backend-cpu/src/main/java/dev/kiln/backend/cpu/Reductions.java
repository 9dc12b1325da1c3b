package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ReduceOp;

/**
 * Reductions over a set of dims, and softmax. The input is viewed as {@code [kept..., reduced...]}
 * by permuting its layout; when the reduced dims are innermost each output reduces one run, and
 * otherwise every kept position accumulates row by row, which keeps memory access sequential for
 * the common "sum over the batch" case. Float sums accumulate in double.
 */
final class Reductions {

    private Reductions() {
    }

    static void reduce(ReduceOp op, CpuStorage src, Layout sl, int[] dims, CpuStorage dst, Layout dl) {
        Elementwise.requireComputable(op.kernelName(), src.dtype());
        int rank = sl.rank();
        boolean[] reduced = new boolean[rank];
        for (int d : dims) {
            reduced[d] = true;
        }
        long[] shape = sl.shape();
        long[] strides = sl.strides();
        long[] dstStrides = dl.strides();
        int nk = rank - dims.length;
        long[] kShape = new long[nk];
        long[] kSrc = new long[nk];
        long[] kDst = new long[nk];
        long[] rShape = new long[dims.length];
        long[] rSrc = new long[dims.length];
        int ki = 0;
        int ri = 0;
        for (int d = 0; d < rank; d++) {
            if (reduced[d]) {
                rShape[ri] = shape[d];
                rSrc[ri++] = strides[d];
            } else {
                kShape[ki] = shape[d];
                kSrc[ki] = strides[d];
                kDst[ki++] = dstStrides[d];
            }
        }
        Layout kept = new Layout(kShape, kSrc, sl.offset());
        Layout keptDst = new Layout(kShape, kDst, dl.offset());
        Layout inner = new Layout(rShape, rSrc, 0);
        long outCount = kept.numel();
        long perOut = inner.numel();
        boolean innerRun = rank > 0 && reduced[rank - 1];
        if (innerRun || nk == 0) {
            Strided in = new Strided(inner);
            Parallel.forRange(outCount, perOut, (o0, o1) -> {
                int[] starts = new int[1];
                Lanes state = new Lanes(op, src.dtype(), 1);
                for (long o = o0; o < o1; o++) {
                    int base = (int) kept.indexOf(o);
                    state.reset(0);
                    int is = in.innerStride(0);
                    if (op == ReduceOp.SUM && src.dtype() == DType.FLOAT32 && is == 1) {
                        double sum = 0;
                        for (long r = 0; r < in.rows; r++) {
                            in.rowStart(r, starts);
                            sum += sumRunF32(src.floats(), base + starts[0], in.inner);
                        }
                        Elementwise.write(dst, (int) keptDst.indexOf(o), sum);
                        continue;
                    }
                    long counter = 0;
                    for (long r = 0; r < in.rows; r++) {
                        in.rowStart(r, starts);
                        int p = base + starts[0];
                        for (int j = 0; j < in.inner; j++, p += is) {
                            state.add(0, src, p, counter++);
                        }
                    }
                    state.store(0, dst, (int) keptDst.indexOf(o));
                }
            });
        } else {
            // Outer loop over reduced positions, inner loop over kept positions (vectorisable rows).
            Strided keptIt = new Strided(kept, keptDst);
            long keptRows = keptIt.rows;
            int run = keptIt.inner;
            int ks = keptIt.innerStride(0);
            if (op == ReduceOp.SUM && src.dtype().isFloatingPoint() && keptRows < Parallel.THREADS
                    && perOut >= SPLIT_DEPTH) {
                sumSplit(src, dst, keptIt, inner, perOut);
                return;
            }
            Parallel.forRange(keptRows, perOut * run, (k0, k1) -> {
                int[] starts = new int[2];
                Lanes state = new Lanes(op, src.dtype(), run);
                for (long kr = k0; kr < k1; kr++) {
                    keptIt.rowStart(kr, starts);
                    state.reduceRows(src, starts[0], ks, inner, 0, perOut);
                    int os = keptIt.innerStride(1);
                    for (int j = 0, q = starts[1]; j < run; j++, q += os) {
                        state.store(j, dst, q);
                    }
                }
            });
        }
    }

    /**
     * The sum of {@code x[p, p + n)} in double, over four interleaved partial sums so the adds do
     * not wait on each other (a single chain ran at a quarter of the speed: the per-channel sums of
     * a convolution's bias gradient).
     */
    private static double sumRunF32(float[] x, int p, int n) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            s0 += x[p + j];
            s1 += x[p + j + 1];
            s2 += x[p + j + 2];
            s3 += x[p + j + 3];
        }
        for (; j < n; j++) {
            s0 += x[p + j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Reduced positions from which a sum over few kept rows is split across the pool. */
    static final long SPLIT_DEPTH = 1 << 14;

    /** Where reduced position {@code r} lies relative to its kept position (no division for one reduced dim). */
    private static int offset(Layout inner, long r) {
        return (int) (inner.rank() == 1 ? r * inner.stride(0) : inner.indexOf(r));
    }

    /**
     * A floating sum over many reduced positions into few kept rows (the bias gradient of a large
     * batch): the reduced positions are cut into a fixed number of chunks summed on the pool, and
     * the chunks' double sums are added in chunk order, so the result does not depend on scheduling.
     */
    private static void sumSplit(CpuStorage src, CpuStorage dst, Strided keptIt, Layout inner, long perOut) {
        int run = keptIt.inner;
        int ks = keptIt.innerStride(0);
        int chunks = (int) Math.min(Parallel.THREADS * 4L, perOut / (SPLIT_DEPTH / 4));
        int rows = (int) keptIt.rows;
        double[][] partial = new double[chunks * rows][];
        Parallel.forRange(chunks, perOut / chunks * run, (c0, c1) -> {
            int[] starts = new int[2];
            for (int ch = (int) c0; ch < c1; ch++) {
                long r0 = perOut * ch / chunks;
                long r1 = perOut * (ch + 1) / chunks;
                for (int kr = 0; kr < rows; kr++) {
                    keptIt.rowStart(kr, starts);
                    Lanes state = new Lanes(ReduceOp.SUM, src.dtype(), run);
                    state.reduceRows(src, starts[0], ks, inner, r0, r1);
                    partial[ch * rows + kr] = state.value;
                }
            }
        });
        int[] starts = new int[2];
        for (int kr = 0; kr < rows; kr++) {
            keptIt.rowStart(kr, starts);
            int os = keptIt.innerStride(1);
            for (int j = 0, q = starts[1]; j < run; j++, q += os) {
                double sum = 0;
                for (int ch = 0; ch < chunks; ch++) {
                    sum += partial[ch * rows + kr][j];
                }
                Elementwise.write(dst, q, sum);
            }
        }
    }

    /** Running values (and arg indices) of one reduction over {@code width} independent lanes. */
    static final class Lanes {
        private final ReduceOp op;
        private final DType type;
        private final double[] value;
        private final long[] longValue;
        private final long[] index;

        Lanes(ReduceOp op, DType type, int width) {
            this.op = op;
            this.type = type;
            this.value = new double[width];
            this.longValue = type == DType.INT64 ? new long[width] : null;
            this.index = new long[width];
        }

        void reset(int lane) {
            index[lane] = -1;
            switch (op) {
                case SUM, ANY -> value[lane] = 0;
                case PROD, ALL -> value[lane] = 1;
                case MAX, ARGMAX -> value[lane] = Double.NEGATIVE_INFINITY;
                case MIN, ARGMIN -> value[lane] = Double.POSITIVE_INFINITY;
            }
            if (longValue != null) {
                longValue[lane] = switch (op) {
                    case PROD, ALL -> 1;
                    case MAX, ARGMAX -> Long.MIN_VALUE;
                    case MIN, ARGMIN -> Long.MAX_VALUE;
                    default -> 0;
                };
            }
        }

        void add(int lane, CpuStorage src, int p, long position) {
            if (longValue != null) {
                addLong(lane, src.longs()[p], position);
            } else {
                addDouble(lane, Elementwise.read(src, p), position);
            }
        }

        /**
         * Resets every lane, then adds reduced positions {@code [r0, r1)} of the run of lanes that
         * starts at {@code start} with {@code stride}; {@code inner} places the reduced positions.
         */
        void reduceRows(CpuStorage src, int start, int stride, Layout inner, long r0, long r1) {
            for (int j = 0; j < value.length; j++) {
                reset(j);
            }
            for (long r = r0; r < r1; r++) {
                addRun(src, start + offset(inner, r), stride, value.length, r);
            }
        }

        private void addRun(CpuStorage src, int p, int stride, int run, long position) {
            if (op == ReduceOp.SUM && type == DType.FLOAT32) {
                float[] x = src.floats();
                for (int j = 0; j < run; j++, p += stride) {
                    value[j] += x[p];
                }
                return;
            }
            for (int j = 0; j < run; j++, p += stride) {
                add(j, src, p, position);
            }
        }

        private void addDouble(int lane, double x, long position) {
            double v = value[lane];
            switch (op) {
                case SUM -> value[lane] = v + x;
                case PROD -> value[lane] = v * x;
                case MAX -> value[lane] = (x > v || Double.isNaN(x)) && !Double.isNaN(v) ? x : v;
                case MIN -> value[lane] = (x < v || Double.isNaN(x)) && !Double.isNaN(v) ? x : v;
                case ARGMAX -> {
                    // First index wins ties; NaN counts as the largest value, and the first NaN wins.
                    if (index[lane] < 0 || (!Double.isNaN(v) && (x > v || Double.isNaN(x)))) {
                        value[lane] = x;
                        index[lane] = position;
                    }
                }
                case ARGMIN -> {
                    if (index[lane] < 0 || (!Double.isNaN(v) && (x < v || Double.isNaN(x)))) {
                        value[lane] = x;
                        index[lane] = position;
                    }
                }
                case ALL -> value[lane] = v != 0 && x != 0 ? 1 : 0;
                case ANY -> value[lane] = v != 0 || x != 0 ? 1 : 0;
            }
        }

        private void addLong(int lane, long x, long position) {
            long v = longValue[lane];
            switch (op) {
                case SUM -> longValue[lane] = v + x;
                case PROD -> longValue[lane] = v * x;
                case MAX -> longValue[lane] = Math.max(v, x);
                case MIN -> longValue[lane] = Math.min(v, x);
                case ARGMAX -> {
                    if (index[lane] < 0 || x > v) {
                        longValue[lane] = x;
                        index[lane] = position;
                    }
                }
                case ARGMIN -> {
                    if (index[lane] < 0 || x < v) {
                        longValue[lane] = x;
                        index[lane] = position;
                    }
                }
                case ALL -> longValue[lane] = v != 0 && x != 0 ? 1 : 0;
                case ANY -> longValue[lane] = v != 0 || x != 0 ? 1 : 0;
            }
        }

        void store(int lane, CpuStorage dst, int q) {
            if (op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN) {
                dst.longs()[q] = Math.max(index[lane], 0);
            } else if (longValue != null && dst.dtype() == DType.INT64) {
                dst.longs()[q] = longValue[lane];
            } else if (longValue != null) {
                Elementwise.write(dst, q, longValue[lane]);
            } else {
                Elementwise.write(dst, q, value[lane]);
            }
        }
    }

    /** Softmax or log-softmax along {@code dim}: max, sum of exponentials, then the outputs. */
    static void softmax(boolean log, int dim, CpuStorage src, Layout sl, CpuStorage dst, Layout dl) {
        Elementwise.requireComputable("softmax", src.dtype());
        long n = sl.size(dim);
        int ss = (int) sl.stride(dim);
        int ds = (int) dl.stride(dim);
        long[] shape = sl.shape();
        shape[dim] = 1;
        Layout rowsSrc = new Layout(shape, sl.strides(), sl.offset());
        Layout rowsDst = new Layout(shape, dl.strides(), dl.offset());
        long rows = rowsSrc.numel();
        boolean f32 = src.dtype() == DType.FLOAT32;
        Parallel.forRange(rows, n * 4, (r0, r1) -> {
            double[] tmp = new double[(int) n];
            for (long r = r0; r < r1; r++) {
                int p0 = (int) rowsSrc.indexOf(r);
                int q0 = (int) rowsDst.indexOf(r);
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0, p = p0; j < n; j++, p += ss) {
                    double x = f32 ? src.floats()[p] : src.doubles()[p];
                    tmp[j] = x;
                    if (x > max || Double.isNaN(x)) {
                        max = x;
                    }
                }
                if (Double.isInfinite(max) && max < 0) {
                    max = 0; // every entry is -inf: exp gives 0s and the result is nan, as PyTorch
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    sum += Math.exp(tmp[j] - max);
                }
                double logSum = Math.log(sum) + max;
                for (int j = 0, q = q0; j < n; j++, q += ds) {
                    double v = log ? tmp[j] - logSum : Math.exp(tmp[j] - logSum);
                    if (f32) {
                        dst.floats()[q] = (float) v;
                    } else {
                        dst.doubles()[q] = v;
                    }
                }
            }
        });
    }
}
