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
        // Output columns whose windows lie inside the plane's width; rows are tested one by one.
        int xa = Math.min(ow, (g.pw() + g.sw() - 1) / g.sw());
        int xb = Math.max(xa, Math.min(ow, Math.floorDiv(w - 1 - (kw - 1) * g.dw() + g.pw(), g.sw()) + 1));
        boolean pairs = kh == 2 && kw == 2 && g.dh() == 1 && g.dw() == 1 && sW == 1;
        for (int y = 0; y < oh; y++) {
            int y0 = y * g.sh() - g.ph();
            boolean rowsIn = y0 >= 0 && y0 + (kh - 1) * g.dh() < h;
            int vRow = vo + y * vp.sh();
            int aRow = ao + y * ap.sh();
            int from = rowsIn ? xa : ow;
            int to = rowsIn ? xb : ow;
            if (pairs && from < to) {
                maxPairsF32(s, in + y0 * sH + (from * g.sw() - g.pw()), g.sw(), sH, v, vRow + from * vp.sw(), vp.sw(),
                        arg, aRow + from * ap.sw(), ap.sw(), to - from);
            }
            for (int x = 0; x < ow; x++) {
                if (pairs && x >= from && x < to) {
                    continue;
                }
                int x0 = x * g.sw() - g.pw();
                float best = Float.NEGATIVE_INFINITY;
                int bestAt = 0;
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
                v[vRow + x * vp.sw()] = best;
                arg[aRow + x * ap.sw()] = bestAt;
            }
        }
    }

    /**
     * {@code n} adjacent 2 x 2 windows inside the plane, the first at {@code s[p]}, {@code step}
     * apart along the row, {@code sH} between its two rows. Branch-free: the index is chosen with
     * integer selects on float compares (conditional moves; a float select is a branch in C2's
     * x86 code) and the maximum with {@link Math#max}, since each compare of random data
     * mispredicts half the time (4x slower). The value is re-read at the chosen index, so a
     * {@code -0.0} that came first stays {@code -0.0}; a window holding NaN takes the general rule.
     */
    private static void maxPairsF32(float[] s, int p, int step, int sH, float[] v, int vo, int vStep, long[] arg, int ao,
                                    int aStep, int n) {
        for (int x = 0; x < n; x++, p += step) {
            float a = s[p];
            float b = s[p + 1];
            float c = s[p + sH];
            float d = s[p + sH + 1];
            float ab = Math.max(a, b);
            float cd = Math.max(c, d);
            int iab = b > a ? 1 : 0;
            int icd = d > c ? 3 : 2;
            int at = cd > ab ? icd : iab;
            float m = Math.max(ab, cd);
            if (m != m) {
                at = a != a ? 0 : b != b ? 1 : c != c ? 2 : 3;
            }
            v[vo + x * vStep] = s[p + (at & 1) + (at >> 1) * sH];
            arg[ao + x * aStep] = at;
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
        int kw = g.kw();
        int kk = g.kh() * kw;
        int h = (int) g.h();
        int w = (int) g.w();
        for (int y = 0; y < oh; y++) {
            int y0 = y * g.sh() - g.ph();
            boolean rowsIn = y0 >= 0 && y0 + (g.kh() - 1) * g.dh() < h;
            for (int x = 0; x < ow; x++) {
                int x0 = x * g.sw() - g.pw();
                int k = (int) arg[ao + y * ap.sh() + x * ap.sw()];
                int q;
                if (rowsIn && x0 >= 0 && x0 + (kw - 1) * g.dw() < w && k >= 0 && k < kk) {
                    // A window inside the plane: no bounds tests, and no division for 2 x 2.
                    int ky = kw == 2 ? k >> 1 : k / kw;
                    int kx = k - ky * kw;
                    q = d0 + (y0 + ky * g.dh()) * dp.sh() + (x0 + kx * g.dw()) * dp.sw();
                } else {
                    q = argmaxAt(arg, ao, ap, g, y, x, d0, dp);
                }
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
