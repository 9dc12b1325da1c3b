package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.UnaryOp;

/**
 * One-pass kernels for the SPI's fused operations ({@code activationBackward}, {@code adamStep}).
 * Each handles whole contiguous operands of float32 or float64 and returns false otherwise, so that
 * the backend falls back to the SPI's composite default. The arithmetic is the composite's, one
 * rounding per operation in the same order, so results are identical.
 */
final class FusedKernels {

    private FusedKernels() {
    }

    private static boolean dense(Layout l, Layout like) {
        return l.isContiguous() && l.offset() == like.offset() && java.util.Arrays.equals(l.shape(), like.shape());
    }

    static boolean activationBackward(UnaryOp op, CpuStorage grad, Layout gl, CpuStorage out, Layout ol,
                                      CpuStorage dst, Layout dl) {
        if (!ol.isContiguous() || !dense(gl, ol) || !dense(dl, ol)
                || (op != UnaryOp.RELU && op != UnaryOp.SIGMOID && op != UnaryOp.TANH)) {
            return false;
        }
        int base = (int) ol.offset();
        long n = ol.numel();
        if (out.dtype() == DType.FLOAT32) {
            float[] g = grad.floats();
            float[] s = out.floats();
            float[] o = dst.floats();
            Parallel.forRange(n, 2, (a, b) -> activationF(op, g, s, o, base + (int) a, base + (int) b));
            return true;
        }
        if (out.dtype() == DType.FLOAT64) {
            double[] g = grad.doubles();
            double[] s = out.doubles();
            double[] o = dst.doubles();
            Parallel.forRange(n, 2, (a, b) -> activationD(op, g, s, o, base + (int) a, base + (int) b));
            return true;
        }
        return false;
    }

    private static void activationF(UnaryOp op, float[] g, float[] s, float[] o, int from, int to) {
        switch (op) {
            case RELU -> {
                // sign(out) as the SIGN kernel computes it, without branches (see Elementwise.signRun);
                // a run holding NaN (whose sign is 0) is redone exactly.
                float seen = 0f;
                for (int j = from; j < to; j++) {
                    float x = s[j];
                    seen = Math.max(seen, x);
                    o[j] = g[j] * Math.min(Math.max(x * Float.MAX_VALUE * Float.MAX_VALUE, -1f), 1f);
                }
                if (seen != seen) {
                    for (int j = from; j < to; j++) {
                        float x = s[j];
                        o[j] = g[j] * (x > 0 ? 1f : x < 0 ? -1f : x == x ? x : 0f);
                    }
                }
            }
            case SIGMOID -> {
                for (int j = from; j < to; j++) {
                    float x = s[j];
                    o[j] = (g[j] * x) * (1f - x);
                }
            }
            default -> {
                for (int j = from; j < to; j++) {
                    float x = s[j];
                    o[j] = g[j] * (1f - x * x);
                }
            }
        }
    }

    private static void activationD(UnaryOp op, double[] g, double[] s, double[] o, int from, int to) {
        for (int j = from; j < to; j++) {
            double x = s[j];
            o[j] = switch (op) {
                case RELU -> g[j] * (Double.isNaN(x) ? 0 : x > 0 ? 1 : x < 0 ? -1 : x);
                case SIGMOID -> (g[j] * x) * (1 - x);
                default -> g[j] * (1 - x * x);
            };
        }
    }

    static boolean adamStep(CpuStorage param, Layout pl, CpuStorage grad, Layout gl, CpuStorage m, Layout ml,
                            CpuStorage v, Layout vl, double lr, double beta1, double beta2, double eps, double weightDecay,
                            double bc1, double bc2, boolean decoupled, boolean maximize) {
        if (!pl.isContiguous() || !dense(gl, pl) || !dense(ml, pl) || !dense(vl, pl)) {
            return false;
        }
        int base = (int) pl.offset();
        long n = pl.numel();
        if (param.dtype() == DType.FLOAT32) {
            float[] p = param.floats();
            float[] g = grad.floats();
            float[] a = m.floats();
            float[] b = v.floats();
            float decay = (float) (1 - lr * weightDecay);
            float wd = (float) weightDecay;
            float b1 = (float) beta1;
            float w1 = (float) (1 - beta1);
            float b2 = (float) beta2;
            float w2 = (float) (1 - beta2);
            float bc2Sqrt = (float) Math.sqrt(bc2);
            float e = (float) eps;
            float step = (float) (-lr / bc1);
            boolean addDecay = !decoupled && weightDecay != 0;
            Parallel.forRange(n, 8, (s0, e0) -> {
                for (int j = base + (int) s0, end = base + (int) e0; j < end; j++) {
                    float gj = maximize ? -g[j] : g[j];
                    float pj = p[j];
                    if (decoupled) {
                        pj = pj * decay;
                    } else if (addDecay) {
                        gj = gj + pj * wd;
                    }
                    float mj = a[j] * b1;
                    mj = mj + gj * w1;
                    float vj = b[j] * b2;
                    vj = vj + (gj * gj) * w2;
                    float denom = (float) Math.sqrt(vj) / bc2Sqrt + e;
                    p[j] = pj + (mj / denom) * step;
                    a[j] = mj;
                    b[j] = vj;
                }
            });
            return true;
        }
        if (param.dtype() == DType.FLOAT64) {
            double[] p = param.doubles();
            double[] g = grad.doubles();
            double[] a = m.doubles();
            double[] b = v.doubles();
            double decay = 1 - lr * weightDecay;
            double w1 = 1 - beta1;
            double w2 = 1 - beta2;
            double bc2Sqrt = Math.sqrt(bc2);
            double step = -lr / bc1;
            boolean addDecay = !decoupled && weightDecay != 0;
            Parallel.forRange(n, 8, (s0, e0) -> {
                for (int j = base + (int) s0, end = base + (int) e0; j < end; j++) {
                    double gj = maximize ? -g[j] : g[j];
                    double pj = p[j];
                    if (decoupled) {
                        pj = pj * decay;
                    } else if (addDecay) {
                        gj = gj + pj * weightDecay;
                    }
                    double mj = a[j] * beta1 + gj * w1;
                    double vj = b[j] * beta2 + (gj * gj) * w2;
                    p[j] = pj + (mj / (Math.sqrt(vj) / bc2Sqrt + eps)) * step;
                    a[j] = mj;
                    b[j] = vj;
                }
            });
            return true;
        }
        return false;
    }
}
