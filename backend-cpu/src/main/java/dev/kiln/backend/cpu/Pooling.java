package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;

/** Direct max-pooling kernels, parallel over (sample, channel) planes. */
final class Pooling {

    private Pooling() {
    }

    static void maxPool2d(CpuStorage src, Layout sl, ConvGeometry g, CpuStorage values, Layout vl, CpuStorage argmax,
                          Layout al) {
        long c = sl.size(1);
        int oh = (int) g.outH();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int w = (int) g.w();
        boolean f32 = src.dtype() == DType.FLOAT32;
        Parallel.forRange(sl.size(0) * c, (long) oh * ow * g.kh() * g.kw(), (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                long in = sl.offset() + ni * sl.stride(0) + ci * sl.stride(1);
                long vo = vl.offset() + ni * vl.stride(0) + ci * vl.stride(1);
                long ao = al.offset() + ni * al.stride(0) + ci * al.stride(1);
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        double best = Double.NEGATIVE_INFINITY;
                        int bestAt = 0;
                        boolean found = false;
                        for (int ky = 0; ky < g.kh(); ky++) {
                            int iy = y * g.sh() - g.ph() + ky * g.dh();
                            for (int kx = 0; kx < g.kw(); kx++) {
                                int ix = x * g.sw() - g.pw() + kx * g.dw();
                                // Padding is minus infinity: it wins only when the whole window is padding.
                                double v = iy < 0 || iy >= h || ix < 0 || ix >= w ? Double.NEGATIVE_INFINITY
                                        : f32 ? src.floats()[(int) (in + iy * sl.stride(2) + ix * sl.stride(3))]
                                        : Elementwise.read(src, (int) (in + iy * sl.stride(2) + ix * sl.stride(3)));
                                if (!found || (!Double.isNaN(best) && (v > best || Double.isNaN(v)))) {
                                    best = v;
                                    bestAt = ky * g.kw() + kx;
                                    found = true;
                                }
                            }
                        }
                        int q = (int) (vo + y * vl.stride(2) + x * vl.stride(3));
                        if (f32) {
                            values.floats()[q] = (float) best;
                        } else {
                            Elementwise.write(values, q, best);
                        }
                        argmax.longs()[(int) (ao + y * al.stride(2) + x * al.stride(3))] = bestAt;
                    }
                }
            }
        });
    }

    static void maxPool2dBackward(CpuStorage grad, Layout gl, CpuStorage argmax, Layout al, ConvGeometry g,
                                  CpuStorage dst, Layout dl) {
        Elementwise.fill(dst, dl, 0);
        long c = dl.size(1);
        int oh = (int) g.outH();
        int ow = (int) g.outW();
        int h = (int) g.h();
        int w = (int) g.w();
        boolean f32 = grad.dtype() == DType.FLOAT32;
        Parallel.forRange(dl.size(0) * c, (long) oh * ow, (a, b) -> {
            for (long nc = a; nc < b; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                long go = gl.offset() + ni * gl.stride(0) + ci * gl.stride(1);
                long ao = al.offset() + ni * al.stride(0) + ci * al.stride(1);
                long d0 = dl.offset() + ni * dl.stride(0) + ci * dl.stride(1);
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        int k = (int) argmax.longs()[(int) (ao + y * al.stride(2) + x * al.stride(3))];
                        int iy = y * g.sh() - g.ph() + (k / g.kw()) * g.dh();
                        int ix = x * g.sw() - g.pw() + (k % g.kw()) * g.dw();
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                            continue;
                        }
                        int p = (int) (go + y * gl.stride(2) + x * gl.stride(3));
                        int q = (int) (d0 + iy * dl.stride(2) + ix * dl.stride(3));
                        if (f32) {
                            dst.floats()[q] += grad.floats()[p];
                        } else {
                            Elementwise.write(dst, q, Elementwise.read(dst, q) + Elementwise.read(grad, p));
                        }
                    }
                }
            }
        });
    }
}
