package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.ConvGeometry;

/**
 * Direct max-pooling kernels, parallel over (sample, channel) planes. Each plane is one call of
 * a small per-plane method with int offsets, so the JIT compiles a tight loop for it; float32,
 * the dtype training runs in, has its own copy that never widens to double.
 */
final class Pooling {

    private Pooling() {
    }

    static void maxPool2d(CpuStorage src, Layout sl, ConvGeometry g, CpuStorage values, Layout vl, CpuStorage argmax,
                          Layout al) {
        long c = sl.size(1);
        int oh = (int) g.outH();
        int ow = (int) g.outW();
        Plane s = new Plane(sl);
        Plane v = new Plane(vl);
        Plane a = new Plane(al);
        boolean f32 = src.dtype() == DType.FLOAT32;
        Parallel.forRange(sl.size(0) * c, (long) oh * ow * g.kh() * g.kw(), (from, to) -> {
            for (long nc = from; nc < to; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                if (f32) {
                    maxPlaneF32(src.floats(), s.at(ni, ci), s, g, oh, ow, values.floats(), v.at(ni, ci), v,
                            argmax.longs(), a.at(ni, ci), a);
                } else {
                    maxPlane(src, s.at(ni, ci), s, g, oh, ow, values, v.at(ni, ci), v, argmax.longs(), a.at(ni, ci), a);
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
        Plane gp = new Plane(gl);
        Plane a = new Plane(al);
        Plane d = new Plane(dl);
        boolean f32 = grad.dtype() == DType.FLOAT32;
        Parallel.forRange(dl.size(0) * c, (long) oh * ow, (from, to) -> {
            for (long nc = from; nc < to; nc++) {
                long ni = nc / c;
                long ci = nc % c;
                if (f32) {
                    scatterPlaneF32(grad.floats(), gp.at(ni, ci), gp, argmax.longs(), a.at(ni, ci), a, g, oh, ow,
                            dst.floats(), d.at(ni, ci), d);
                } else {
                    scatterPlane(grad, gp.at(ni, ci), gp, argmax.longs(), a.at(ni, ci), a, g, oh, ow, dst, d.at(ni, ci), d);
                }
            }
        });
    }

    /** The int strides of a 4-D layout's last two dims and where plane (n, c) starts. */
    private record Plane(Layout l, int sh, int sw) {
        Plane(Layout l) {
            this(l, (int) l.stride(2), (int) l.stride(3));
        }

        int at(long n, long c) {
            return (int) (l.offset() + n * l.stride(0) + c * l.stride(1));
        }
    }

    /*
     * Window rule shared by both plane kernels: padding reads as minus infinity, the first
     * element seeds the maximum, a larger value or the first NaN replaces it, and nothing
     * replaces a NaN.
     */

    private static void maxPlaneF32(float[] s, int in, Plane sp, ConvGeometry g, int oh, int ow, float[] v, int vo,
                                    Plane vp, long[] arg, int ao, Plane ap) {
        int h = (int) g.h();
        int w = (int) g.w();
        int kh = g.kh();
        int kw = g.kw();
        int sH = sp.sh();
        int sW = sp.sw();
        for (int y = 0; y < oh; y++) {
            int y0 = y * g.sh() - g.ph();
            boolean rowsIn = y0 >= 0 && y0 + (kh - 1) * g.dh() < h;
            for (int x = 0; x < ow; x++) {
                int x0 = x * g.sw() - g.pw();
                float best = Float.NEGATIVE_INFINITY;
                int bestAt = 0;
                if (rowsIn && x0 >= 0 && x0 + (kw - 1) * g.dw() < w) {
                    // A window inside the plane (most of them): no bounds tests.
                    int k = 0;
                    for (int ky = 0, row = in + y0 * sH + x0 * sW; ky < kh; ky++, row += g.dh() * sH) {
                        for (int kx = 0, at = row; kx < kw; kx++, k++, at += g.dw() * sW) {
                            float e = s[at];
                            if (e > best || (e != e && best == best)) {
                                best = e;
                                bestAt = k;
                            }
                        }
                    }
                    v[vo + y * vp.sh() + x * vp.sw()] = best;
                    arg[ao + y * ap.sh() + x * ap.sw()] = bestAt;
                    continue;
                }
                for (int ky = 0; ky < kh; ky++) {
                    int iy = y0 + ky * g.dh();
                    boolean rowIn = iy >= 0 && iy < h;
                    int row = in + iy * sH;
                    for (int kx = 0; kx < kw; kx++) {
                        int ix = x0 + kx * g.dw();
                        float e = rowIn && ix >= 0 && ix < w ? s[row + ix * sW] : Float.NEGATIVE_INFINITY;
                        if (e > best || (e != e && best == best)) {
                            best = e;
                            bestAt = ky * kw + kx;
                        }
                    }
                }
                v[vo + y * vp.sh() + x * vp.sw()] = best;
                arg[ao + y * ap.sh() + x * ap.sw()] = bestAt;
            }
        }
    }

    private static void maxPlane(CpuStorage s, int in, Plane sp, ConvGeometry g, int oh, int ow, CpuStorage v, int vo,
                                 Plane vp, long[] arg, int ao, Plane ap) {
        int h = (int) g.h();
        int w = (int) g.w();
        int kh = g.kh();
        int kw = g.kw();
        for (int y = 0; y < oh; y++) {
            int y0 = y * g.sh() - g.ph();
            for (int x = 0; x < ow; x++) {
                int x0 = x * g.sw() - g.pw();
                double best = Double.NEGATIVE_INFINITY;
                int bestAt = 0;
                for (int ky = 0; ky < kh; ky++) {
                    int iy = y0 + ky * g.dh();
                    for (int kx = 0; kx < kw; kx++) {
                        int ix = x0 + kx * g.dw();
                        double e = iy >= 0 && iy < h && ix >= 0 && ix < w
                                ? Elementwise.read(s, in + iy * sp.sh() + ix * sp.sw()) : Double.NEGATIVE_INFINITY;
                        if (e > best || (e != e && best == best)) {
                            best = e;
                            bestAt = ky * kw + kx;
                        }
                    }
                }
                Elementwise.write(v, vo + y * vp.sh() + x * vp.sw(), best);
                arg[ao + y * ap.sh() + x * ap.sw()] = bestAt;
            }
        }
    }

    /*
     * The gradient adds each window's gradient at its argmax; windows may overlap, and each plane
     * is one task's.
     */

    private static void scatterPlaneF32(float[] gr, int go, Plane gp, long[] arg, int ao, Plane ap, ConvGeometry g,
                                        int oh, int ow, float[] d, int d0, Plane dp) {
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int q = argmaxAt(arg, ao, ap, g, y, x, d0, dp);
                if (q >= 0) {
                    d[q] += gr[go + y * gp.sh() + x * gp.sw()];
                }
            }
        }
    }

    private static void scatterPlane(CpuStorage gr, int go, Plane gp, long[] arg, int ao, Plane ap, ConvGeometry g,
                                     int oh, int ow, CpuStorage d, int d0, Plane dp) {
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int q = argmaxAt(arg, ao, ap, g, y, x, d0, dp);
                if (q >= 0) {
                    Elementwise.write(d, q, Elementwise.read(d, q) + Elementwise.read(gr, go + y * gp.sh() + x * gp.sw()));
                }
            }
        }
    }

    /** Where window (y, x)'s saved argmax lies in the plane starting at {@code d0}, or -1 when it is padding. */
    private static int argmaxAt(long[] arg, int ao, Plane ap, ConvGeometry g, int y, int x, int d0, Plane dp) {
        int k = (int) arg[ao + y * ap.sh() + x * ap.sw()];
        int iy = y * g.sh() - g.ph() + (k / g.kw()) * g.dh();
        int ix = x * g.sw() - g.pw() + (k % g.kw()) * g.dw();
        return iy >= 0 && iy < g.h() && ix >= 0 && ix < g.w() ? d0 + iy * dp.sh() + ix * dp.sw() : -1;
    }
}
