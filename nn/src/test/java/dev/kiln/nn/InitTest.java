package dev.kiln.nn;

import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InitTest {

    private static double maxAbs(Tensor t) {
        return t.abs().max().item();
    }

    @Test
    void gains() {
        assertEquals(1.0, Init.calculateGain(Init.Nonlinearity.LINEAR));
        assertEquals(1.0, Init.calculateGain(Init.Nonlinearity.CONV2D));
        assertEquals(1.0, Init.calculateGain(Init.Nonlinearity.SIGMOID));
        assertEquals(5.0 / 3, Init.calculateGain(Init.Nonlinearity.TANH));
        assertEquals(Math.sqrt(2), Init.calculateGain(Init.Nonlinearity.RELU));
        assertEquals(Math.sqrt(2 / (1 + 0.01 * 0.01)), Init.calculateGain(Init.Nonlinearity.LEAKY_RELU));
        assertEquals(Math.sqrt(2 / 6.0), Init.calculateGain(Init.Nonlinearity.LEAKY_RELU, Math.sqrt(5)), 1e-15);
        assertEquals(0.75, Init.calculateGain(Init.Nonlinearity.SELU));
    }

    @Test
    void fans() {
        assertArrayEquals(new long[] {784, 128}, Init.calculateFanInAndFanOut(Tensor.empty(128, 784)));
        assertArrayEquals(new long[] {3 * 9, 16 * 9}, Init.calculateFanInAndFanOut(Tensor.empty(16, 3, 3, 3)));
        assertThrows(IllegalArgumentException.class, () -> Init.calculateFanInAndFanOut(Tensor.empty(3)));
    }

    @Test
    void linearAndConvDefaultsAreBoundedByOneOverSqrtFanIn() {
        Kiln.manualSeed(0);
        Linear l = new Linear(784, 128);
        double bound = 1 / Math.sqrt(784);
        assertTrue(maxAbs(l.weight()) <= bound);
        assertTrue(maxAbs(l.weight()) > 0.95 * bound, "uniform over the whole range");
        assertTrue(maxAbs(l.bias()) <= bound);
        // The variance of U(-b, b) is b^2 / 3.
        assertEquals(bound * bound / 3, l.weight().var().item(), 0.05 * bound * bound / 3);
        Conv2d c = Conv2d.builder(6, 8, 3).groups(2).build();
        double cb = 1 / Math.sqrt(3 * 9);
        assertTrue(maxAbs(c.weight()) <= cb && maxAbs(c.weight()) > 0.8 * cb);
        assertTrue(maxAbs(c.bias()) <= cb);
        ConvTranspose2d t = new ConvTranspose2d(4, 6, 3);
        double tb = 1 / Math.sqrt(6 * 9);
        assertTrue(maxAbs(t.weight()) <= tb && maxAbs(t.weight()) > 0.8 * tb);
        Embedding e = new Embedding(1000, 10, 3);
        assertEquals(0.0, e.weight().get(3).abs().sum().item());
        assertEquals(1.0, e.weight().var().item(), 0.05);
    }

    @Test
    void seedingMakesInitialisationRepeatable() {
        Kiln.manualSeed(42);
        Linear a = new Linear(5, 4);
        Kiln.manualSeed(42);
        Linear b = new Linear(5, 4);
        assertTrue(a.weight().equal(b.weight()));
        assertTrue(a.bias().equal(b.bias()));
        Linear c = new Linear(5, 4);
        assertFalse(a.weight().equal(c.weight()));
    }

    @Test
    void xavierAndKaiming() {
        Kiln.manualSeed(1);
        Tensor w = Tensor.empty(200, 300);
        Init.xavierUniform(w, 2.0);
        double a = 2.0 * Math.sqrt(6.0 / 500);
        assertTrue(maxAbs(w) <= a && maxAbs(w) > 0.98 * a);
        Init.xavierNormal(w);
        assertEquals(2.0 / 500, w.var().item(), 0.05 * 2.0 / 500);
        Init.kaimingUniform(w, 0, Init.FanMode.FAN_OUT, Init.Nonlinearity.RELU);
        double kb = Math.sqrt(2) * Math.sqrt(3.0 / 200);
        assertTrue(maxAbs(w) <= kb && maxAbs(w) > 0.98 * kb);
        Init.kaimingNormal(w);
        assertEquals(2.0 / 300, w.var().item(), 0.05 * 2.0 / 300);
        Init.normal(w, 3, 0.5);
        assertEquals(3, w.mean().item(), 0.01);
        Init.uniform(w, -1, 2);
        assertTrue(w.min().item() >= -1 && w.max().item() < 2);
        Init.constant(w, 0.25);
        assertEquals(0.25 * 60000, w.sum().item(), 1e-3);
        Init.ones(w);
        Init.zeros(w);
        assertEquals(0, maxAbs(w));
        Tensor p = new Linear(3, 3).weight();
        Init.xavierUniform(p, 1.0, new Generator(5));
        assertTrue(p.requiresGrad() && p.isLeaf(), "init works on parameters");
    }

    @Test
    void orthogonalGivesOrthonormalRowsOrColumns() {
        Kiln.manualSeed(2);
        Tensor tall = Init.orthogonal(Tensor.empty(6, 4));
        assertTrue(tall.t().matmul(tall).allclose(Tensor.eye(4), 1e-5, 1e-5));
        Tensor wide = Init.orthogonal(Tensor.empty(3, 2, 4), 2.0);
        Tensor m = wide.reshape(3, 8);
        assertTrue(m.matmul(m.t()).allclose(Tensor.eye(3).mul(4.0), 1e-5, 1e-5));
        assertThrows(IllegalArgumentException.class, () -> Init.orthogonal(Tensor.empty(4)));
    }
}
