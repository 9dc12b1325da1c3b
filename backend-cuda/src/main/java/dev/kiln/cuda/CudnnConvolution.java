package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.Storage;

import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA backend's convolution through cuDNN: makes the operands dense NCHW (copying strided
 * ones), gives cuDNN a workspace from the caching allocator and writes the result through the
 * output's layout. Answers false, having done nothing, whenever cuDNN cannot take the problem
 * (not loaded, a dtype other than float32/float64, sizes past {@code int}, no suitable
 * algorithm), and the backend then runs the SPI's im2col + cuBLAS composition.
 */
final class CudnnConvolution {

    private CudnnConvolution() {
    }

    /**
     * One pass. {@code x} {@code [N, C, H, W]}, {@code w} {@code [O, C / groups, kh, kw]} and
     * {@code y} {@code [N, O, outH, outW]}; the pass says which one is written.
     */
    static boolean run(CudaBackend backend, Cudnn.Pass pass, Storage x, Layout xl, Storage w, Layout wl, Storage y, Layout yl,
                       ConvGeometry g, int groups) {
        Cudnn cudnn = backend.driver().cudnn().library();
        DType dtype = x.dtype();
        if (cudnn == null || dtype != DType.FLOAT32 && dtype != DType.FLOAT64 || !fitsInt(xl, wl, yl)) {
            return false;
        }
        List<CudaStorage> temps = new ArrayList<>();
        try {
            Operand xo = operand(backend, x, xl, pass != Cudnn.Pass.BACKWARD_DATA, temps);
            Operand wo = operand(backend, w, wl, pass != Cudnn.Pass.BACKWARD_FILTER, temps);
            Operand yo = operand(backend, y, yl, pass != Cudnn.Pass.FORWARD, temps);
            boolean ran = cudnn.convolution(backend.device().index(), pass, dtype == DType.FLOAT64, xo.address, wo.address,
                    yo.address, (int) xl.size(0), (int) xl.size(1), (int) wl.size(0), g, groups, bytes -> {
                        CudaStorage ws = backend.allocate(DType.FLOAT32, Math.max(1, (bytes + 3) / 4));
                        temps.add(ws);
                        return ws.address();
                    });
            if (ran) {
                Operand out = pass == Cudnn.Pass.FORWARD ? yo : pass == Cudnn.Pass.BACKWARD_DATA ? xo : wo;
                if (out.dense != null) {
                    backend.copy(out.dense, Layout.contiguous(out.layout.shape()), out.storage, out.layout);
                }
            }
            return ran;
        } finally {
            for (CudaStorage t : temps) {
                t.free();
            }
        }
    }

    /** A dense operand: the storage itself, or a contiguous copy ({@code dense}) of a strided one. */
    private record Operand(long address, CudaStorage dense, Storage storage, Layout layout) {
    }

    private static Operand operand(CudaBackend backend, Storage s, Layout l, boolean input, List<CudaStorage> temps) {
        CudaStorage c = (CudaStorage) s;
        if (l.isContiguous()) {
            return new Operand(c.address(l.offset()), null, s, l);
        }
        CudaStorage dense = backend.allocate(s.dtype(), l.numel());
        temps.add(dense);
        if (input) {
            backend.copy(s, l, dense, Layout.contiguous(l.shape()));
        }
        return new Operand(dense.address(), dense, s, l);
    }

    private static boolean fitsInt(Layout... layouts) {
        for (Layout l : layouts) {
            if (l.numel() > Integer.MAX_VALUE || l.numel() == 0) {
                return false;
            }
        }
        return true;
    }
}
