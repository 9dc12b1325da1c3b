package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;

import java.lang.ref.Reference;

/**
 * Batched row-major matrix products on cuBLAS, which is column-major. A row-major {@code [R, C]}
 * matrix is, read column-major, its transpose, so {@code C = A B} is computed as
 * {@code C^T = B^T A^T}: cuBLAS's first operand is B, its second A, and nothing is copied.
 * An operand that is a transposed view (unit stride along rows) is passed with cuBLAS's transpose
 * flag instead of being copied; only operands with no unit stride (or overlapping rows) are
 * copied to a contiguous temporary. Broadcast batches (batch stride 0) pass stride 0.
 */
final class Gemm {

    private final CudaBackend backend;

    Gemm(CudaBackend backend) {
        this.backend = backend;
    }

    /**
     * How cuBLAS reads one operand: {@code op(stored) = X^T} for the row-major matrix X.
     *
     * @param transpose cuBLAS's transpose flag
     * @param ld        the leading dimension
     */
    record Operand(CudaStorage storage, long offset, boolean transpose, int ld, long batchStride) {
    }

    /**
     * The cuBLAS view of {@code X} with shape {@code [B, R, C]}: no transpose when its rows are
     * contiguous (column stride 1), transpose when its columns are (row stride 1), null when
     * neither holds and it must be copied.
     */
    static Operand view(CudaStorage s, Layout x) {
        long rows = x.size(1);
        long cols = x.size(2);
        long sr = x.stride(1);
        long sc = x.stride(2);
        long batchStride = x.size(0) == 1 ? 0 : x.stride(0);
        if (sc == 1 || cols == 1) {
            long ld = rows == 1 ? Math.max(1, cols) : sr;
            if (ld >= Math.max(1, cols) && ld <= Integer.MAX_VALUE) {
                return new Operand(s, x.offset(), false, (int) ld, batchStride);
            }
        }
        if (sr == 1 || rows == 1) {
            long ld = cols == 1 ? Math.max(1, rows) : sc;
            if (ld >= Math.max(1, rows) && ld <= Integer.MAX_VALUE) {
                return new Operand(s, x.offset(), true, (int) ld, batchStride);
            }
        }
        return null;
    }

    /** {@code c[b] = a[b] @ b[b]} for float32 or float64 rank-3 layouts. */
    void run(CudaStorage a, Layout al, CudaStorage b, Layout bl, CudaStorage c, Layout cl) {
        long batch = cl.size(0);
        long m = cl.size(1);
        long n = cl.size(2);
        long k = al.size(2);
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            backend.fill(c, cl, 0);
            return;
        }
        checkInt("batch", batch);
        checkInt("rows", m);
        checkInt("columns", n);
        checkInt("inner size", k);
        // The output must be writable as C^T column-major: unit column stride, rows apart.
        long ldc = m == 1 ? Math.max(1, n) : cl.stride(1);
        boolean directOut = (cl.stride(2) == 1 || n == 1) && ldc >= Math.max(1, n) && ldc <= Integer.MAX_VALUE
                && (batch == 1 || cl.stride(0) >= m * ldc);
        if (!directOut) {
            CudaStorage tmp = backend.allocate(c.dtype(), cl.numel());
            try {
                Layout tl = Layout.contiguous(cl.shape());
                run(a, al, b, bl, tmp, tl);
                backend.copy(tmp, tl, c, cl);
            } finally {
                tmp.free();
            }
            return;
        }
        CudaStorage ta = null;
        CudaStorage tb = null;
        try {
            Operand opA = view(a, al);
            if (opA == null) {
                ta = contiguousCopy(a, al);
                opA = view(ta, Layout.contiguous(al.stride(0) == 0 ? 1 : al.size(0), al.size(1), al.size(2)));
            }
            Operand opB = view(b, bl);
            if (opB == null) {
                tb = contiguousCopy(b, bl);
                opB = view(tb, Layout.contiguous(bl.stride(0) == 0 ? 1 : bl.size(0), bl.size(1), bl.size(2)));
            }
            long batchC = batch == 1 ? 0 : cl.stride(0);
            backend.driver().gemm(backend.device().index(), c.dtype() == DType.FLOAT64, opB.transpose(), opA.transpose(),
                    (int) n, (int) m, (int) k,
                    opB.storage().address(opB.offset()), opB.ld(), opB.batchStride(),
                    opA.storage().address(opA.offset()), opA.ld(), opA.batchStride(),
                    c.address(cl.offset()), (int) ldc, batchC, (int) batch);
            Reference.reachabilityFence(new Object[] {a, b, c, opA, opB});
        } finally {
            if (ta != null) {
                ta.free();
            }
            if (tb != null) {
                tb.free();
            }
        }
    }

    /** A contiguous copy; a broadcast batch (stride 0) is copied once. */
    private CudaStorage contiguousCopy(CudaStorage s, Layout l) {
        Layout src = l.stride(0) == 0 ? new Layout(new long[] {1, l.size(1), l.size(2)}, l.strides(), l.offset()) : l;
        CudaStorage t = backend.allocate(s.dtype(), src.numel());
        backend.copy(s, src, t, Layout.contiguous(src.shape()));
        return t;
    }

    private static void checkInt(String what, long v) {
        if (v > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("matmul on CUDA: " + what + " " + v + " exceeds cuBLAS's int range");
        }
    }
}
