package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Float32 convolution and its two gradients image by image, the images shared out over the pool:
 * each task unfolds a band of one image's output rows into its own scratch (sized to stay in L2)
 * and multiplies on its own thread. The composite default unfolds the whole batch first (9 MB of
 * columns for the CNN sample's second convolution), then runs one product split across the
 * threads, and copies its channel-major result into NCHW; here the columns never leave the cache
 * and each image's product is written straight into its own slice of the output.
 *
 * <p>Used for one group and a batch large enough to keep every thread busy; the backend falls
 * back to the default otherwise. The weight gradient sums per-chunk partial products in a fixed
 * order, with chunks that depend on the shapes only, so its rounding does not depend on the
 * number of threads.
 */
final class PerImageConvolution {

    /** Floats of unfolded columns per band: 256 KiB, half of one core's L2 here. */
    static final int BAND_FLOATS = 64 * 1024;
    /** At most this many partial weight gradients are summed. */
    static final int MAX_PARTIALS = 16;
    /** Floats all partial weight gradients may hold together (64 MiB). */
    static final long PARTIAL_FLOATS = 1L << 24;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private PerImageConvolution() {
    }

    /**
     * Whether the image-wise kernels run: float32, one group, int-indexable storages and at least
     * two images per pool thread.
     */
    static boolean applies(DType dtype, int groups, long images, long... numels) {
        if (dtype != DType.FLOAT32 || groups != 1 || images < 2L * Parallel.THREADS) {
            return false;
        }
        for (long n : numels) {
            if (n > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /** {@code out = conv2d(input, weight)}; weight and each image of out as contiguous rows. */
    static void forward(CpuStorage input, Layout il, CpuStorage weight, Layout wl, ConvGeometry g, CpuStorage out,
                        Layout ol) {
        Shape s = new Shape(il.size(0), il.size(1), wl.size(0), g);
        Gemm.Left w = new Gemm.Left(s.o, s.k, weight.floats(), (int) wl.offset(), s.k, 1);
        float[] o = out.floats();
        int bands = s.bands();
        eachUnit(s.n * bands, u -> {
            long ni = u / bands;
            int y0 = (int) (u % bands) * s.bandRows;
            int y1 = Math.min(s.oh, y0 + s.bandRows);
            int cols = (y1 - y0) * s.ow;
            float[] c = unfold(input, il, ni, g, s, y0, y1);
            Gemm.sgemm(w, cols, c, 0, cols, 1, o, (int) (ol.offset() + ni * ol.stride(0)) + y0 * s.ow,
                    (int) ol.stride(1), false);
        });
    }

    /** {@code dst} (overwritten) = the gradient with respect to the input. */
    static void backwardInput(CpuStorage grad, Layout gl, CpuStorage weight, Layout wl, ConvGeometry g, CpuStorage dst,
                              Layout dl) {
        Shape s = new Shape(dl.size(0), dl.size(1), wl.size(0), g);
        Elementwise.fill(dst, dl, 0);
        Gemm.Left wt = new Gemm.Left(s.k, s.o, weight.floats(), (int) wl.offset(), 1, s.k);
        float[] gr = grad.floats();
        // One image per unit: its bands' windows overlap in the input rows they fold into.
        eachUnit(s.n, ni -> {
            for (int y0 = 0; y0 < s.oh; y0 += s.bandRows) {
                int y1 = Math.min(s.oh, y0 + s.bandRows);
                int cols = (y1 - y0) * s.ow;
                float[] c = scratch(s.k * cols);
                Gemm.sgemm(wt, cols, gr, (int) (gl.offset() + ni * gl.stride(0)) + y0 * s.ow, (int) gl.stride(1), 1,
                        c, 0, cols, false);
                CpuStorage columns = new CpuStorage(DType.FLOAT32, c, c.length);
                for (long ci = 0; ci < s.c; ci++) {
                    Convolution.fold(columns, 0, cols, 1, g, ni, ci, dst, dl, y0, y1);
                }
            }
        });
    }

    /** {@code dst} (overwritten) = the gradient with respect to the weight. */
    static void backwardWeight(CpuStorage grad, Layout gl, CpuStorage input, Layout il, ConvGeometry g, CpuStorage dst,
                               Layout dl) {
        Shape s = new Shape(il.size(0), il.size(1), gl.size(1), g);
        int size = s.o * s.k;
        int parts = (int) Math.max(1, Math.min(Math.min(s.n, MAX_PARTIALS), PARTIAL_FLOATS / size));
        float[][] partial = new float[parts][];
        float[] gr = grad.floats();
        eachUnit(parts, q -> {
            int p = (int) q;
            float[] acc = BufferPool.floats(size);
            boolean first = true;
            for (long ni = s.n * p / parts; ni < s.n * (p + 1) / parts; ni++) {
                for (int y0 = 0; y0 < s.oh; y0 += s.bandRows) {
                    int y1 = Math.min(s.oh, y0 + s.bandRows);
                    int cols = (y1 - y0) * s.ow;
                    float[] c = unfold(input, il, ni, g, s, y0, y1);
                    Gemm.sgemm(s.o, s.k, cols, gr, (int) (gl.offset() + ni * gl.stride(0)) + y0 * s.ow,
                            (int) gl.stride(1), 1, c, 0, 1, cols, acc, 0, s.k, !first, null);
                    first = false;
                }
            }
            partial[p] = acc;
        });
        // Partials in order, the same for any number of threads.
        float[] sum = partial[0];
        for (int p = 1; p < parts; p++) {
            float[] q = partial[p];
            for (int i = 0; i < size; i++) {
                sum[i] += q[i];
            }
        }
        Elementwise.copy(new CpuStorage(DType.FLOAT32, sum, size), Layout.contiguous(dl.shape()), dst, dl);
        for (float[] q : partial) {
            BufferPool.recycle(q);
        }
    }

    /**
     * Runs {@code body} for units {@code [0, count)} on the pool, one part each: a unit is an image
     * or a band of one (about 90 us for the CNN's second convolution), and handing them out one at a
     * time keeps both threads busy to the end, where chunks of eight images left one idle for up to
     * a chunk.
     */
    private static void eachUnit(long count, LongConsumer body) {
        List<Runnable> parts = new ArrayList<>((int) count);
        for (long u = 0; u < count; u++) {
            long unit = u;
            parts.add(() -> body.accept(unit));
        }
        Parallel.run(Parallel.POOL, parts);
    }

    /** The columns of output rows {@code [y0, y1)} of image {@code ni}, in this thread's scratch. */
    private static float[] unfold(CpuStorage input, Layout il, long ni, ConvGeometry g, Shape s, int y0, int y1) {
        int cols = (y1 - y0) * s.ow;
        float[] c = scratch(s.k * cols);
        CpuStorage columns = new CpuStorage(DType.FLOAT32, c, c.length);
        for (long ci = 0; ci < s.c; ci++) {
            Convolution.unfold(input, il, ni, ci, g, 0, columns, 0, cols, 1, y0, y1);
        }
        return c;
    }

    private static float[] scratch(int floats) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < floats) {
            holder[0] = new float[floats];
        }
        return holder[0];
    }

    /** Sizes as ints, and the band of output rows whose columns fill about {@link #BAND_FLOATS}. */
    private static final class Shape {
        final long n;
        final int c;
        final int o;
        final int k;
        final int oh;
        final int ow;
        final int bandRows;

        Shape(long n, long c, long o, ConvGeometry g) {
            this.n = n;
            this.c = (int) c;
            this.o = (int) o;
            this.k = (int) c * g.kh() * g.kw();
            this.oh = (int) g.outH();
            this.ow = (int) g.outW();
            this.bandRows = (int) Math.max(1, Math.min(oh, BAND_FLOATS / ((long) k * ow)));
        }

        int bands() {
            return (oh + bandRows - 1) / bandRows;
        }
    }
}
