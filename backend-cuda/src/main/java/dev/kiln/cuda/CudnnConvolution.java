package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.Storage;

/**
 * The CUDA backend's convolution through cuDNN: makes the operands dense NCHW
 * ({@link DenseOperands}), gives cuDNN a workspace from the caching allocator and writes the
 * result through the output's layout. Answers false, having done nothing, whenever cuDNN cannot take the problem
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
        try (DenseOperands operands = new DenseOperands(backend)) {
            DenseOperands.Operand xo = pass == Cudnn.Pass.BACKWARD_DATA ? operands.output(x, xl) : operands.input(x, xl);
            DenseOperands.Operand wo = pass == Cudnn.Pass.BACKWARD_FILTER ? operands.output(w, wl) : operands.input(w, wl);
            DenseOperands.Operand yo = pass == Cudnn.Pass.FORWARD ? operands.output(y, yl) : operands.input(y, yl);
            boolean ran = cudnn.convolution(backend.device().index(), pass, dtype == DType.FLOAT64, xo.address, wo.address,
                    yo.address, (int) xl.size(0), (int) xl.size(1), (int) wl.size(0), g, groups,
                    bytes -> operands.scratch(DType.FLOAT32, Math.max(1, (bytes + 3) / 4)).address());
            if (ran) {
                (pass == Cudnn.Pass.FORWARD ? yo : pass == Cudnn.Pass.BACKWARD_DATA ? xo : wo).writeBack();
            }
            return ran;
        }
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
