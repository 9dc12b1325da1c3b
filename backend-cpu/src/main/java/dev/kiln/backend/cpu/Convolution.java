package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;

import java.util.Arrays;

/**
 * im2col and its adjoint col2im for 2-D sliding windows; convolution is these plus the blocked
 * GEMM, and pooling is these plus a reduction. Parallel over (sample, channel) planes, which
 * never write the same output. Each output row of a window offset splits into a padded left
 * edge, an in-bounds run and a padded right edge, so the run is a plain copy (or add) without
 * per-element bounds tests; float32 has its own loops that never widen to double.
 */
final class Convolution {

    private Convolution() {
    }

    static void im2col(CpuStorage src, Layout sl, ConvGeometry g, double padValue, CpuStorage dst, Layout dl) {
        long c = sl.size(1);
        Parallel.forRange(sl.size(0) * c, (long) g.kh() * g.kw() * g.outH() * g.outW(), (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                unfold(src, sl, ni, nc % c, g, padValue, dst, (int) (dl.offset() + ni * dl.stride(0)),
                        (int) dl.stride(1), (int) dl.stride(2), 0, (int) g.outH());
            }
        });
    }

    static void col2im(CpuStorage src, Layout sl, ConvGeometry g, CpuStorage dst, Layout dl) {
        Elementwise.fill(dst, dl, 0);
        long c = dl.size(1);
        Parallel.forRange(dl.size(0) * c, (long) g.kh() * g.kw() * g.outH() * g.outW(), (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                fold(src, (int) (sl.offset() + ni * sl.stride(0)), (int) sl.stride(1), (int) sl.stride(2), g,
                        ni, nc % c, dst, dl, 0, (int) g.outH());
            }
        });
    }

    /**
     * im2col of one plane, channel {@code ci} of sample {@code ni}, for the output rows
     * {@code [y0, y1)}: column row {@code ci * kh * kw + ki * kw + kj} starts at
     * {@code d + row * dRow}, and output position {@code (y, x)} lies {@code ((y - y0) * ow + x) * dL}
     * further on.
     */
    static void unfold(CpuStorage src, Layout sl, long ni, long ci, ConvGeometry g, double padValue, CpuStorage dst,
                       int d, int dRow, int dL, int y0, int y1) {
        int kh = g.kh();
        int kw = g.kw();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int sH = (int) sl.stride(2);
        int sW = (int) sl.stride(3);
        int base = (int) (sl.offset() + ni * sl.stride(0) + ci * sl.stride(1));
        boolean f32 = src.dtype() == DType.FLOAT32;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int out = d + (int) (ci * kh * kw + (long) ki * kw + kj) * dRow;
                Span xs = Span.of(g.sw(), kj * g.dw() - g.pw(), (int) g.w(), ow);
                for (int y = y0; y < y1; y++) {
                    int iy = y * g.sh() - g.ph() + ki * g.dh();
                    int o = out + (y - y0) * ow * dL;
                    int i = base + iy * sH + xs.first() * sW;
                    boolean rowIn = iy >= 0 && iy < h;
                    if (f32) {
                        rowF32(src.floats(), i, sW, rowIn ? xs : Span.NONE, ow, dst.floats(), o, dL, (float) padValue);
                    } else {
                        row(src, i, sW, rowIn ? xs : Span.NONE, ow, dst, o, dL, padValue);
                    }
                }
            }
        }
    }

    /**
     * The adjoint of {@link #unfold}: adds the columns at {@code s} (laid out as unfold writes
     * them, with {@code sRow} and {@code sL}) for output rows {@code [y0, y1)} into plane
     * {@code (ni, ci)} of {@code dst}.
     */
    static void fold(CpuStorage src, int s, int sRow, int sL, ConvGeometry g, long ni, long ci, CpuStorage dst, Layout dl,
                     int y0, int y1) {
        int kh = g.kh();
        int kw = g.kw();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int dH = (int) dl.stride(2);
        int dW = (int) dl.stride(3);
        int base = (int) (dl.offset() + ni * dl.stride(0) + ci * dl.stride(1));
        boolean f32 = src.dtype() == DType.FLOAT32;
        if (f32 && kw == 3 && g.sw() == 1 && g.dw() == 1 && g.pw() == 0 && sL == 1 && dW == 1 && ow >= 2) {
            // 3 wide, stride 1, no side padding: a window row's three column rows add into one input
            // row in a single pass instead of three short ones.
            for (int ki = 0; ki < kh; ki++) {
                int in = s + (int) (ci * kh * kw + (long) ki * kw) * sRow;
                for (int y = y0; y < y1; y++) {
                    int iy = y * g.sh() - g.ph() + ki * g.dh();
                    if (iy >= 0 && iy < h) {
                        int p = in + (y - y0) * ow;
                        addThreeRowsF32(src.floats(), p, p + sRow, p + 2 * sRow, dst.floats(), base + iy * dH, ow);
                    }
                }
            }
            return;
        }
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int in = s + (int) (ci * kh * kw + (long) ki * kw + kj) * sRow;
                Span xs = Span.of(g.sw(), kj * g.dw() - g.pw(), (int) g.w(), ow);
                if (xs.count() == 0) {
                    continue;
                }
                for (int y = y0; y < y1; y++) {
                    int iy = y * g.sh() - g.ph() + ki * g.dh();
                    if (iy < 0 || iy >= h) {
                        continue;
                    }
                    int p = in + ((y - y0) * ow + xs.from()) * sL;
                    int q = base + iy * dH + xs.first() * dW;
                    if (f32) {
                        addRunF32(src.floats(), p, sL, dst.floats(), q, xs.step() * dW, xs.count());
                    } else {
                        addRun(src, p, sL, dst, q, xs.step() * dW, xs.count());
                    }
                }
            }
        }
    }

    /**
     * The output columns {@code [from, to)} of one window offset whose input column
     * {@code x * step + shift} lies inside {@code [0, w)}; {@code first} is the input column of
     * {@code from}.
     */
    private record Span(int from, int to, int step, int first) {
        static final Span NONE = new Span(0, 0, 1, 0);

        static Span of(int step, int shift, int w, int ow) {
            int from = shift >= 0 ? 0 : (-shift + step - 1) / step;
            int to = w - 1 - shift < 0 ? 0 : Math.min(ow, (w - 1 - shift) / step + 1);
            from = Math.min(from, ow);
            to = Math.max(to, from);
            return new Span(from, to, step, from * step + shift);
        }

        int count() {
            return to - from;
        }
    }

    /** One output row of im2col: padding, the in-bounds run read from {@code s[i]} on, padding. */
    private static void rowF32(float[] s, int i, int sW, Span xs, int ow, float[] d, int o, int dL, float pad) {
        int step = xs.step() * sW;
        if (dL == 1) {
            Arrays.fill(d, o, o + xs.from(), pad);
            if (step == 1 && xs.count() > 0) {
                System.arraycopy(s, i, d, o + xs.from(), xs.count());
            } else {
                for (int x = xs.from(), at = i; x < xs.to(); x++, at += step) {
                    d[o + x] = s[at];
                }
            }
            Arrays.fill(d, o + xs.to(), o + ow, pad);
            return;
        }
        for (int x = 0; x < ow; x++) {
            d[o + x * dL] = x >= xs.from() && x < xs.to() ? s[i + (x - xs.from()) * step] : pad;
        }
    }

    private static void row(CpuStorage s, int i, int sW, Span xs, int ow, CpuStorage d, int o, int dL, double pad) {
        int step = xs.step() * sW;
        for (int x = 0; x < ow; x++) {
            Elementwise.write(d, o + x * dL, x >= xs.from() && x < xs.to() ? Elementwise.read(s, i + (x - xs.from()) * step) : pad);
        }
    }

    /** {@code d[q + x + j] += s[pj + x]} for {@code j < 3}, {@code x < ow}: one input row's share of three window columns. */
    private static void addThreeRowsF32(float[] s, int p0, int p1, int p2, float[] d, int q, int ow) {
        d[q] += s[p0];
        d[q + 1] += s[p0 + 1] + s[p1];
        for (int x = 2; x < ow; x++) {
            d[q + x] += s[p0 + x] + s[p1 + x - 1] + s[p2 + x - 2];
        }
        d[q + ow] += s[p1 + ow - 1] + s[p2 + ow - 2];
        d[q + ow + 1] += s[p2 + ow - 1];
    }

    /** {@code d[q + j*dStep] += s[p + j*sStep]} for {@code j < n}. */
    private static void addRunF32(float[] s, int p, int sStep, float[] d, int q, int dStep, int n) {
        if (sStep == 1 && dStep == 1) {
            for (int j = 0; j < n; j++) {
                d[q + j] += s[p + j];
            }
            return;
        }
        for (int j = 0; j < n; j++) {
            d[q + j * dStep] += s[p + j * sStep];
        }
    }

    private static void addRun(CpuStorage s, int p, int sStep, CpuStorage d, int q, int dStep, int n) {
        for (int j = 0; j < n; j++) {
            int at = q + j * dStep;
            Elementwise.write(d, at, Elementwise.read(d, at) + Elementwise.read(s, p + j * sStep));
        }
    }
}
