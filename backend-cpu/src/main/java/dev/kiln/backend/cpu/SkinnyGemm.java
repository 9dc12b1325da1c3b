package dev.kiln.backend.cpu;

import java.util.Arrays;

/**
 * Float32 products of extreme shapes, where the packed, tiled {@link Gemm} (built for square-ish
 * blocks) loses to a loop shaped for the problem. All three appear in full-batch training of a
 * narrow MLP on many rows (the issue-9 {@code mlp-adam} workload, 2,000,000 x 10 -> 100 -> 1):
 * <ul>
 *   <li>shallow: {@code k <= 16} and many rows ({@code x @ W^T} with 10 features, the outer product
 *       {@code g @ W} with {@code k = 1}): each C row is built in a small array from packed B rows
 *       and copied out, instead of the scalar Gemm's transposed orientation that writes C with a
 *       stride (the Vector API kernel, when present, does these itself);</li>
 *   <li>matrix-vector: {@code n = 1} ({@code h @ w} for one output): a dot product per row with
 *       several accumulators;</li>
 *   <li>deep: a small C and a huge {@code k} (weight gradients {@code g^T @ x} over all rows): the
 *       depth is split across threads, each summing rank-1 updates into its own C, and the partial
 *       sums are added in a fixed order, so results do not depend on scheduling. (Measured here,
 *       this beats the Vector API kernel, whose packing doubles the memory traffic of a product
 *       that is bound by reading its long operand once.)</li>
 * </ul>
 * Inner loops index their arrays from 0 (rows are copied into scratch arrays first): C2 vectorises
 * {@code t[j] += a * r[j]} but not the same loop over two different offsets.
 */
final class SkinnyGemm {

    /** Rows below which the general kernel is as good. */
    static final int MIN_ROWS = 4096;

    private SkinnyGemm() {
    }

    /**
     * {@code C = A @ B} (row-major C with leading dimension ldc) when the shape is one of the three
     * above, returning true; else false and nothing is written.
     */
    static boolean sgemm(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                         float[] c, int cOff, int ldc) {
        if (m <= 0 || n <= 0 || k <= 0) {
            return false;
        }
        if (k <= 16 && n >= 8 && m >= MIN_ROWS && FloatKernels.INSTANCE == null) {
            // (The Vector API kernel does these about twice as fast, writing whole 6 x 16 tiles.)
            shallow(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc);
            return true;
        }
        if (n == 1 && m >= MIN_ROWS && k >= 8) {
            matrixVector(m, k, a, aOff, ars, acs, b, bOff, brs, c, cOff, ldc);
            return true;
        }
        if (k >= 65536 && (long) m * n <= 16384 && k >= 64L * Math.max(m, n)) {
            deep(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc);
            return true;
        }
        return false;
    }

    private static void shallow(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs,
                                int bcs, float[] c, int cOff, int ldc) {
        Parallel.forRange(m, (long) n * k, (r0, r1) -> {
            float[][] bp = new float[k][n];
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < n; j++) {
                    bp[p][j] = b[bOff + p * brs + j * bcs];
                }
            }
            float[] t = new float[n];
            for (int i = (int) r0; i < r1; i++) {
                int ai = aOff + i * ars;
                rowFirst(t, bp[0], a[ai], n);
                for (int p = 1; p < k; p++) {
                    rowUpdate(t, bp[p], a[ai + p * acs], n);
                }
                System.arraycopy(t, 0, c, cOff + i * ldc, n);
            }
        });
    }

    private static void rowFirst(float[] t, float[] r, float s, int n) {
        FloatKernels v = FloatKernels.INSTANCE;
        if (v != null) {
            v.scale(t, r, s, n);
            return;
        }
        for (int j = 0; j < n; j++) {
            t[j] = s * r[j];
        }
    }

    private static void rowUpdate(float[] t, float[] r, float s, int n) {
        FloatKernels v = FloatKernels.INSTANCE;
        if (v != null) {
            v.axpy(t, r, s, n);
            return;
        }
        for (int j = 0; j < n; j++) {
            t[j] += s * r[j];
        }
    }

    private static void matrixVector(int m, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs,
                                     float[] c, int cOff, int ldc) {
        Parallel.forRange(m, k, (r0, r1) -> {
            float[] v = new float[k];
            for (int p = 0; p < k; p++) {
                v[p] = b[bOff + p * brs];
            }
            float[] row = new float[k];
            for (int i = (int) r0; i < r1; i++) {
                int ai = aOff + i * ars;
                if (acs == 1) {
                    System.arraycopy(a, ai, row, 0, k);
                } else {
                    for (int p = 0; p < k; p++) {
                        row[p] = a[ai + p * acs];
                    }
                }
                c[cOff + i * ldc] = dot(row, v, k);
            }
        });
    }

    /** Four interleaved partial sums, added pairwise at the end (or the Vector API's lanes). */
    private static float dot(float[] x, float[] y, int k) {
        FloatKernels v = FloatKernels.INSTANCE;
        if (v != null) {
            return v.dot(x, y, k);
        }
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        int p = 0;
        for (; p + 3 < k; p += 4) {
            s0 += x[p] * y[p];
            s1 += x[p + 1] * y[p + 1];
            s2 += x[p + 2] * y[p + 2];
            s3 += x[p + 3] * y[p + 3];
        }
        for (; p < k; p++) {
            s0 += x[p] * y[p];
        }
        return (s0 + s1) + (s2 + s3);
    }

    private static void deep(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                             float[] c, int cOff, int ldc) {
        // Run along the longer of C's sides: out[row][col] += coef(row, p) * vec(p)[col].
        boolean alongN = n >= m;
        int rows = alongN ? m : n;
        int cols = alongN ? n : m;
        int chunks = Math.max(1, Math.min(Parallel.THREADS * 4, k / 16384));
        float[][][] partial = new float[chunks][][];
        Parallel.forRange(chunks, (long) k / chunks * rows * cols, (c0, c1) -> {
            for (int ch = (int) c0; ch < c1; ch++) {
                int p0 = (int) ((long) k * ch / chunks);
                int p1 = (int) ((long) k * (ch + 1) / chunks);
                float[][] acc = new float[rows][cols];
                float[] vec = new float[cols];
                float[] coef = new float[rows];
                for (int p = p0; p < p1; p++) {
                    if (alongN) {
                        int bo = bOff + p * brs;
                        if (bcs == 1) {
                            System.arraycopy(b, bo, vec, 0, cols);
                        } else {
                            for (int j = 0; j < cols; j++) {
                                vec[j] = b[bo + j * bcs];
                            }
                        }
                        for (int i = 0; i < rows; i++) {
                            coef[i] = a[aOff + i * ars + p * acs];
                        }
                    } else {
                        int ao = aOff + p * acs;
                        if (ars == 1) {
                            System.arraycopy(a, ao, vec, 0, cols);
                        } else {
                            for (int i = 0; i < cols; i++) {
                                vec[i] = a[ao + i * ars];
                            }
                        }
                        for (int j = 0; j < rows; j++) {
                            coef[j] = b[bOff + p * brs + j * bcs];
                        }
                    }
                    for (int r = 0; r < rows; r++) {
                        rowUpdate(acc[r], vec, coef[r], cols);
                    }
                }
                partial[ch] = acc;
            }
        });
        for (int i = 0; i < m; i++) {
            Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
        }
        for (float[][] acc : partial) {
            for (int r = 0; r < rows; r++) {
                for (int q = 0; q < cols; q++) {
                    int i = alongN ? r : q;
                    int j = alongN ? q : r;
                    c[cOff + i * ldc + j] += acc[r][q];
                }
            }
        }
    }
}
