package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Behaviour the fixtures do not pin down: randomness, modes, shapes, errors. */
class LayerBehaviourTest {

    @Test
    void dropoutZeroesAboutPAndScalesTheRest() {
        Kiln.manualSeed(0);
        Dropout d = new Dropout(0.3);
        Tensor x = Tensor.ones(100_000);
        Tensor y = d.forward(x);
        double zeros = y.eq(0.0).toFloat().mean().item();
        assertEquals(0.3, zeros, 0.01);
        assertEquals(1 / 0.7, y.max().item(), 1e-6);
        assertEquals(1.0, y.mean().item(), 0.02);
        d.eval();
        assertSame(x, d.forward(x));
        d.train();
        Kiln.manualSeed(9);
        Tensor a = d.forward(x);
        Kiln.manualSeed(9);
        assertTrue(a.equal(d.forward(x)), "dropout masks follow the seed");
        assertEquals(0.0, new Dropout(1.0).forward(x).abs().sum().item());
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1.5));
    }

    @Test
    void dropoutGradientFollowsTheMask() {
        Kiln.manualSeed(1);
        Tensor x = Tensor.ones(1000).requiresGrad(true);
        Tensor y = F.dropout(x, 0.5, true);
        y.sum().backward();
        assertTrue(x.grad().equal(y.detach()));
    }

    @Test
    void batchNormModes() {
        Kiln.manualSeed(2);
        BatchNorm1d bn = new BatchNorm1d(3);
        Tensor x = Tensor.randn(8, 3).mul(2.0).add(1.0);
        Tensor y = bn.forward(x);
        assertTrue(y.mean(0).abs().max().item() < 1e-5);
        assertEquals(1L, bn.numBatchesTracked().itemLong());
        Tensor expectedMean = x.mean(0).mul(0.1);
        assertTrue(bn.runningMean().allclose(expectedMean, 1e-5, 1e-6));
        bn.eval();
        Tensor z = bn.forward(x);
        Tensor manual = x.sub(bn.runningMean()).div(bn.runningVar().add(1e-5).sqrt());
        assertTrue(z.allclose(manual, 1e-5, 1e-5));
        assertEquals(1L, bn.numBatchesTracked().itemLong(), "eval does not count batches");

        BatchNorm1d cumulative = new BatchNorm1d(3, 1e-5, null, true, true);
        Tensor a = Tensor.randn(4, 3);
        Tensor b = Tensor.randn(4, 3);
        cumulative.forward(a);
        cumulative.forward(b);
        assertTrue(cumulative.runningMean().allclose(a.mean(0).add(b.mean(0)).div(2.0), 1e-5, 1e-6),
                "momentum None keeps the plain average");

        BatchNorm2d noStats = new BatchNorm2d(2, 1e-5, 0.1, true, false);
        assertTrue(noStats.stateDict().keySet().equals(java.util.Set.of("weight", "bias")));
        noStats.eval();
        Tensor img = Tensor.randn(3, 2, 4, 4);
        assertTrue(noStats.forward(img).mean(new int[] {0, 2, 3}).abs().max().item() < 1e-5, "batch statistics in eval");

        assertThrows(IllegalArgumentException.class, () -> new BatchNorm1d(3).forward(Tensor.randn(1, 3)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm2d(3).forward(Tensor.randn(2, 3)));
        assertTrue(e.getMessage().contains("BatchNorm2d") && e.getMessage().contains("[2, 3]"), e.getMessage());
        bn.resetRunningStats();
        assertEquals(0L, bn.numBatchesTracked().itemLong());
    }

    @Test
    void shapes() {
        Kiln.manualSeed(3);
        assertArrayEquals(new long[] {2, 16, 14, 14}, new Conv2d(3, 16, 3, 2, 1).forward(Tensor.randn(2, 3, 28, 28)).shape());
        assertArrayEquals(new long[] {16, 26, 26}, new Conv2d(3, 16, 3).forward(Tensor.randn(3, 28, 28)).shape(),
                "unbatched input");
        assertArrayEquals(new long[] {8, 10}, new Conv1d(4, 8, 3, 1, 1).forward(Tensor.randn(4, 10)).shape());
        assertArrayEquals(new long[] {1, 8, 14, 14}, ConvTranspose2d.builder(16, 8, 3).stride(2).padding(1).outputPadding(1)
                .build().forward(Tensor.randn(1, 16, 7, 7)).shape());
        assertArrayEquals(new long[] {2, 3, 1, 1}, new AdaptiveAvgPool2d(1).forward(Tensor.randn(2, 3, 5, 5)).shape());
        assertArrayEquals(new long[] {2, 3, 4}, new Embedding(10, 4).forward(Tensor.of(1L, 2L, 3L, 4L, 5L, 6L).reshape(2, 3))
                .shape());
        assertArrayEquals(new long[] {2, 3, 5}, new Unflatten(1, 3, -1).forward(Tensor.randn(2, 15)).shape());
        assertArrayEquals(new long[] {2, 60}, new Flatten().forward(Tensor.randn(2, 3, 4, 5)).shape());
        assertArrayEquals(new long[] {7, 5}, new Linear(3, 5).forward(Tensor.randn(7, 3)).shape());
        assertArrayEquals(new long[] {5}, new Linear(3, 5).forward(Tensor.randn(3)).shape());
        assertArrayEquals(new long[] {2, 4, 3}, new GroupNorm(2, 4).forward(Tensor.randn(2, 4, 3)).shape());
    }

    @Test
    void errorsNameTheLayerAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Linear(784, 128).forward(Tensor.randn(64, 100)));
        assertTrue(e.getMessage().contains("[64, 100]") && e.getMessage().contains("784"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 8, 3).forward(Tensor.randn(1, 4, 8, 8)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 4, 8, 8]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 8, 5).forward(Tensor.randn(1, 3, 3, 3)));
        assertTrue(e.getMessage().contains("smaller than the kernel"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 8, 3).forward(Tensor.randn(3, 8, 8, 8, 8)));
        assertThrows(IllegalArgumentException.class, () -> Conv2d.builder(3, 8, 3).groups(2).build());
        assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> ConvTranspose2d.builder(2, 2, 3).stride(2).outputPadding(2).build());
        assertThrows(IndexOutOfBoundsException.class, () -> new Embedding(5, 2).forward(Tensor.of(0L, 5L)));
        e = assertThrows(IllegalArgumentException.class, () -> new Embedding(5, 2).forward(Tensor.of(0f, 1f)));
        assertTrue(e.getMessage().contains("int64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LayerNorm(4).forward(Tensor.randn(2, 5)));
        assertThrows(IllegalArgumentException.class, () -> new GroupNorm(3, 4));
    }

    @Test
    void embeddingPaddingRowGetsNoGradient() {
        Embedding e = new Embedding(4, 2, -1);
        assertEquals(3L, e.paddingIdx());
        Tensor out = e.forward(Tensor.of(3L, 1L, 3L));
        out.sum().backward();
        assertEquals(0.0, e.weight().grad().get(3).abs().sum().item());
        assertEquals(2.0, e.weight().grad().get(1).sum().item());
        Embedding frozen = Embedding.fromPretrained(Tensor.eye(3), true);
        assertFalse(frozen.weight().requiresGrad());
        assertTrue(frozen.forward(Tensor.of(2L)).equal(Tensor.of(0f, 0f, 1f).reshape(1, 3)));
    }

    @Test
    void functionalExtras() {
        Tensor oh = F.oneHot(Tensor.of(0L, 2L, 1L), 3);
        assertEquals(DType.INT64, oh.dtype());
        assertArrayEquals(new long[] {1, 0, 0, 0, 0, 1, 0, 1, 0}, oh.toLongArray());
        Tensor x = Tensor.randn(4, 6);
        assertTrue(F.gelu(x, "tanh").allclose(F.gelu(x), 1e-3, 1e-3));
        assertThrows(IllegalArgumentException.class, () -> F.gelu(x, "fast"));
        assertTrue(F.softmax(x, 1).sum(1).allclose(Tensor.ones(4), 1e-6, 1e-6));
    }
}
