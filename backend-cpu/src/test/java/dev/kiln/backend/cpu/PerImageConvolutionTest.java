package dev.kiln.backend.cpu;

import dev.kiln.Kiln;
import dev.kiln.spi.ConvGeometry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU backend's image-by-image convolution kernels against the direct reference. */
class PerImageConvolutionTest {

    /** Enough images that the per-image kernels run on any number of cores, plus one (an uneven split). */
    private static final int N = 2 * Parallel.THREADS + 1;

    @Test
    void matchesTheReferenceForStridesPaddingAndDilation() {
        Kiln.manualSeed(7);
        int[][] configs = {
            // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups
            {N, 1, 9, 7, 5, 3, 3, 1, 1, 0, 0, 1, 1, 1},
            {N, 3, 8, 9, 4, 2, 3, 2, 1, 1, 0, 1, 2, 1},
            {N, 2, 7, 6, 3, 3, 2, 1, 2, 2, 1, 2, 1, 1},
            {N, 4, 5, 5, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        };
        for (int[] k : configs) {
            assertTrue(PerImageConvolution.applies(dev.kiln.DType.FLOAT32, 1, k[0], 1));
            ConvReference.check(new CpuBackend(), k, false);
        }
    }

    @Test
    void splitsLargeImagesIntoBandsOfOutputRows() {
        // K = 16 * 9 = 144 and 30 output columns: 15 rows a band, so each image takes two bands.
        int[] k = {N, 16, 32, 32, 8, 3, 3, 1, 1, 0, 0, 1, 1, 1};
        ConvGeometry g = new ConvGeometry(32, 32, 3, 3, 1, 1, 0, 0, 1, 1);
        assertTrue(16L * 9 * g.outW() * g.outH() > PerImageConvolution.BAND_FLOATS, "the columns of one image exceed a band");
        Kiln.manualSeed(8);
        ConvReference.check(new CpuBackend(), k, false);
    }

    @Test
    void leavesOtherCasesToTheComposite() {
        assertFalse(PerImageConvolution.applies(dev.kiln.DType.FLOAT64, 1, N, 1));
        assertFalse(PerImageConvolution.applies(dev.kiln.DType.FLOAT32, 2, N, 1));
        assertFalse(PerImageConvolution.applies(dev.kiln.DType.FLOAT32, 1, 1, 1));
        // The CPU backend still gets them right through the composite.
        Kiln.manualSeed(9);
        ConvReference.check(new CpuBackend(), new int[] {2, 4, 9, 8, 6, 3, 3, 2, 1, 1, 2, 2, 1, 2}, true);
        ConvReference.check(new CpuBackend(), new int[] {N, 3, 7, 6, 4, 3, 2, 1, 1, 0, 0, 1, 1, 1}, true);
    }
}
