package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;

/**
 * im2col and its adjoint col2im for 2-D sliding windows; convolution is these plus the blocked
 * GEMM, and pooling is these plus a reduction. Parallel over (sample, channel) planes, which
 * never write the same output.
 */
final class Convolution {

    private Convolution() {
    }

    static void im2col(CpuStorage src, Layout sl, ConvGeometry g, double padValue, CpuStorage dst, Layout dl) {
        long n = sl.size(0);
        long c = sl.size(1);
        int kh = g.kh();
        int kw = g.kw();
        int oh = (int) g.outH();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int w = (int) g.w();
        long sN = sl.stride(0);
        long sC = sl.stride(1);
        int sH = (int) sl.stride(2);
        int sW = (int) sl.stride(3);
        long dN = dl.stride(0);
        long dR = dl.stride(1);
        int dL = (int) dl.stride(2);
        boolean f32 = src.dtype() == DType.FLOAT32;
        Parallel.forRange(n * c, (long) kh * kw * oh * ow, (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                int base = (int) (sl.offset() + ni * sN + ci * sC);
                for (int ki = 0; ki < kh; ki++) {
                    for (int kj = 0; kj < kw; kj++) {
                        long row = ci * kh * kw + (long) ki * kw + kj;
                        int out = (int) (dl.offset() + ni * dN + row * dR);
                        for (int y = 0; y < oh; y++) {
                            int iy = y * g.sh() - g.ph() + ki * g.dh();
                            boolean rowIn = iy >= 0 && iy < h;
                            for (int x = 0; x < ow; x++) {
                                int ix = x * g.sw() - g.pw() + kj * g.dw();
                                int q = out + (y * ow + x) * dL;
                                boolean in = rowIn && ix >= 0 && ix < w;
                                if (f32) {
                                    dst.floats()[q] = in ? src.floats()[base + iy * sH + ix * sW] : (float) padValue;
                                } else {
                                    Elementwise.write(dst, q, in ? Elementwise.read(src, base + iy * sH + ix * sW) : padValue);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    static void col2im(CpuStorage src, Layout sl, ConvGeometry g, CpuStorage dst, Layout dl) {
        Elementwise.fill(dst, dl, 0);
        long n = dl.size(0);
        long c = dl.size(1);
        int kh = g.kh();
        int kw = g.kw();
        int oh = (int) g.outH();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int w = (int) g.w();
        long dN = dl.stride(0);
        long dC = dl.stride(1);
        int dH = (int) dl.stride(2);
        int dW = (int) dl.stride(3);
        long sN = sl.stride(0);
        long sR = sl.stride(1);
        int sL = (int) sl.stride(2);
        boolean f32 = src.dtype() == DType.FLOAT32;
        Parallel.forRange(n * c, (long) kh * kw * oh * ow, (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                int base = (int) (dl.offset() + ni * dN + ci * dC);
                for (int ki = 0; ki < kh; ki++) {
                    for (int kj = 0; kj < kw; kj++) {
                        long row = ci * kh * kw + (long) ki * kw + kj;
                        int in = (int) (sl.offset() + ni * sN + row * sR);
                        for (int y = 0; y < oh; y++) {
                            int iy = y * g.sh() - g.ph() + ki * g.dh();
                            if (iy < 0 || iy >= h) {
                                continue;
                            }
                            for (int x = 0; x < ow; x++) {
                                int ix = x * g.sw() - g.pw() + kj * g.dw();
                                if (ix < 0 || ix >= w) {
                                    continue;
                                }
                                int p = in + (y * ow + x) * sL;
                                int q = base + iy * dH + ix * dW;
                                if (f32) {
                                    dst.floats()[q] += src.floats()[p];
                                } else {
                                    Elementwise.write(dst, q, Elementwise.read(dst, q) + Elementwise.read(src, p));
                                }
                            }
                        }
                    }
                }
            }
        });
    }
}
