package dev.kiln.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Checks {@link Gemm} against a naive triple loop computed in double. */
class GemmTest extends ThreeWorkerPool {

    /** How a logical rows x cols matrix is laid out in its array. */
    enum Layout {
        ROW_MAJOR, COL_MAJOR, PADDED_ROW_MAJOR, STRIDED, BROADCAST_ROW, BROADCAST_COL, SCALAR;

        int rowStride(int rows, int cols) {
            switch (this) {
                case ROW_MAJOR: return cols;
                case COL_MAJOR: return 1;
                case PADDED_ROW_MAJOR: return cols + 3;
                case STRIDED: return 2 * cols + 1;
                case BROADCAST_ROW: return 0;
                case BROADCAST_COL: return 1;
                default: return 0;
            }
        }

        int colStride(int rows, int cols) {
            switch (this) {
                case ROW_MAJOR: return 1;
                case COL_MAJOR: return rows;
                case PADDED_ROW_MAJOR: return 1;
                case STRIDED: return 2;
                case BROADCAST_ROW: return 1;
                case BROADCAST_COL: return 0;
                default: return 0;
            }
        }
    }

    /** A matrix operand: its storage plus offset and strides. */
    static final class Operand {
        final int rows;
        final int cols;
        final int off;
        final int rs;
        final int cs;
        final double[] data;

        Operand(int rows, int cols, Layout layout, int off, Random rnd) {
            this.rows = rows;
            this.cols = cols;
            this.off = off;
            this.rs = layout.rowStride(rows, cols);
            this.cs = layout.colStride(rows, cols);
            int span = (rows == 0 || cols == 0) ? 0 : (rows - 1) * rs + (cols - 1) * cs + 1;
            data = new double[off + span + 2];
            for (int i = 0; i < data.length; i++) {
                data[i] = rnd.nextDouble() * 2 - 1;
            }
        }

        double get(int i, int j) {
            return data[off + i * rs + j * cs];
        }

        float[] floats() {
            float[] f = new float[data.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) data[i];
            }
            return f;
        }

        /** The values the float kernel really sees, so the reference uses the same inputs. */
        Operand roundedToFloat() {
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) data[i];
            }
            return this;
        }
    }

    /** One test case; {@code pooled} chooses whether a pool is passed. */
    record Case(int m, int n, int k, Layout la, Layout lb, boolean accumulate, boolean pooled) {
        @Override
        public String toString() {
            return m + "x" + k + " @ " + k + "x" + n + " A:" + la + " B:" + lb
                    + (accumulate ? " +=" : "") + (pooled ? " pool" : "");
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {2, 3, 4}, {7, 9, 5},
            // around the tile sizes (MR rows, 4-deep rank updates, WIDE and NC columns, KC depth)
            {7, 127, 3}, {8, 128, 4}, {9, 129, 5}, {15, 130, 257}, {17, 513, 6},
            {33, 511, 255}, {3, 200, 256}, {64, 10, 128}, {300, 10, 40}, {130, 3, 70},
            {41, 1, 600}, {1, 300, 90},
            // large enough for the parallel path (m*n*k above a million)
            {150, 170, 60}, {96, 1030, 17}, {2000, 5, 150}, {77, 600, 300},
        };
        Layout[] layouts = {Layout.ROW_MAJOR, Layout.COL_MAJOR, Layout.PADDED_ROW_MAJOR, Layout.STRIDED};
        int i = 0;
        for (int[] s : shapes) {
            for (Layout la : layouts) {
                for (Layout lb : layouts) {
                    // Every shape in every layout pair would be slow to check; rotate instead.
                    if ((i++ % 3) != 0 && !(la == Layout.ROW_MAJOR && lb == Layout.ROW_MAJOR)) {
                        continue;
                    }
                    out.add(Arguments.of(new Case(s[0], s[1], s[2], la, lb, i % 2 == 0, i % 4 < 2)));
                }
            }
        }
        // Broadcast (stride 0) operands, on the direct, packed and parallel paths.
        int[][] bshapes = {{3, 4, 5}, {40, 130, 20}, {200, 150, 70}, {300, 9, 50}};
        for (int[] s : bshapes) {
            for (Layout la : new Layout[] {Layout.BROADCAST_ROW, Layout.BROADCAST_COL, Layout.SCALAR, Layout.ROW_MAJOR}) {
                for (Layout lb : new Layout[] {Layout.BROADCAST_ROW, Layout.BROADCAST_COL, Layout.SCALAR, Layout.COL_MAJOR}) {
                    out.add(Arguments.of(new Case(s[0], s[1], s[2], la, lb, false, true)));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sgemmMatchesNaive(Case t) {
        Random rnd = new Random(t.hashCode());
        Operand a = new Operand(t.m, t.k, t.la, 3, rnd).roundedToFloat();
        Operand b = new Operand(t.k, t.n, t.lb, 5, rnd).roundedToFloat();
        int ldc = t.n + 2;
        int cOff = 7;
        float[] c = new float[cOff + t.m * ldc + 3];
        for (int i = 0; i < c.length; i++) {
            c[i] = (float) (rnd.nextDouble() - 0.5);
        }
        float[] before = c.clone();
        Gemm.sgemm(t.m, t.n, t.k, a.floats(), a.off, a.rs, a.cs, b.floats(), b.off, b.rs, b.cs,
                c, cOff, ldc, t.accumulate, t.pooled ? pool : null);
        for (int i = 0; i < t.m; i++) {
            for (int j = 0; j < t.n; j++) {
                double ref = t.accumulate ? before[cOff + i * ldc + j] : 0.0;
                double mag = Math.abs(ref);
                for (int p = 0; p < t.k; p++) {
                    ref += a.get(i, p) * b.get(p, j);
                    mag += Math.abs(a.get(i, p) * b.get(p, j));
                }
                // float32 summation error grows with the depth; 4 ulps per term is generous.
                double tol = 4 * (t.k + 1) * Math.ulp(1f) * mag + 1e-30;
                float got = c[cOff + i * ldc + j];
                if (!(Math.abs(got - ref) <= tol)) {
                    fail(t + ": C[" + i + "," + j + "] = " + got + ", expected " + ref + " +- " + tol);
                }
            }
        }
        assertOutsideUntouched(c, before, cOff, ldc, t.m, t.n);
    }

    /**
     * A left operand packed once ({@link Gemm.Left}) gives the same bits as the plain product on the
     * calling thread, for every layout and size, reused over two products.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sharedLeftOperandMatchesThePlainProduct(Case t) {
        Random rnd = new Random(t.hashCode());
        Operand a = new Operand(t.m, t.k, t.la, 3, rnd).roundedToFloat();
        Gemm.Left left = new Gemm.Left(t.m, t.k, a.floats(), a.off, a.rs, a.cs);
        for (int round = 0; round < 2; round++) {
            Operand b = new Operand(t.k, t.n, t.lb, 5, rnd).roundedToFloat();
            int ldc = t.n + 2;
            float[] expected = new float[3 + t.m * ldc];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (float) (rnd.nextDouble() - 0.5);
            }
            float[] got = expected.clone();
            Gemm.sgemm(t.m, t.n, t.k, a.floats(), a.off, a.rs, a.cs, b.floats(), b.off, b.rs, b.cs, expected, 3, ldc,
                    t.accumulate, null);
            Gemm.sgemm(left, t.n, b.floats(), b.off, b.rs, b.cs, got, 3, ldc, t.accumulate);
            assertArrayEquals(expected, got, t + ", product " + round);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dgemmMatchesNaive(Case t) {
        Random rnd = new Random(t.hashCode() + 1);
        Operand a = new Operand(t.m, t.k, t.la, 2, rnd);
        Operand b = new Operand(t.k, t.n, t.lb, 4, rnd);
        int ldc = t.n + 1;
        int cOff = 3;
        double[] c = new double[cOff + t.m * ldc + 2];
        for (int i = 0; i < c.length; i++) {
            c[i] = rnd.nextDouble() - 0.5;
        }
        double[] before = c.clone();
        Gemm.dgemm(t.m, t.n, t.k, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs,
                c, cOff, ldc, t.accumulate, t.pooled ? pool : null);
        for (int i = 0; i < t.m; i++) {
            for (int j = 0; j < t.n; j++) {
                double ref = t.accumulate ? before[cOff + i * ldc + j] : 0.0;
                double mag = Math.abs(ref);
                for (int p = 0; p < t.k; p++) {
                    ref += a.get(i, p) * b.get(p, j);
                    mag += Math.abs(a.get(i, p) * b.get(p, j));
                }
                double tol = 4 * (t.k + 1) * Math.ulp(1.0) * mag + 1e-300;
                double got = c[cOff + i * ldc + j];
                if (!(Math.abs(got - ref) <= tol)) {
                    fail(t + ": C[" + i + "," + j + "] = " + got + ", expected " + ref + " +- " + tol);
                }
            }
        }
        for (int i = 0; i < c.length; i++) {
            int r = (i - cOff) / ldc;
            int col = (i - cOff) % ldc;
            boolean inside = i >= cOff && r < t.m && col < t.n;
            if (!inside) {
                assertEquals(before[i], c[i], "element " + i + " outside C was written");
            }
        }
    }

    private static void assertOutsideUntouched(float[] c, float[] before, int cOff, int ldc, int m, int n) {
        for (int i = 0; i < c.length; i++) {
            int r = (i - cOff) / ldc;
            int col = (i - cOff) % ldc;
            boolean inside = i >= cOff && r < m && col < n;
            if (!inside) {
                assertEquals(before[i], c[i], "element " + i + " outside C was written");
            }
        }
    }

    @Test
    void kZeroClearsOrKeepsC() {
        float[] c = {1, 2, 3, 4, 5, 6, 9};
        Gemm.sgemm(2, 3, 0, new float[0], 0, 0, 0, new float[0], 0, 0, 0, c, 0, 3, true, null);
        assertEquals(1f, c[0]);
        assertEquals(6f, c[5]);
        Gemm.sgemm(2, 3, 0, new float[0], 0, 0, 0, new float[0], 0, 0, 0, c, 0, 3, false, pool);
        for (int i = 0; i < 6; i++) {
            assertEquals(0f, c[i]);
        }
        assertEquals(9f, c[6], "past the end of C");

        double[] d = {1, 2, 3, 4};
        Gemm.dgemm(2, 2, 0, new double[0], 0, 0, 0, new double[0], 0, 0, 0, d, 0, 2, true, null);
        assertEquals(4.0, d[3]);
        Gemm.dgemm(2, 2, 0, new double[0], 0, 0, 0, new double[0], 0, 0, 0, d, 0, 2, false, null);
        assertEquals(0.0, d[3]);
    }

    @Test
    void emptyOutputIsANoOp() {
        float[] c = {7};
        Gemm.sgemm(0, 5, 3, new float[0], 0, 3, 1, new float[15], 0, 5, 1, c, 0, 5, false, pool);
        Gemm.sgemm(4, 0, 3, new float[12], 0, 3, 1, new float[0], 0, 0, 1, c, 0, 0, false, pool);
        assertEquals(7f, c[0]);
        double[] d = {7};
        Gemm.dgemm(0, 5, 3, new double[0], 0, 3, 1, new double[15], 0, 5, 1, d, 0, 5, false, pool);
        assertEquals(7.0, d[0]);
    }

    @Test
    void overwriteIgnoresOldContentsEvenNaN() {
        // Large enough for the packed and parallel paths, plus a small one for the direct loop.
        for (int size : new int[] {3, 40, 130}) {
            float[] a = new float[size * size];
            float[] b = new float[size * size];
            for (int i = 0; i < size; i++) {
                a[i * size + i] = 1f;
                b[i * size + i] = 2f;
            }
            float[] c = new float[size * size];
            java.util.Arrays.fill(c, Float.NaN);
            Gemm.sgemm(size, size, size, a, 0, size, 1, b, 0, size, 1, c, 0, size, false, pool);
            for (int i = 0; i < size; i++) {
                for (int j = 0; j < size; j++) {
                    assertEquals(i == j ? 2f : 0f, c[i * size + j], "size " + size + " at " + i + "," + j);
                }
            }
            double[] da = new double[size * size];
            double[] db = new double[size * size];
            for (int i = 0; i < size; i++) {
                da[i * size + i] = 1;
                db[i * size + i] = 3;
            }
            double[] dc = new double[size * size];
            java.util.Arrays.fill(dc, Double.NaN);
            Gemm.dgemm(size, size, size, da, 0, size, 1, db, 0, size, 1, dc, 0, size, false, pool);
            assertEquals(3.0, dc[size * size - 1]);
            assertEquals(0.0, dc[1]);
        }
    }

    @Test
    void exactOnSmallIntegers() {
        // Integer products are exact in float32, so any blocking order must give the same answer.
        int m = 70;
        int n = 600;
        int k = 300;
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i * 7 % 5) - 2;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (i * 3 % 7) - 3;
        }
        float[] c = new float[m * n];
        Gemm.sgemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, pool);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long ref = 0;
                for (int p = 0; p < k; p++) {
                    ref += (long) a[i * k + p] * (long) b[p * n + j];
                }
                assertEquals((float) ref, c[i * n + j], "at " + i + "," + j);
            }
        }
    }

    @Test
    void concurrentCallersDoNotShareBuffers() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                results.add(ex.submit(() -> {
                    int m = 90;
                    int n = 140;
                    int k = 70;
                    Random rnd = new Random(seed);
                    float[] a = new float[m * k];
                    float[] b = new float[k * n];
                    for (int i = 0; i < a.length; i++) {
                        a[i] = rnd.nextInt(5) - 2;
                    }
                    for (int i = 0; i < b.length; i++) {
                        b[i] = rnd.nextInt(5) - 2;
                    }
                    float[] c = new float[m * n];
                    for (int rep = 0; rep < 5; rep++) {
                        Gemm.sgemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, seed % 2 == 0 ? pool : null);
                        for (int i = 0; i < m; i += 7) {
                            for (int j = 0; j < n; j += 5) {
                                float ref = 0;
                                for (int p = 0; p < k; p++) {
                                    ref += a[i * k + p] * b[p * n + j];
                                }
                                if (ref != c[i * n + j]) {
                                    return false;
                                }
                            }
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            ex.shutdown();
        }
    }

    @Test
    void callsFromInsideThePoolWork() throws Exception {
        int m = 200;
        int n = 150;
        int k = 60;
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = i % 3 - 1;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = i % 4 - 2;
        }
        float[] c = new float[m * n];
        pool.submit(() -> Gemm.sgemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, pool)).get();
        float ref = 0;
        for (int p = 0; p < k; p++) {
            ref += a[(m - 1) * k + p] * b[p * n + n - 1];
        }
        assertEquals(ref, c[m * n - 1]);
    }

    @Test
    void rejectsNegativeSizesAndShortLeadingDimension() {
        assertThrows(IllegalArgumentException.class,
            () -> Gemm.sgemm(-1, 2, 2, new float[4], 0, 2, 1, new float[4], 0, 2, 1, new float[4], 0, 2, false, null));
        assertThrows(IllegalArgumentException.class,
            () -> Gemm.sgemm(2, 3, 2, new float[4], 0, 2, 1, new float[6], 0, 3, 1, new float[6], 0, 2, false, null));
        assertThrows(IllegalArgumentException.class,
            () -> Gemm.dgemm(2, 2, -3, new double[4], 0, 2, 1, new double[4], 0, 2, 1, new double[4], 0, 2, false, null));
    }
}
