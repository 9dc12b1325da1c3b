package dev.kiln.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * {@link FloatKernels} on the Vector API: a BLIS-style SGEMM whose micro-kernel keeps a 6 x 16
 * tile of C in twelve 8-float registers and streams packed panels of A (6 rows) and B (16
 * columns) through fused multiply-adds, which is what 256-bit AVX2 with 16 registers holds (12
 * accumulators, 2 B vectors, 1 broadcast A value). Blocks: KC = 256 deep, MC = 96 rows of A
 * (96 KiB, L2), NC = 1024 columns of B (1 MiB, spread over L2/L3).
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

    private static final class Work {
        final float[] a = new float[MC * KC];
        final float[] b = new float[KC * NC];
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Work> WORK = ThreadLocal.withInitial(Work::new);

    VectorFloatKernels() {
        if (FloatVector.SPECIES_PREFERRED.length() < L) {
            throw new UnsupportedOperationException("fewer than 8 float lanes: the scalar kernels are as fast");
        }
    }

    @Override
    public void sgemm(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                      float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool) {
        long work = (long) m * n * k;
        int threads = pool == null ? 1 : pool.getParallelism();
        if (threads < 2 || work < (1L << 20)) {
            block(0, m, 0, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
            return;
        }
        // Split C into blocks, rows first (each task packs its own panels; B is shared read-only).
        // Each task packs its own panels, so a block must be wide enough to amortise packing A
        // (at least 128 columns) or tall enough to amortise packing B (at least 48 rows).
        List<int[]> blocks = new ArrayList<>();
        int tasks = threads * 2;
        int rowStep = Math.max(8 * MR, roundUp((m + tasks - 1) / tasks, MR));
        int colStep = Math.max(128, roundUp((n + tasks - 1) / tasks, NR));
        if (m >= n && rowStep < m) {
            for (int i = 0; i < m; i += rowStep) {
                blocks.add(new int[] {i, Math.min(m, i + rowStep), 0, n});
            }
        } else if (colStep < n) {
            for (int j = 0; j < n; j += colStep) {
                blocks.add(new int[] {0, m, j, Math.min(n, j + colStep)});
            }
        } else if (rowStep < m) {
            for (int i = 0; i < m; i += rowStep) {
                blocks.add(new int[] {i, Math.min(m, i + rowStep), 0, n});
            }
        } else {
            block(0, m, 0, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
            return;
        }
        List<ForkJoinTask<?>> list = new ArrayList<>(blocks.size());
        for (int[] r : blocks) {
            list.add(new RecursiveAction() {
                @Override
                protected void compute() {
                    block(r[0], r[1], r[2], r[3], k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
                }
            });
        }
        if (ForkJoinTask.inForkJoinPool()) {
            ForkJoinTask.invokeAll(list);
        } else {
            pool.submit(() -> ForkJoinTask.invokeAll(list)).join();
        }
    }

    private static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }

    /** C[i0:i1, j0:j1] = (or +=) A[i0:i1, :] @ B[:, j0:j1]. */
    private static void block(int i0, int i1, int j0, int j1, int k, float[] a, int aOff, int ars, int acs, float[] b,
                              int bOff, int brs, int bcs, float[] c, int cOff, int ldc, boolean accumulate) {
        Work w = WORK.get();
        float[] ap = w.a;
        float[] bp = w.b;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean overwrite = !accumulate && pc == 0;
                packB(b, bOff + pc * brs + jc * bcs, brs, bcs, kc, nc, bp);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    packA(a, aOff + ic * ars + pc * acs, ars, acs, mc, kc, ap);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        int bBase = (jr / NR) * kc * NR;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int cAt = cOff + (ic + ir) * ldc + jc + jr;
                            // Partial tiles go through a scratch tile. The kernel is called from here
                            // only: inlined into a small caller it ran unintrinsified (boxed vectors).
                            boolean full = mr == MR && nr == NR;
                            kernel(kc, ap, (ir / MR) * kc * MR, bp, bBase, full ? c : w.tile, full ? cAt : 0,
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

    /** B's kc x nc block as NR-column panels, each kc rows of NR floats (zero-padded at the right edge). */
    private static void packB(float[] b, int off, int brs, int bcs, int kc, int nc, float[] bp) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int base = (jr / NR) * kc * NR;
            if (bcs != 1 && brs == 1 && nr == NR) {
                // B is a transposed view (x @ W^T): NR streams along its contiguous depth, each
                // packed row written in one go.
                int src = off + jr * bcs;
                for (int p = 0; p < kc; p++) {
                    int dst = base + p * NR;
                    for (int j = 0; j < NR; j++) {
                        bp[dst + j] = b[src + j * bcs + p];
                    }
                }
                continue;
            }
            for (int p = 0; p < kc; p++) {
                int src = off + p * brs + jr * bcs;
                int dst = base + p * NR;
                if (bcs == 1) {
                    System.arraycopy(b, src, bp, dst, nr);
                } else {
                    for (int j = 0; j < nr; j++) {
                        bp[dst + j] = b[src + j * bcs];
                    }
                }
                for (int j = nr; j < NR; j++) {
                    bp[dst + j] = 0f;
                }
            }
        }
    }

    /** A's mc x kc block as MR-row panels, each kc columns of MR floats (zero-padded at the bottom edge). */
    private static void packA(float[] a, int off, int ars, int acs, int mc, int kc, float[] ap) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int base = (ir / MR) * kc * MR;
            if (ars == 1 && acs != 1) {
                // A is a transposed view (g^T @ x): read its rows of MR contiguous values.
                for (int p = 0; p < kc; p++) {
                    int src = off + ir + p * acs;
                    for (int r = 0; r < mr; r++) {
                        ap[base + p * MR + r] = a[src + r];
                    }
                }
            } else if (mr == MR) {
                // MR streams along A's rows, each packed column written in one go.
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
        for (int p = 0; p < kc; p++) {
            int bi = bo + p * NR;
            int ai = ao + p * MR;
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
