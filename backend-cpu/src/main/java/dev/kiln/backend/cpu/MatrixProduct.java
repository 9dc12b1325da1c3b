package dev.kiln.backend.cpu;

import dev.kiln.Layout;

/** Batched matrix products: each batch entry goes to {@link Gemm} with its strides. */
final class MatrixProduct {

    private MatrixProduct() {
    }

    static void bmm(CpuStorage a, Layout al, CpuStorage b, Layout bl, CpuStorage c, Layout cl) {
        int batches = (int) al.size(0);
        int m = (int) al.size(1);
        int k = (int) al.size(2);
        int n = (int) bl.size(2);
        int ldc = (int) cl.stride(1);
        if (cl.stride(2) != 1) {
            throw new IllegalArgumentException("matmul: the CPU backend writes row-major outputs, got " + cl);
        }
        for (int i = 0; i < batches; i++) {
            int aOff = (int) (al.offset() + i * al.stride(0));
            int bOff = (int) (bl.offset() + i * bl.stride(0));
            int cOff = (int) (cl.offset() + i * cl.stride(0));
            switch (a.dtype()) {
                case FLOAT32 -> {
                    if (!SkinnyGemm.sgemm(m, n, k, a.floats(), aOff, (int) al.stride(1), (int) al.stride(2),
                            b.floats(), bOff, (int) bl.stride(1), (int) bl.stride(2), c.floats(), cOff, ldc)) {
                        Gemm.sgemm(m, n, k, a.floats(), aOff, (int) al.stride(1), (int) al.stride(2),
                                b.floats(), bOff, (int) bl.stride(1), (int) bl.stride(2), c.floats(), cOff, ldc, false,
                                Parallel.POOL);
                    }
                }
                case FLOAT64 -> Gemm.dgemm(m, n, k, a.doubles(), aOff, (int) al.stride(1), (int) al.stride(2),
                        b.doubles(), bOff, (int) bl.stride(1), (int) bl.stride(2), c.doubles(), cOff, ldc, false, Parallel.POOL);
                case INT64 -> longProduct(m, n, k, a.longs(), aOff, al, b.longs(), bOff, bl, c.longs(), cOff, ldc);
                default -> throw new UnsupportedOperationException("matmul: not supported for " + a.dtype() + " on the CPU");
            }
        }
    }

    private static void longProduct(int m, int n, int k, long[] a, int aOff, Layout al, long[] b, int bOff, Layout bl,
                                    long[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long s = 0;
                for (int p = 0; p < k; p++) {
                    s += a[(int) (aOff + i * al.stride(1) + p * al.stride(2))] * b[(int) (bOff + p * bl.stride(1) + j * bl.stride(2))];
                }
                c[cOff + i * ldc + j] = s;
            }
        }
    }
}
