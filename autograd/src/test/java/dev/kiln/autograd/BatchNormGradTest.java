package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Tensor#batchNorm}, the backend's batch-norm primitive and its derivative rule: the
 * forward and the running statistics against a direct double-precision reference, first and
 * second derivatives against finite differences, and the fused backward against its recorded
 * composition.
 */
class BatchNormGradTest {

    private static final double EPS = 1e-5;
    private static final double MOMENTUM = 0.1;

    /** An [N, C, L] input read through a transposed view, or [N, C] when l == 0. */
    private static Tensor input(int n, int c, int l, DType dtype) {
        return l == 0 ? Tensor.randn(n, c).to(dtype) : Tensor.randn(n, l, c).to(dtype).transpose(1, 2);
    }

    /** A dense float64 copy of {@code t} that requires grad: a leaf for gradcheck and autograd. */
    private static Tensor leaf(Tensor t) {
        return t.to(DType.FLOAT64).contiguous().requiresGrad(true);
    }

    @ParameterizedTest(name = "{0} n={1} c={2} l={3} affine={4}")
    @CsvSource({
        "FLOAT64, 5, 3, 0, true",
        "FLOAT64, 3, 4, 6, true",
        "FLOAT64, 2, 2, 7, false",
        "FLOAT32, 4, 3, 5, true",
    })
    void trainingMatchesADirectReference(DType dtype, int n, int c, int l, boolean affine) {
        Kiln.manualSeed(3);
        Tensor x = input(n, c, l, dtype);
        Tensor w = affine ? Tensor.randn(c).to(dtype) : null;
        Tensor b = affine ? Tensor.randn(c).to(dtype) : null;
        Tensor rm = Tensor.randn(c).to(dtype);
        Tensor rv = Tensor.rand(c).to(dtype).add(0.5);
        double[] rm0 = rm.toDoubleArray();
        double[] rv0 = rv.toDoubleArray();
        Tensor out = x.batchNorm(w, b, rm, rv, true, MOMENTUM, EPS);

        double[] xs = x.contiguous().toDoubleArray();
        int per = Math.max(l, 1);
        int m = n * per;
        double[] expected = new double[xs.length];
        double tol = dtype == DType.FLOAT64 ? 1e-12 : 1e-5;
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < per; j++) {
                    sum += xs[(i * c + ch) * per + j];
                }
            }
            double mean = sum / m;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < per; j++) {
                    double d = xs[(i * c + ch) * per + j] - mean;
                    sq += d * d;
                }
            }
            double var = sq / m;
            double scale = affine ? w.toDoubleArray()[ch] : 1;
            double shift = affine ? b.toDoubleArray()[ch] : 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < per; j++) {
                    int at = (i * c + ch) * per + j;
                    expected[at] = (xs[at] - mean) / Math.sqrt(var + EPS) * scale + shift;
                }
            }
            assertEquals((1 - MOMENTUM) * rm0[ch] + MOMENTUM * mean, rm.toDoubleArray()[ch], tol, "running mean");
            assertEquals((1 - MOMENTUM) * rv0[ch] + MOMENTUM * var * m / (m - 1), rv.toDoubleArray()[ch], tol, "running var");
        }
        assertArrayEquals(expected, out.toDoubleArray(), tol * 10);
    }

    @Test
    void evaluationUsesTheRunningStatisticsAndWithoutThemTheBatch() {
        Kiln.manualSeed(4);
        Tensor x = input(3, 2, 4, DType.FLOAT64);
        Tensor w = Tensor.randn(2).to(DType.FLOAT64);
        Tensor b = Tensor.randn(2).to(DType.FLOAT64);
        Tensor rm = Tensor.randn(2).to(DType.FLOAT64);
        Tensor rv = Tensor.rand(2).to(DType.FLOAT64).add(0.5);
        Tensor expected = x.sub(rm.reshape(1, 2, 1)).div(rv.reshape(1, 2, 1).add(EPS).sqrt()).mul(w.reshape(1, 2, 1)).add(b.reshape(1, 2, 1));
        double[] before = rm.toDoubleArray();
        assertArrayEquals(expected.toDoubleArray(), x.batchNorm(w, b, rm, rv, false, MOMENTUM, EPS).toDoubleArray(), 1e-12);
        assertArrayEquals(before, rm.toDoubleArray(), 0.0, "evaluation leaves the running mean alone");
        // Without running statistics even evaluation normalizes with the batch's own.
        Tensor batch = x.batchNorm(null, null, null, null, false, MOMENTUM, EPS);
        assertEquals(0.0, batch.mean(new int[] {0, 2}, false).abs().max().item(), 1e-12);
    }

    @Test
    void firstDerivativesMatchFiniteDifferences() {
        Kiln.manualSeed(5);
        Tensor x = leaf(input(3, 2, 4, DType.FLOAT64));
        Tensor w = leaf(Tensor.randn(2));
        Tensor b = leaf(Tensor.randn(2));
        Tensor mix = Tensor.randn(3, 2, 4).to(DType.FLOAT64);
        assertTrue(GradCheck.gradcheck(in -> in[0].batchNorm(in[1], in[2], null, null, true, MOMENTUM, EPS).mul(mix), x, w, b));
        assertTrue(GradCheck.gradcheck(in -> in[0].batchNorm(null, in[1], null, null, true, MOMENTUM, EPS).mul(mix), x, b));
        assertTrue(GradCheck.gradcheck(in -> in[0].batchNorm(null, null, null, null, true, MOMENTUM, EPS).mul(mix), x));
        Tensor rm = Tensor.randn(2).to(DType.FLOAT64);
        Tensor rv = Tensor.rand(2).to(DType.FLOAT64).add(0.5);
        assertTrue(GradCheck.gradcheck(in -> in[0].batchNorm(in[1], in[2], rm, rv, false, MOMENTUM, EPS).mul(mix), x, w, b));
    }

    @Test
    void secondDerivativesMatchFiniteDifferences() {
        Kiln.manualSeed(6);
        Tensor x = leaf(input(2, 2, 3, DType.FLOAT64));
        Tensor w = leaf(Tensor.randn(2));
        Tensor mix = Tensor.randn(2, 2, 3).to(DType.FLOAT64);
        assertTrue(GradCheck.gradcheck(in -> Kiln.enableGrad(() -> {
            Tensor y = in[0].batchNorm(in[1], null, null, null, true, MOMENTUM, EPS).mul(mix);
            List<Tensor> g = Autograd.grad(y.square().sum(), null, List.of(in[0], in[1]), true, true);
            return g.get(0).mul(mix).sum().add(g.get(1).square().sum());
        }), x, w));
    }

    @Test
    void theFusedBackwardAgreesWithItsRecordedComposition() {
        Kiln.manualSeed(7);
        Tensor x = leaf(input(4, 3, 5, DType.FLOAT64));
        Tensor w = leaf(Tensor.randn(3));
        Tensor b = leaf(Tensor.randn(3));
        Tensor mix = Tensor.randn(4, 3, 5).to(DType.FLOAT64);
        Tensor y = x.batchNorm(w, b, null, null, true, MOMENTUM, EPS).mul(mix).sum();
        List<Tensor> fused = Autograd.grad(y, null, List.of(x, w, b), true, false);
        List<Tensor> recorded = Autograd.grad(y, null, List.of(x, w, b), true, true);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(recorded.get(i).toDoubleArray(), fused.get(i).toDoubleArray(), 1e-12);
        }
    }

    @Test
    void badInputIsNamed() {
        Tensor x = Tensor.randn(4, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> x.batchNorm(Tensor.randn(2), null, null, null, true, MOMENTUM, EPS));
        assertTrue(e.getMessage().startsWith("batchNorm: input [4, 3] (float32) has 3 channels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.randn(1, 3).batchNorm(null, null, Tensor.zeros(3), Tensor.ones(3), true, MOMENTUM, EPS));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
    }
}
