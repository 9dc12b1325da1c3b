package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.Tensor;
import dev.kiln.spi.Backend;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.Storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Checks a backend's convolution and both its gradients against a direct seven-loop reference in
 * double precision.
 */
final class ConvReference {

    private ConvReference() {
    }

    /**
     * One configuration {@code {n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups}}: forward,
     * input gradient (into a transposed layout when {@code strided}, else a contiguous one at an
     * offset), and weight gradient, with a transposed-storage input and weight when
     * {@code strided} and contiguous ones otherwise.
     */
    static void check(Backend b, int[] k, boolean strided) {
        int n = k[0], c = k[1], h = k[2], w = k[3], o = k[4], groups = k[13];
        ConvGeometry g = new ConvGeometry(h, w, k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[12]);
        Tensor x = strided ? Tensor.randn(n, c, w, h).transpose(2, 3) : Tensor.randn(n, c, h, w);
        Tensor wt = strided ? Tensor.randn(o, c / groups, k[6], k[5]).transpose(2, 3) : Tensor.randn(o, c / groups, k[5], k[6]);
        long[] outShape = {n, o, g.outH(), g.outW()};
        Tensor gy = Tensor.randn(outShape);
        double[] xs = doubles(x);
        double[] ws = doubles(wt);
        double[] gys = doubles(gy);
        double[] y = new double[(int) Layout.contiguous(outShape).numel()];
        double[] gx = new double[xs.length];
        double[] gw = new double[ws.length];
        int cg = c / groups;
        int og = o / groups;
        long oh = g.outH();
        long ow = g.outW();
        for (int ni = 0; ni < n; ni++) {
            for (int oc = 0; oc < o; oc++) {
                int grp = oc / og;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int yi = (int) (((ni * o + oc) * oh + oy) * ow + ox);
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ky = 0; ky < g.kh(); ky++) {
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int iy = oy * g.sh() - g.ph() + ky * g.dh();
                                    int ix = ox * g.sw() - g.pw() + kx * g.dw();
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                                        continue;
                                    }
                                    int xi = ((ni * c + grp * cg + ci) * h + iy) * w + ix;
                                    int wi = ((oc * cg + ci) * g.kh() + ky) * g.kw() + kx;
                                    y[yi] += xs[xi] * ws[wi];
                                    gx[xi] += gys[yi] * ws[wi];
                                    gw[wi] += gys[yi] * xs[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        String what = java.util.Arrays.toString(k) + (strided ? ", strided operands" : ", contiguous operands");
        int at = strided ? 0 : 5;
        Storage out = b.allocate(DType.FLOAT32, y.length + at);
        Layout outLayout = new Layout(outShape, Layout.contiguous(outShape).strides(), at);
        b.conv2d(x.storage(), x.layout(), wt.storage(), wt.layout(), g, groups, out, outLayout);
        assertClose(y, out, b, outLayout, what + " forward");
        Storage dx = b.allocate(DType.FLOAT32, xs.length + at);
        Layout dxLayout = strided ? transposed23(n, c, w, h) : new Layout(x.shape(), Layout.contiguous(x.shape()).strides(), at);
        b.conv2dBackwardInput(gy.storage(), gy.layout(), wt.storage(), wt.layout(), g, groups, dx, dxLayout);
        assertClose(gx, dx, b, dxLayout, what + " input gradient");
        Storage dw = b.allocate(DType.FLOAT32, ws.length);
        Layout dwLayout = Layout.contiguous(wt.shape());
        b.conv2dBackwardWeight(gy.storage(), gy.layout(), x.storage(), x.layout(), g, groups, dw, dwLayout);
        assertClose(gw, dw, b, dwLayout, what + " weight gradient");
        Storage dwT = b.allocate(DType.FLOAT32, ws.length);
        Layout dwTLayout = transposed23(o, c / groups, k[6], k[5]);
        b.conv2dBackwardWeight(gy.storage(), gy.layout(), x.storage(), x.layout(), g, groups, dwT, dwTLayout);
        assertClose(gw, dwT, b, dwTLayout, what + " weight gradient into a transposed layout");
    }

    /** The contiguous layout of {@code [a, b, c, d]} with its last two dims swapped. */
    static Layout transposed23(long a, long b, long c, long d) {
        return new Layout(new long[] {a, b, d, c}, new long[] {b * c * d, c * d, 1, d}, 0);
    }

    private static double[] doubles(Tensor t) {
        float[] f = t.contiguous().toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void assertClose(double[] expected, Storage s, Backend b, Layout layout, String what) {
        float[] got = new float[expected.length];
        b.toHost(s, layout, got);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])), what + " at " + i);
        }
    }
}
