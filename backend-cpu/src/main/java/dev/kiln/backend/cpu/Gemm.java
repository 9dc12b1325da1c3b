package dev.kiln.backend.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

/**
 * Dense matrix multiply on Java arrays: the CPU backend's GEMM.
 *
 * <p>Operands are given by offset and a row and a column stride, so transposed, sliced and
 * broadcast (stride 0) matrices are multiplied without a copy by the caller: the kernel packs
 * them itself. The output is row-major with leading dimension {@code ldc}.
 *
 * <p>The float kernel is plain Java written so that C2's auto-vectoriser turns its inner loop
 * into AVX code (a later issue adds a {@code jdk.incubator.vector} kernel; keep this class the
 * one place that has to change). Facts it is built on, measured on the 2-core development
 * machine:
 * <ul>
 *   <li>C2 (JDK 17 and 25) only vectorises {@code c[j] += a * b[j]} when every array in the
 *       loop is indexed by the same expression; with {@code c[ci + j]} and {@code b[bk + j]}
 *       (different invariant offsets) it falls back to scalar code, 4-7 GFLOP/s. So B is packed
 *       into one array per row and the C tile into one array per row, all indexed by plain
 *       {@code j}.</li>
 *   <li>A rank-4 update per pass ({@code c[j] += a0*b0[j] + ... + a3*b3[j]}) is the sweet spot:
 *       it reads and writes C once per four multiply-adds (52-56 GFLOP/s on one core with the
 *       data in L1). JDK 17's C2 left rank-6 and rank-8 bodies scalar (6-9 GFLOP/s), and a loop
 *       that updates two C rows is not vectorised either (C2 cannot tell the rows apart).</li>
 *   <li>The inner loop must sit in its own small method (JDK 25 vectorises it only there), and
 *       C2 unrolls it for the trip counts it has profiled: with one kernel for all widths, a
 *       process that first ran 10-wide products hot then did 1024x1024 at 13 instead of 50
 *       GFLOP/s. Narrow and wide panels therefore go through separate copies of the kernel.</li>
 *   <li>Speed also moves by up to a third with where the packed rows land relative to 32-byte
 *       boundaries, which Java cannot choose; expect run-to-run spread.</li>
 * </ul>
 * With little other load on the machine this measured about 30 GFLOP/s on one thread and 50-60 on
 * two for 1024x1024 float32 under JDK 17 (see {@code SgemmBenchmark} in the benchmarks module).
 */
public final class Gemm {

    /** Rows of C computed per tile; the tile stays in L1/L2 while B's rows stream past it. */
    static final int MR = 8;
    /**
     * Depth of a packed block of B. A KC x NC block is 512 KiB, one core's L2; the four rows a
     * pass reads stay in L1 while all MR rows of the C tile take their update from them.
     */
    static final int KC = 256;
    /** Width of a packed block, and the inner loop's trip count. */
    static final int NC = 512;
    /** Panels narrower than this use the narrow copy of the kernel (see the class comment). */
    static final int WIDE = 128;
    /**
     * Products up to this many multiply-adds use the direct loop. Measured here, the packed path
     * already wins from 8x8x8 up (0.5 against 0.9 us; 3 against 6.5 us at 16x16x16, 29 against
     * 90 us for 64x128 @ 128x10): the direct loop cannot vectorise, so it is kept for the tiniest.
     */
    static final long SMALL_WORK = 256;
    /** Products from this many multiply-adds up are split across the pool. */
    static final long PARALLEL_WORK = 1L << 20;
    /** Target number of tasks per pool thread, for balance when blocks are uneven. */
    static final int TASKS_PER_THREAD = 2;

    /** Double blocking: a plain rank-1 update path, correctness over speed. */
    static final int DKC = 256;
    static final int DNC = 256;

    private Gemm() {
    }

    /**
     * Per-thread packing buffers for the float kernel, reused so a call allocates nothing once
     * the thread has seen its largest block (fresh pages cost about ten times reused ones here).
     * They grow to the block sizes asked for, so threads that only do small products stay small.
     */
    private static final class FloatWork {
        float[][] b = new float[0][];
        float[][] c = new float[0][];
        float[] a = new float[0];
        int width;

        FloatWork ensure(int kc, int nc) {
            if (kc > b.length || nc > width) {
                // Grow to the full block size at once rather than step by step.
                int w = Math.max(width, nc > WIDE ? NC : nc);
                int depth = Math.max(b.length, kc > KC / 2 ? KC : kc);
                b = new float[depth][w];
                c = new float[MR][w];
                a = new float[MR * depth];
                width = w;
            }
            return this;
        }
    }

    /** Per-thread packing buffers for the double path, grown the same way. */
    private static final class DoubleWork {
        double[][] b = new double[0][];
        double[] c = new double[0];

        DoubleWork ensure(int kc, int nc) {
            if (kc > b.length || nc > c.length) {
                int w = Math.max(c.length, nc);
                b = new double[Math.max(b.length, kc)][w];
                c = new double[w];
            }
            return this;
        }
    }

    /** Products from this many multiply-adds up go to the Vector API kernel when it is available. */
    static final long VECTOR_WORK = 32L * 32 * 32;

    /**
     * True when float32 products run on the Vector API kernel ({@code jdk.incubator.vector} is in
     * the JVM's module graph: {@code java --add-modules jdk.incubator.vector}, and
     * {@code -Dkiln.simd=false} is not set).
     */
    public static boolean vectorized() {
        return FloatKernels.INSTANCE != null;
    }

    private static final ThreadLocal<FloatWork> FLOAT_WORK = ThreadLocal.withInitial(FloatWork::new);
    private static final ThreadLocal<DoubleWork> DOUBLE_WORK = ThreadLocal.withInitial(DoubleWork::new);

    /**
     * Single-precision matrix multiply: {@code C = A @ B}, or {@code C += A @ B} when
     * {@code accumulate}.
     *
     * <p>A is {@code m x k} with element {@code (i, p)} at {@code a[aOff + i*aRowStride +
     * p*aColStride]}; B is {@code k x n} with element {@code (p, j)} at {@code b[bOff +
     * p*bRowStride + j*bColStride]}; C is {@code m x n} row-major, element {@code (i, j)} at
     * {@code c[cOff + i*ldc + j]}. Any strides work, including 0 (a broadcast operand) and
     * transposed layouts. With {@code k == 0} the product is zero: C is cleared unless
     * {@code accumulate}. C must not overlap A or B.
     *
     * @param pool the pool to split large products across; {@code null} runs everything on the
     *     calling thread. Small products always stay on the calling thread.
     * @throws IllegalArgumentException if a size is negative or {@code ldc < n} with {@code m > 1}
     */
    public static void sgemm(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride,
                             float[] b, int bOff, int bRowStride, int bColStride,
                             float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool) {
        checkSizes("sgemm", m, n, k, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        long work = (long) m * n * k;
        if (work <= SMALL_WORK) {
            sgemmDirect(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, accumulate);
            return;
        }
        if (FloatKernels.INSTANCE != null && work >= VECTOR_WORK && n >= 8) {
            // The Vector API kernel (when the JVM has jdk.incubator.vector): measured 40-50 GFLOP/s on
            // one core here against 25-30 for the scalar one below.
            FloatKernels.INSTANCE.sgemm(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, accumulate, pool);
            return;
        }
        FloatProblem pr;
        if (n < WIDE && m > n) {
            // The kernel vectorises along C's rows; when they are short and C has many of them,
            // compute C^T = B^T A^T instead so the long side runs through the inner loop.
            pr = new FloatProblem(n, m, k, b, bOff, bColStride, bRowStride, a, aOff, aColStride, aRowStride,
                    c, cOff, 1, ldc, accumulate);
        } else {
            pr = new FloatProblem(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, 1, accumulate);
        }
        if (pool == null || pool.getParallelism() < 2 || work < PARALLEL_WORK) {
            pr.run(0, pr.m, 0, pr.n);
        } else {
            runParallel(pool, pr.m, pr.n, NC, MR, pr::run);
        }
    }

    /**
     * A float left operand for many products on the calling thread (a convolution's weight over
     * the images of a batch): packed once here when the Vector API kernel runs, instead of once per
     * product.
     */
    static final class Left {
        final int m;
        final int k;
        final float[] a;
        final int aOff;
        final int ars;
        final int acs;
        final float[] packed;

        Left(int m, int k, float[] a, int aOff, int ars, int acs) {
            this.m = m;
            this.k = k;
            this.a = a;
            this.aOff = aOff;
            this.ars = ars;
            this.acs = acs;
            this.packed = FloatKernels.INSTANCE != null ? FloatKernels.INSTANCE.packLeft(m, k, a, aOff, ars, acs) : null;
        }
    }

    /** {@link #sgemm} on the calling thread with a left operand shared by many products. */
    static void sgemm(Left a, int n, float[] b, int bOff, int bRowStride, int bColStride, float[] c, int cOff, int ldc,
                      boolean accumulate) {
        checkSizes("sgemm", a.m, n, a.k, ldc);
        if (a.packed != null && a.m > 0 && n >= 8 && a.k > 0 && (long) a.m * n * a.k >= VECTOR_WORK) {
            FloatKernels.INSTANCE.sgemmPacked(a.m, n, a.k, a.packed, b, bOff, bRowStride, bColStride, c, cOff, ldc,
                    accumulate);
        } else {
            sgemm(a.m, n, a.k, a.a, a.aOff, a.ars, a.acs, b, bOff, bRowStride, bColStride, c, cOff, ldc, accumulate, null);
        }
    }

    /**
     * Double-precision matrix multiply with the same contract as {@link #sgemm}. This path is
     * simpler than the float one (rank-1 updates on packed rows, no register tiling): it serves
     * gradcheck and float64 users, for whom exactness of the contract matters more than speed.
     *
     * @param pool the pool to split large products across; {@code null} runs on the calling
     *     thread
     * @throws IllegalArgumentException if a size is negative or {@code ldc < n} with {@code m > 1}
     */
    public static void dgemm(int m, int n, int k, double[] a, int aOff, int aRowStride, int aColStride,
                             double[] b, int bOff, int bRowStride, int bColStride,
                             double[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool) {
        checkSizes("dgemm", m, n, k, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0.0);
                }
            }
            return;
        }
        long work = (long) m * n * k;
        if (work <= SMALL_WORK) {
            dgemmDirect(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, accumulate);
            return;
        }
        Block body = (i0, i1, j0, j1) -> dgemmBlock(i0, i1, j0, j1, k, a, aOff, aRowStride, aColStride,
                b, bOff, bRowStride, bColStride, c, cOff, ldc, accumulate);
        if (pool == null || pool.getParallelism() < 2 || work < PARALLEL_WORK) {
            body.run(0, m, 0, n);
        } else {
            runParallel(pool, m, n, DNC, 1, body);
        }
    }

    private static void checkSizes(String op, int m, int n, int k, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException(op + ": negative size m=" + m + ", n=" + n + ", k=" + k);
        }
        if (m > 1 && ldc < n) {
            throw new IllegalArgumentException(op + ": ldc " + ldc + " is less than n=" + n);
        }
    }

    /** A piece of work over C's rows {@code [i0, i1)} and columns {@code [j0, j1)}. */
    @FunctionalInterface
    private interface Block {
        void run(int i0, int i1, int j0, int j1);
    }

    /**
     * Splits C into a grid of disjoint blocks (whole column panels of width {@code nc} where
     * possible, rows in multiples of {@code mr}) and runs them on the pool. Each block packs its
     * own panels, so blocks share nothing and need no synchronisation.
     */
    private static void runParallel(ForkJoinPool pool, int m, int n, int nc, int mr, Block body) {
        int target = pool.getParallelism() * TASKS_PER_THREAD;
        int colBlocks = Math.min((n + nc - 1) / nc, target);
        int colsPer = (n + colBlocks - 1) / colBlocks;
        int rowBlocks = Math.max(1, (target + colBlocks - 1) / colBlocks);
        int rowsPer = roundUp((m + rowBlocks - 1) / rowBlocks, mr);
        List<Runnable> tasks = new ArrayList<>();
        for (int i0 = 0; i0 < m; i0 += rowsPer) {
            for (int j0 = 0; j0 < n; j0 += colsPer) {
                int bi0 = i0;
                int bi1 = Math.min(m, i0 + rowsPer);
                int bj0 = j0;
                int bj1 = Math.min(n, j0 + colsPer);
                tasks.add(() -> body.run(bi0, bi1, bj0, bj1));
            }
        }
        Parallel.run(pool, tasks);
    }

    private static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }

    // ---------------------------------------------------------------------------------------
    // float

    /**
     * The loop for tiny products, where packing and tiling cost more than they save: one dot
     * product per element of C, with four partial sums so the adds do not wait on each other.
     */
    private static void sgemmDirect(int m, int n, int k, float[] a, int aOff, int ars, int acs,
                                    float[] b, int bOff, int brs, int bcs,
                                    float[] c, int cOff, int ldc, boolean accumulate) {
        int k4 = k & ~3;
        for (int i = 0; i < m; i++) {
            int ai = aOff + i * ars;
            for (int j = 0; j < n; j++) {
                int bj = bOff + j * bcs;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                int p = 0;
                for (; p < k4; p += 4) {
                    s0 += a[ai + p * acs] * b[bj + p * brs];
                    s1 += a[ai + (p + 1) * acs] * b[bj + (p + 1) * brs];
                    s2 += a[ai + (p + 2) * acs] * b[bj + (p + 2) * brs];
                    s3 += a[ai + (p + 3) * acs] * b[bj + (p + 3) * brs];
                }
                for (; p < k; p++) {
                    s0 += a[ai + p * acs] * b[bj + p * brs];
                }
                float s = (s0 + s1) + (s2 + s3);
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        }
    }

    /**
     * One float product in the kernel's orientation: A is {@code m x k}, B is {@code k x n} and
     * C has general strides, since C^T (column-major C) is used for narrow products.
     */
    private static final class FloatProblem {
        final int m;
        final int n;
        final int k;
        final float[] a;
        final int aOff;
        final int ars;
        final int acs;
        final float[] b;
        final int bOff;
        final int brs;
        final int bcs;
        final float[] c;
        final int cOff;
        final int crs;
        final int ccs;
        final boolean accumulate;

        FloatProblem(int m, int n, int k, float[] a, int aOff, int ars, int acs,
                     float[] b, int bOff, int brs, int bcs,
                     float[] c, int cOff, int crs, int ccs, boolean accumulate) {
            this.m = m;
            this.n = n;
            this.k = k;
            this.a = a;
            this.aOff = aOff;
            this.ars = ars;
            this.acs = acs;
            this.b = b;
            this.bOff = bOff;
            this.brs = brs;
            this.bcs = bcs;
            this.c = c;
            this.cOff = cOff;
            this.crs = crs;
            this.ccs = ccs;
            this.accumulate = accumulate;
        }

        /**
         * Computes C's block {@code [i0, i1) x [j0, j1)}: for each NC-wide, KC-deep block of B,
         * pack it into row arrays, then sweep MR-row tiles of A over it.
         */
        void run(int i0, int i1, int j0, int j1) {
            FloatWork w = FLOAT_WORK.get().ensure(Math.min(KC, k), Math.min(NC, j1 - j0));
            float[][] bp = w.b;
            float[][] ct = w.c;
            float[] ap = w.a;
            for (int jc = j0; jc < j1; jc += NC) {
                int nc = Math.min(NC, j1 - jc);
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    // The first depth block overwrites C, so C's old contents (even NaN) never leak in.
                    boolean overwrite = !accumulate && pc == 0;
                    packB(bp, kc, nc, bOff + pc * brs + jc * bcs);
                    for (int ic = i0; ic < i1; ic += MR) {
                        int mr = Math.min(MR, i1 - ic);
                        packA(ap, mr, kc, aOff + ic * ars + pc * acs);
                        for (int i = 0; i < mr; i++) {
                            Arrays.fill(ct[i], 0, nc, 0f);
                        }
                        if (nc >= WIDE) {
                            tileWide(ct, bp, ap, mr, kc, nc);
                        } else {
                            tileNarrow(ct, bp, ap, mr, kc, nc);
                        }
                        store(ct, mr, nc, cOff + ic * crs + jc * ccs, overwrite);
                    }
                }
            }
        }

        private void packB(float[][] bp, int kc, int nc, int off) {
            for (int p = 0; p < kc; p++) {
                float[] row = bp[p];
                int o = off + p * brs;
                if (bcs == 1) {
                    System.arraycopy(b, o, row, 0, nc);
                } else {
                    for (int j = 0; j < nc; j++) {
                        row[j] = b[o + j * bcs];
                    }
                }
            }
        }

        /** A's tile row-major, {@code ap[i*kc + p]}: the kernel reads four scalars of a row at a time. */
        private void packA(float[] ap, int mr, int kc, int off) {
            for (int i = 0; i < mr; i++) {
                int s = off + i * ars;
                int d = i * kc;
                if (acs == 1) {
                    System.arraycopy(a, s, ap, d, kc);
                } else {
                    for (int p = 0; p < kc; p++) {
                        ap[d + p] = a[s + p * acs];
                    }
                }
            }
        }

        private void store(float[][] ct, int mr, int nc, int off, boolean overwrite) {
            for (int i = 0; i < mr; i++) {
                float[] r = ct[i];
                int o = off + i * crs;
                if (ccs == 1) {
                    if (overwrite) {
                        System.arraycopy(r, 0, c, o, nc);
                    } else {
                        for (int j = 0; j < nc; j++) {
                            c[o + j] += r[j];
                        }
                    }
                } else if (overwrite) {
                    for (int j = 0; j < nc; j++) {
                        c[o + j * ccs] = r[j];
                    }
                } else {
                    for (int j = 0; j < nc; j++) {
                        c[o + j * ccs] += r[j];
                    }
                }
            }
        }
    }

    /*
     * The tile loops. Depth runs outermost so the four B rows of a step stay in L1 while all MR
     * rows of the C tile take their update from them. tileWide and tileNarrow are deliberate
     * copies: each has its own profile, so C2 compiles each kernel for the trip counts it
     * really sees (see the class comment).
     */

    private static void tileWide(float[][] ct, float[][] bp, float[] ap, int mr, int kc, int nc) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            float[] b0 = bp[p];
            float[] b1 = bp[p + 1];
            float[] b2 = bp[p + 2];
            float[] b3 = bp[p + 3];
            for (int i = 0; i < mr; i++) {
                int x = i * kc + p;
                rank4Wide(ct[i], b0, b1, b2, b3, nc, ap[x], ap[x + 1], ap[x + 2], ap[x + 3]);
            }
        }
        for (; p < kc; p++) {
            float[] b0 = bp[p];
            for (int i = 0; i < mr; i++) {
                rank1Wide(ct[i], b0, nc, ap[i * kc + p]);
            }
        }
    }

    private static void tileNarrow(float[][] ct, float[][] bp, float[] ap, int mr, int kc, int nc) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            float[] b0 = bp[p];
            float[] b1 = bp[p + 1];
            float[] b2 = bp[p + 2];
            float[] b3 = bp[p + 3];
            for (int i = 0; i < mr; i++) {
                int x = i * kc + p;
                rank4Narrow(ct[i], b0, b1, b2, b3, nc, ap[x], ap[x + 1], ap[x + 2], ap[x + 3]);
            }
        }
        for (; p < kc; p++) {
            float[] b0 = bp[p];
            for (int i = 0; i < mr; i++) {
                rank1Narrow(ct[i], b0, nc, ap[i * kc + p]);
            }
        }
    }

    // The inner loops: every array indexed by plain j, so C2 emits packed multiply-adds.

    private static void rank4Wide(float[] c, float[] b0, float[] b1, float[] b2, float[] b3, int n,
                                  float a0, float a1, float a2, float a3) {
        for (int j = 0; j < n; j++) {
            c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
    }

    private static void rank1Wide(float[] c, float[] b0, int n, float a0) {
        for (int j = 0; j < n; j++) {
            c[j] += a0 * b0[j];
        }
    }

    private static void rank4Narrow(float[] c, float[] b0, float[] b1, float[] b2, float[] b3, int n,
                                    float a0, float a1, float a2, float a3) {
        for (int j = 0; j < n; j++) {
            c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
    }

    private static void rank1Narrow(float[] c, float[] b0, int n, float a0) {
        for (int j = 0; j < n; j++) {
            c[j] += a0 * b0[j];
        }
    }

    // ---------------------------------------------------------------------------------------
    // double

    private static void dgemmDirect(int m, int n, int k, double[] a, int aOff, int ars, int acs,
                                    double[] b, int bOff, int brs, int bcs,
                                    double[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ai = aOff + i * ars;
            for (int j = 0; j < n; j++) {
                int bj = bOff + j * bcs;
                double s = 0.0;
                for (int p = 0; p < k; p++) {
                    s += a[ai + p * acs] * b[bj + p * brs];
                }
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        }
    }

    /** C's block {@code [i0, i1) x [j0, j1)} by rank-1 updates of one packed row at a time. */
    private static void dgemmBlock(int i0, int i1, int j0, int j1, int k,
                                   double[] a, int aOff, int ars, int acs,
                                   double[] b, int bOff, int brs, int bcs,
                                   double[] c, int cOff, int ldc, boolean accumulate) {
        DoubleWork w = DOUBLE_WORK.get().ensure(Math.min(DKC, k), Math.min(DNC, j1 - j0));
        double[][] bp = w.b;
        double[] acc = w.c;
        for (int jc = j0; jc < j1; jc += DNC) {
            int nc = Math.min(DNC, j1 - jc);
            for (int pc = 0; pc < k; pc += DKC) {
                int kc = Math.min(DKC, k - pc);
                boolean overwrite = !accumulate && pc == 0;
                for (int p = 0; p < kc; p++) {
                    double[] row = bp[p];
                    int o = bOff + (pc + p) * brs + jc * bcs;
                    for (int j = 0; j < nc; j++) {
                        row[j] = b[o + j * bcs];
                    }
                }
                for (int i = i0; i < i1; i++) {
                    Arrays.fill(acc, 0, nc, 0.0);
                    int ai = aOff + i * ars + pc * acs;
                    for (int p = 0; p < kc; p++) {
                        daxpy(acc, bp[p], nc, a[ai + p * acs]);
                    }
                    int co = cOff + i * ldc + jc;
                    if (overwrite) {
                        System.arraycopy(acc, 0, c, co, nc);
                    } else {
                        for (int j = 0; j < nc; j++) {
                            c[co + j] += acc[j];
                        }
                    }
                }
            }
        }
    }

    private static void daxpy(double[] c, double[] b, int n, double a) {
        for (int j = 0; j < n; j++) {
            c[j] += a * b[j];
        }
    }
}
