package dev.kiln.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The shape-specific float products ({@link SkinnyGemm}), the Vector API kernels when the JVM has
 * the module (the build runs this class a second time with {@code --add-modules
 * jdk.incubator.vector}), the buffer pool, and branch-free sign.
 */
class FastKernelsTest {

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() - 0.5f;
        }
        return x;
    }

    /** C = A @ B in double, A and B in the given strides. */
    private static double[] naive(int m, int n, int k, float[] a, int ars, int acs, float[] b, int brs, int bcs) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * ars + p * acs] * b[p * brs + j * bcs];
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    private static void assertClose(double[] expected, float[] actual, double tol) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * (1 + Math.abs(expected[i])), "element " + i);
        }
    }

    @Test
    void vectorKernelsLoadWhenTheModuleIsThere() {
        boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertEquals(module, FloatKernels.INSTANCE != null, "Vector API kernels present iff the module is resolved");
        assertEquals(module, Gemm.vectorized());
    }

    @ParameterizedTest
    @CsvSource({
        "5000, 100, 10, false, false",   // shallow: x @ W^T (W transposed view)
        "5000, 100, 1, false, false",    // shallow: outer product
        "4100, 37, 3, true, false",      // shallow, A transposed, ragged
        "5000, 1, 100, false, false",    // matrix-vector
        "4500, 1, 33, true, false",      // matrix-vector, strided A
        "100, 10, 70000, true, false",   // deep: g^T @ x
        "1, 100, 70000, true, false",    // deep: row vector
        "10, 3, 70000, false, true"})    // deep, B transposed
    void skinnyProductsMatchTheNaiveOne(int m, int n, int k, boolean aTransposed, boolean bTransposed) {
        float[] a = random(m * k, 1);
        float[] b = random(k * n, 2);
        int ars = aTransposed ? 1 : k;
        int acs = aTransposed ? m : 1;
        int brs = bTransposed ? 1 : n;
        int bcs = bTransposed ? k : 1;
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, Float.NaN); // overwritten, never read
        boolean shallow = k <= 16;
        boolean taken = SkinnyGemm.sgemm(m, n, k, a, 0, ars, acs, b, 0, brs, bcs, c, 0, n);
        // Shallow products go to the Vector API kernel when the JVM has it, and stay skinny without.
        assertEquals(!(shallow && FloatKernels.INSTANCE != null), taken, "takes the skinny path");
        if (!taken) {
            Gemm.sgemm(m, n, k, a, 0, ars, acs, b, 0, brs, bcs, c, 0, n, false, Parallel.POOL);
        }
        assertClose(naive(m, n, k, a, ars, acs, b, brs, bcs), c, 1e-3);
    }

    @Test
    void squareProductsStayWithTheGeneralKernel() {
        assertTrue(!SkinnyGemm.sgemm(64, 64, 64, new float[4096], 0, 64, 1, new float[4096], 0, 64, 1, new float[4096], 0, 64));
    }

    @ParameterizedTest
    @CsvSource({"7, 9, 5", "64, 64, 64", "97, 130, 300", "200, 33, 520", "6, 16, 256", "300, 1100, 40", "13, 2000, 97", "50, 70, 1000", "32, 9, 20000", "40, 40, 5000", "20, 3000, 50"})
    void vectorSgemmMatchesTheNaiveProduct(int m, int n, int k) {
        FloatKernels v = FloatKernels.INSTANCE;
        if (v == null) {
            return; // the run without the module covers the scalar kernel (GemmTest)
        }
        float[] a = random(m * k, 3);
        float[] b = random(k * n, 4);
        int ldc = n + 3;
        float[] c = new float[m * ldc];
        v.sgemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, ldc, false, null);
        double[] expected = naive(m, n, k, a, k, 1, b, n, 1);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(expected[i * n + j], c[i * ldc + j], 1e-3, "(" + i + ", " + j + ")");
            }
        }
        // Accumulate, transposed A, and a pool.
        float[] at = new float[k * m];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                at[p * m + i] = a[i * k + p];
            }
        }
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(2);
        try {
            v.sgemm(m, n, k, at, 0, 1, m, b, 0, n, 1, c, 0, ldc, true, pool);
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(2 * expected[i * n + j], c[i * ldc + j], 2e-3, "(" + i + ", " + j + ") accumulated");
            }
        }
        float[] x = random(37, 5);
        float[] y = random(37, 6);
        double dot = 0;
        for (int i = 0; i < 37; i++) {
            dot += (double) x[i] * y[i];
        }
        assertEquals(dot, v.dot(x, y, 37), 1e-5);
        float[] t = y.clone();
        v.axpy(t, x, 2f, 37);
        for (int i = 0; i < 37; i++) {
            assertEquals(y[i] + 2f * x[i], t[i], 1e-6);
        }
    }

    @Test
    void signWithoutBranchesMatchesTheExactLoop() {
        float[] x = {3f, -2f, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, 1e-30f};
        float[] o = new float[x.length];
        assertTrue(Elementwise.signRun(x, 0, o, 0, x.length));
        assertArrayEquals(new float[] {1f, -1f, 0f, -0f, 1f, -1f, 1f, -1f, 1f}, o);
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(o[3]), "sign(-0) is -0");
        float[] nan = {1f, Float.NaN};
        assertTrue(!Elementwise.signRun(nan, 0, new float[2], 0, 2), "NaN is noticed, for the exact loop to redo the run");
    }

    @Test
    void freedLargeArraysAreReused() {
        int n = BufferPool.MIN_LENGTH + 12345;
        float[] a = BufferPool.floats(n);
        BufferPool.recycle(a);
        assertTrue(BufferPool.pooledBytes() >= 4L * n);
        float[] b = BufferPool.floats(n);
        assertTrue(a == b, "the same array comes back");
        float[] small = new float[10];
        BufferPool.recycle(small);
        assertNotNull(BufferPool.floats(10));
    }

    @Test
    void sumsOverManyRowsIntoFewOutputsMatchTheExactSum() {
        // [rows, 3] summed over the rows (a bias gradient): the rows are split across the pool.
        int rows = (int) Reductions.SPLIT_DEPTH * 3 + 7;
        float[] x = random(rows * 3, 9);
        double[] exact = new double[3];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < 3; j++) {
                exact[j] += x[i * 3 + j];
            }
        }
        float[] sums = dev.kiln.Tensor.fromArray(x, rows, 3).sum(0).toFloatArray();
        for (int j = 0; j < 3; j++) {
            assertEquals((float) exact[j], sums[j], 1e-4, "column " + j);
        }
        // And over a strided (transposed) view, where each kept position is its own row.
        float[] t = dev.kiln.Tensor.fromArray(x, rows, 3).t().sum(1).toFloatArray();
        assertArrayEquals(sums, t, 1e-3f);
    }
}
