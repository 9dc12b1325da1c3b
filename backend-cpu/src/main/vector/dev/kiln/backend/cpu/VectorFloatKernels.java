package dev.kiln.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

/**
 * {@link FloatKernels} on the Vector API: a BLIS-style SGEMM whose micro-kernel keeps a 6 x 16
 * tile of C in twelve 8-float registers and streams packed panels of A (6 rows) and B (16
 * columns) through fused multiply-adds, which is what 256-bit AVX2 with 16 registers holds (12
 * accumulators, 2 B vectors, 1 broadcast A value). Blocks: KC = 256 deep, MC = 96 rows of A
 * (96 KiB, L2), and C is swept NC = 1024 columns at a time (B's 1 MiB KC x NC block in L2/L3).
 *
 * <p>Loaded reflectively by {@link FloatKernels.Loader}; compiled separately with
 * {@code --add-modules jdk.incubator.vector}.
 */
final class VectorFloatKernels implements FloatKernels {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = 8;
    private static final int MR = 6;
    private static final int NR = 16;
    private static final int KC = 256;
    private static final int MC = 96;
    private static final int NC = 1024;

    /** Products from this many multiply-adds up are split across the pool. */
    private static final long PARALLEL_WORK = 1L << 21;
    /**
     * Pooled products below this many multiply-adds are split into per-thread column slabs
     * ({@link #columnSplit}) rather than sharing B's packing.
     */
    private static final long SPLIT_WORK = 1L << 24;
    /** Most floats of packed B held at once (64 MiB); wider products are done in column slabs. */
    private static final long MAX_PACKED_B = 1L << 24;

    /** Per-thread scratch: the packed A block, a partial tile, and packed B for single-thread products. */
    private static final class Work {
        final float[] a = new float[MC * KC];
        final float[] tile = new float[MR * NR];
        float[] b = new float[0];

        float[] b(int length) {
            if (b.length < length) {
                b = new float[length];
            }
            return b;
        }
    }

    private static final ThreadLocal<Work> WORK = ThreadLocal.withInitial(Work::new);

    VectorFloatKernels() {
        if (FloatVector.SPECIES_PREFERRED.length() < L) {
            throw new UnsupportedOperationException("fewer than 8 float lanes: the scalar kernels are as fast");
        }
    }

    /**
     * BLIS-style. Single-threaded, B is packed one KC x NC block at a time (it stays in cache for
     * the sweep of A over it). Split across the pool, B is packed once for as much depth as fits
     * {@link #MAX_PACKED_B} by the threads together, then the threads share out C in blocks of
     * rows and NR-column panels, each packing only its own blocks of A: two pool barriers per
     * packed part, and no thread packs what another already did.
     */
    @Override
    public void sgemm(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                      float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool) {
        int threads = pool == null ? 1 : pool.getParallelism();
        if (threads < 2 || (long) m * n * k < PARALLEL_WORK) {
            onThisThread(m, n, k, a, aOff, ars, acs, null, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
            return;
        }
        if (rowParts(m, threads) < threads && rowParts(n, threads) >= threads * 2 && k >= KC) {
            transposed(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate, pool);
            return;
        }
        if (gridParts(m, roundUp(n, NR) / NR, threads) < threads && k >= 4 * KC * threads) {
            depthSplit(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate, pool, threads);
            return;
        }
        if (roundUp(n, NR) / NR >= threads && (rowParts(m, threads) == 1 || (long) m * n * k < SPLIT_WORK)) {
            columnSplit(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate, pool, threads);
            return;
        }
        int slab = Math.min(roundUp(n, NR), (int) (MAX_PACKED_B / KC / NR * NR));
        int depth = (int) Math.min(roundUp(k, KC), Math.max(KC, MAX_PACKED_B / slab / KC * KC));
        float[] bp = BufferPool.floats(slab * Math.min(depth, k));
        try {
            for (int j0 = 0; j0 < n; j0 += slab) {
                int nc = Math.min(slab, n - j0);
                for (int d0 = 0; d0 < k; d0 += depth) {
                    new Product(m, nc, d0, Math.min(k, d0 + depth), a, aOff, ars, acs, null, b, bOff + j0 * bcs, brs, bcs, bp,
                            c, cOff + j0, ldc, accumulate || d0 > 0).runOn(pool, threads);
                }
            }
        } finally {
            BufferPool.recycle(bp);
        }
    }

    /**
     * One product on the calling thread: B packed one KC x NC block at a time into this thread's
     * buffer (it stays in cache for the sweep of A over it), A packed per block unless
     * {@code packedA} holds it from {@link #packLeft}.
     */
    private static void onThisThread(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] packedA, float[] b,
                                     int bOff, int brs, int bcs, float[] c, int cOff, int ldc, boolean accumulate) {
        int slab = Math.min(roundUp(n, NR), NC);
        float[] bp = WORK.get().b(slab * Math.min(KC, k));
        for (int j0 = 0; j0 < n; j0 += slab) {
            int nc = Math.min(slab, n - j0);
            int panels = (nc + NR - 1) / NR;
            for (int d0 = 0; d0 < k; d0 += KC) {
                Product pr = new Product(m, nc, d0, Math.min(k, d0 + KC), a, aOff, ars, acs, packedA, b, bOff + j0 * bcs, brs,
                        bcs, bp, c, cOff + j0, ldc, accumulate || d0 > 0);
                pr.packB(0, panels);
                pr.compute(0, m, 0, panels);
            }
        }
    }

    /**
     * A's m x k blocks as {@link Product#compute} reads them, all depth blocks one after another:
     * for a left operand many single-threaded products share (a convolution's weight).
     */
    @Override
    public float[] packLeft(int m, int k, float[] a, int aOff, int ars, int acs) {
        int rows = roundUp(m, MR);
        float[] ap = new float[rows * k];
        for (int pc = 0; pc < k; pc += KC) {
            packA(a, aOff + pc * acs, ars, acs, m, Math.min(KC, k - pc), ap, pc * rows);
        }
        return ap;
    }

    @Override
    public void sgemmPacked(int m, int n, int k, float[] packedA, float[] b, int bOff, int brs, int bcs, float[] c,
                            int cOff, int ldc, boolean accumulate) {
        onThisThread(m, n, k, null, 0, 0, 0, packedA, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
    }

    /*
     * How C is shared out: rows in parts of at least 48 (packing B's panels into L1 pays over that
     * many rows), columns in parts of at least 8 panels (to amortise packing A), about 4 tasks a
     * thread.
     */

    private static int rowParts(int m, int threads) {
        return Math.max(1, Math.min(threads * 4, m / (8 * MR)));
    }

    private static int colParts(int rowParts, int panels, int threads) {
        return Math.max(1, Math.min((threads * 4 + rowParts - 1) / rowParts, panels / 8));
    }

    private static int gridParts(int m, int panels, int threads) {
        int rows = rowParts(m, threads);
        return rows * colParts(rows, panels, threads);
    }

    /**
     * Few rows of C and many columns (a convolution's output channels over batch x positions):
     * C^T = B^T A^T has the many rows the threads can share and whole 16-wide panels, measured
     * here at 1.5x the direct orientation for 64 x 7744 x 288; it is computed into a scratch array
     * and transposed into C, one extra pass over C, which only pays when the product is deep enough.
     */
    private void transposed(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs,
                            int bcs, float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool) {
        float[] t = BufferPool.floats(m * n);
        try {
            sgemm(n, m, k, b, bOff, bcs, brs, a, aOff, acs, ars, t, 0, m, false, pool);
            List<Runnable> tasks = new ArrayList<>();
            int parts = pool.getParallelism() * 2;
            for (int q = 0; q < parts; q++) {
                int j0 = (int) ((long) n * q / parts);
                int j1 = (int) ((long) n * (q + 1) / parts);
                tasks.add(() -> {
                    // In blocks of 64 columns, so the block of t being read stays in L1.
                    for (int jb = j0; jb < j1; jb += 64) {
                        int je = Math.min(j1, jb + 64);
                        for (int i = 0; i < m; i++) {
                            int row = cOff + i * ldc;
                            for (int j = jb; j < je; j++) {
                                c[row + j] = accumulate ? c[row + j] + t[j * m + i] : t[j * m + i];
                            }
                        }
                    }
                });
            }
            Parallel.run(pool, tasks);
        } finally {
            BufferPool.recycle(t);
        }
    }

    /**
     * A small C over a deep product (a convolution's weight gradient): too few blocks of C to
     * share, so the depth is cut into one slice per task, each multiplied on one thread into its
     * own C (transposed when that fills the 16-wide panels better), and the slices are added in
     * order, so the result does not depend on scheduling.
     */
    private void depthSplit(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs,
                            int bcs, float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool, int threads) {
        int parts = Math.min(threads * 2, k / (2 * KC));
        boolean transpose = n < NR && m > n;
        float[][] partial = new float[parts][m * n];
        List<Runnable> tasks = new ArrayList<>();
        for (int t = 0; t < parts; t++) {
            int p0 = (int) ((long) k * t / parts);
            int p1 = (int) ((long) k * (t + 1) / parts);
            float[] out = partial[t];
            tasks.add(() -> {
                if (transpose) {
                    sgemm(n, m, p1 - p0, b, bOff + p0 * brs, bcs, brs, a, aOff + p0 * acs, acs, ars, out, 0, m, false, null);
                } else {
                    sgemm(m, n, p1 - p0, a, aOff + p0 * acs, ars, acs, b, bOff + p0 * brs, brs, bcs, out, 0, n, false, null);
                }
            });
        }
        Parallel.run(pool, tasks);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int at = transpose ? j * m + i : i * n + j;
                float sum = accumulate ? c[cOff + i * ldc + j] : 0f;
                for (float[] part : partial) {
                    sum += part[at];
                }
                c[cOff + i * ldc + j] = sum;
            }
        }
    }

    /**
     * A product under {@link #SPLIT_WORK} or with too few rows of C to share (a linear layer's
     * 64 x 128 or 128 x 784 over a batch of 64): one task per thread takes a slab of whole panels
     * and multiplies it as a single-thread product, packing its own part of B and all of A into its
     * thread's buffers. Sharing B's packing instead costs two pool barriers and a fresh packed-B
     * array, which for these sub-millisecond products left the pool slower than one thread (31-45
     * against 66-87 GFLOP/s).
     */
    private void columnSplit(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs,
                             int bcs, float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool, int threads) {
        int panels = roundUp(n, NR) / NR;
        List<Runnable> tasks = new ArrayList<>();
        int parts = Math.min(panels, threads);
        for (int t = 0; t < parts; t++) {
            int j0 = panels * t / parts * NR;
            int j1 = Math.min(n, panels * (t + 1) / parts * NR);
            tasks.add(() -> sgemm(m, j1 - j0, k, a, aOff, ars, acs, b, bOff + j0 * bcs, brs, bcs, c, cOff + j0, ldc,
                    accumulate, null));
        }
        Parallel.run(pool, tasks);
    }

    private static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }

    /**
     * The part of a product over C's columns {@code [0, n)} of a slab and B's rows
     * {@code [d0, d1)}: B packed into {@code bp} as, for each KC-deep block starting at
     * {@code pc}, its NR-column panels of kc rows each, the block at {@code (pc - d0) * panels * NR}.
     * C is overwritten by the first depth block unless {@code accumulate}.
     */
    private record Product(int m, int n, int d0, int d1, float[] a, int aOff, int ars, int acs, float[] packedA,
                           float[] b, int bOff, int brs, int bcs, float[] bp, float[] c, int cOff, int ldc,
                           boolean accumulate) {

        private int panels() {
            return (n + NR - 1) / NR;
        }

        /** Packs B on the pool, then computes C's blocks on it. */
        void runOn(ForkJoinPool pool, int threads) {
            int panels = panels();
            List<Runnable> packs = new ArrayList<>();
            int packParts = Math.min(panels, threads * 2);
            for (int t = 0; t < packParts; t++) {
                int p0 = panels * t / packParts;
                int p1 = panels * (t + 1) / packParts;
                packs.add(() -> packB(p0, p1));
            }
            Parallel.run(pool, packs);
            int rowParts = rowParts(m, threads);
            int colParts = colParts(rowParts, panels, threads);
            int rowsPer = roundUp((m + rowParts - 1) / rowParts, MR);
            List<Runnable> work = new ArrayList<>();
            for (int i0 = 0; i0 < m; i0 += rowsPer) {
                for (int t = 0; t < colParts; t++) {
                    int r0 = i0;
                    int r1 = Math.min(m, i0 + rowsPer);
                    int p0 = panels * t / colParts;
                    int p1 = panels * (t + 1) / colParts;
                    work.add(() -> compute(r0, r1, p0, p1));
                }
            }
            Parallel.run(pool, work);
        }

        /** Packs B's panels {@code [p0, p1)} of every depth block. */
        void packB(int p0, int p1) {
            int stride = panels() * NR;
            for (int pc = d0; pc < d1; pc += KC) {
                int kc = Math.min(KC, d1 - pc);
                for (int p = p0; p < p1; p++) {
                    int jr = p * NR;
                    packPanel(b, bOff + pc * brs + jr * bcs, brs, bcs, kc, Math.min(NR, n - jr), bp,
                            (pc - d0) * stride + p * kc * NR);
                }
            }
        }

        /** C's rows {@code [i0, i1)} and panels {@code [p0, p1)}, from the packed B. */
        void compute(int i0, int i1, int p0, int p1) {
            Work w = WORK.get();
            float[] ap = w.a;
            int stride = panels() * NR;
            for (int pc = d0; pc < d1; pc += KC) {
                int kc = Math.min(KC, d1 - pc);
                boolean overwrite = !accumulate && pc == d0;
                // Column chunks of NC keep the B panels an A block meets within L2.
                for (int q0 = p0; q0 < p1; q0 += NC / NR) {
                    int q1 = Math.min(p1, q0 + NC / NR);
                    for (int ic = i0; ic < i1; ic += MC) {
                        int mc = Math.min(MC, i1 - ic);
                        // A prepacked by packLeft holds depth block pc at pc * (m rounded up to MR).
                        float[] as = packedA == null ? ap : packedA;
                        int aBase = packedA == null ? 0 : pc * roundUp(m, MR) + ic * kc;
                        if (packedA == null) {
                            packA(a, aOff + ic * ars + pc * acs, ars, acs, mc, kc, ap, 0);
                        }
                        for (int p = q0; p < q1; p++) {
                            int jr = p * NR;
                            int nr = Math.min(NR, n - jr);
                            int bBase = (pc - d0) * stride + p * kc * NR;
                            for (int ir = 0; ir < mc; ir += MR) {
                                int mr = Math.min(MR, mc - ir);
                                int cAt = cOff + (ic + ir) * ldc + jr;
                                // Partial tiles go through a scratch tile. The kernel is called from here
                                // only: inlined into a small caller it ran unintrinsified (boxed vectors).
                                boolean full = mr == MR && nr == NR;
                                kernel(kc, as, aBase + (ir / MR) * kc * MR, bp, bBase, full ? c : w.tile, full ? cAt : 0,
                                        full ? ldc : NR, full ? overwrite : true);
                                if (!full) {
                                    edge(c, cAt, ldc, mr, nr, overwrite, w.tile);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** One NR-column panel of B, kc rows of NR floats from {@code dst} on (zero-padded at the right edge). */
    private static void packPanel(float[] b, int src, int brs, int bcs, int kc, int nr, float[] bp, int dst) {
        if (bcs != 1 && brs == 1 && nr == NR) {
            // B is a transposed view (x @ W^T): NR streams along its contiguous depth, each packed
            // row written in one go.
            for (int p = 0; p < kc; p++) {
                int d = dst + p * NR;
                for (int j = 0; j < NR; j++) {
                    bp[d + j] = b[src + j * bcs + p];
                }
            }
            return;
        }
        for (int p = 0; p < kc; p++) {
            int s = src + p * brs;
            int d = dst + p * NR;
            if (bcs == 1) {
                System.arraycopy(b, s, bp, d, nr);
            } else {
                for (int j = 0; j < nr; j++) {
                    bp[d + j] = b[s + j * bcs];
                }
            }
            for (int j = nr; j < NR; j++) {
                bp[d + j] = 0f;
            }
        }
    }

    /** A's mc x kc block as MR-row panels from {@code ap[start]} on, each kc columns of MR floats (zero-padded at the bottom edge). */
    private static void packA(float[] a, int off, int ars, int acs, int mc, int kc, float[] ap, int start) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int base = start + (ir / MR) * kc * MR;
            if (ars == 1 && acs != 1) {
                // A is a transposed view (g^T @ x, a convolution's columns): read its rows of MR
                // contiguous values, a full row written out unrolled (faster than the inner loop in
                // an A/B run on the CNN's 7744 x 288 columns).
                if (mr == MR) {
                    for (int p = 0, dst = base, src = off + ir; p < kc; p++, dst += MR, src += acs) {
                        ap[dst] = a[src];
                        ap[dst + 1] = a[src + 1];
                        ap[dst + 2] = a[src + 2];
                        ap[dst + 3] = a[src + 3];
                        ap[dst + 4] = a[src + 4];
                        ap[dst + 5] = a[src + 5];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        int src = off + ir + p * acs;
                        for (int r = 0; r < mr; r++) {
                            ap[base + p * MR + r] = a[src + r];
                        }
                    }
                }
            } else if (mr == MR && acs == 1) {
                // MR streams along A's contiguous rows, each packed column written in one go; six row
                // offsets and a unit-stride index let C2 hoist the bounds checks (measured 25% faster
                // than indexing through the strides, which the next case must do).
                int r0 = off + ir * ars;
                int r1 = r0 + ars;
                int r2 = r1 + ars;
                int r3 = r2 + ars;
                int r4 = r3 + ars;
                int r5 = r4 + ars;
                for (int p = 0, dst = base; p < kc; p++, dst += MR) {
                    ap[dst] = a[r0 + p];
                    ap[dst + 1] = a[r1 + p];
                    ap[dst + 2] = a[r2 + p];
                    ap[dst + 3] = a[r3 + p];
                    ap[dst + 4] = a[r4 + p];
                    ap[dst + 5] = a[r5 + p];
                }
            } else if (mr == MR) {
                int src = off + ir * ars;
                for (int p = 0; p < kc; p++) {
                    int dst = base + p * MR;
                    int at = src + p * acs;
                    ap[dst] = a[at];
                    ap[dst + 1] = a[at + ars];
                    ap[dst + 2] = a[at + 2 * ars];
                    ap[dst + 3] = a[at + 3 * ars];
                    ap[dst + 4] = a[at + 4 * ars];
                    ap[dst + 5] = a[at + 5 * ars];
                }
            } else {
                for (int r = 0; r < mr; r++) {
                    int src = off + (ir + r) * ars;
                    for (int p = 0; p < kc; p++) {
                        ap[base + p * MR + r] = a[src + p * acs];
                    }
                }
            }
            for (int r = mr; r < MR; r++) {
                for (int p = 0; p < kc; p++) {
                    ap[base + p * MR + r] = 0f;
                }
            }
        }
    }

    /** The 6 x 16 micro-kernel on a full tile of C. */
    private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S);
        FloatVector c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S);
        FloatVector c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S);
        FloatVector c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S);
        FloatVector c51 = FloatVector.zero(S);
        // Stepping both panel offsets (not deriving them from a depth index) compiles, when the kernel
        // is not inlined into its caller, to a loop measured 5-30% faster here under JDK 17's C2.
        for (int bi = bo, ai = ao, end = ao + kc * MR; ai < end; bi += NR, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
        }
        // Stores written out in full: a helper taking vectors, if not inlined, would box them.
        if (overwrite) {
            c00.intoArray(c, co);
            c01.intoArray(c, co + L);
            c10.intoArray(c, co + ldc);
            c11.intoArray(c, co + ldc + L);
            c20.intoArray(c, co + 2 * ldc);
            c21.intoArray(c, co + 2 * ldc + L);
            c30.intoArray(c, co + 3 * ldc);
            c31.intoArray(c, co + 3 * ldc + L);
            c40.intoArray(c, co + 4 * ldc);
            c41.intoArray(c, co + 4 * ldc + L);
            c50.intoArray(c, co + 5 * ldc);
            c51.intoArray(c, co + 5 * ldc + L);
        } else {
            c00.add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
            c01.add(FloatVector.fromArray(S, c, co + L)).intoArray(c, co + L);
            c10.add(FloatVector.fromArray(S, c, co + ldc)).intoArray(c, co + ldc);
            c11.add(FloatVector.fromArray(S, c, co + ldc + L)).intoArray(c, co + ldc + L);
            c20.add(FloatVector.fromArray(S, c, co + 2 * ldc)).intoArray(c, co + 2 * ldc);
            c21.add(FloatVector.fromArray(S, c, co + 2 * ldc + L)).intoArray(c, co + 2 * ldc + L);
            c30.add(FloatVector.fromArray(S, c, co + 3 * ldc)).intoArray(c, co + 3 * ldc);
            c31.add(FloatVector.fromArray(S, c, co + 3 * ldc + L)).intoArray(c, co + 3 * ldc + L);
            c40.add(FloatVector.fromArray(S, c, co + 4 * ldc)).intoArray(c, co + 4 * ldc);
            c41.add(FloatVector.fromArray(S, c, co + 4 * ldc + L)).intoArray(c, co + 4 * ldc + L);
            c50.add(FloatVector.fromArray(S, c, co + 5 * ldc)).intoArray(c, co + 5 * ldc);
            c51.add(FloatVector.fromArray(S, c, co + 5 * ldc + L)).intoArray(c, co + 5 * ldc + L);
        }
    }

    /** A partial tile: the valid mr x nr corner of the scratch tile into C. */
    private static void edge(float[] c, int co, int ldc, int mr, int nr, boolean overwrite, float[] tile) {
        for (int r = 0; r < mr; r++) {
            int t = r * NR;
            int o = co + r * ldc;
            if (overwrite) {
                System.arraycopy(tile, t, c, o, nr);
            } else {
                for (int j = 0; j < nr; j++) {
                    c[o + j] += tile[t + j];
                }
            }
        }
    }

    @Override
    public void axpy(float[] t, float[] r, float s, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += L) {
            FloatVector.fromArray(S, r, j).fma(sv, FloatVector.fromArray(S, t, j)).intoArray(t, j);
        }
        for (; j < n; j++) {
            t[j] = Math.fma(s, r[j], t[j]);
        }
    }

    @Override
    public void scale(float[] t, float[] r, float s, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += L) {
            FloatVector.fromArray(S, r, j).mul(sv).intoArray(t, j);
        }
        for (; j < n; j++) {
            t[j] = s * r[j];
        }
    }

    @Override
    public float dot(float[] x, float[] y, int n) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += L) {
            acc = FloatVector.fromArray(S, x, j).fma(FloatVector.fromArray(S, y, j), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            s = Math.fma(x[j], y[j], s);
        }
        return s;
    }
}
