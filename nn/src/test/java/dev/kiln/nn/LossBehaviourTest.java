package dev.kiln.nn;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loss errors and numerical edge cases. */
class LossBehaviourTest {

    private static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message \"" + e.getMessage() + "\" lacks \"" + p + "\"");
        }
    }

    @Test
    void crossEntropyTargetErrors() {
        CrossEntropyLoss ce = new CrossEntropyLoss();
        Tensor logits = Tensor.randn(4, 5);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ce.forward(logits, Tensor.of(1f, 2f, 3f, 4f))),
                "CrossEntropyLoss", "int64", "[4, 5]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ce.forward(logits, Tensor.of(1L, 2L, 3L))),
                "CrossEntropyLoss", "[4]", "[3]");
        assertMessage(assertThrows(IndexOutOfBoundsException.class, () -> ce.forward(logits, Tensor.of(1L, 2L, 5L, 0L))),
                "CrossEntropyLoss", "5");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ce.forward(logits, Tensor.rand(4, 1))),
                "CrossEntropyLoss", "[4, 1]");
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyLoss.builder().weight(Tensor.ones(3)).build().forward(logits, Tensor.of(0L, 0L, 0L, 0L)));
        assertThrows(IllegalArgumentException.class, () -> new NLLLoss().forward(logits, Tensor.of(0f, 0f, 0f, 0f)));
    }

    @Test
    void elementwiseLossesRequireEqualShapes() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new MSELoss().forward(Tensor.randn(4, 1), Tensor.randn(4))),
                "MSELoss", "[4, 1]", "[4]");
        assertThrows(IllegalArgumentException.class, () -> new L1Loss().forward(Tensor.randn(2), Tensor.randn(3)));
        assertThrows(IllegalArgumentException.class, () -> new BCEWithLogitsLoss().forward(Tensor.randn(2), Tensor.randn(2, 1)));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new BCELoss().forward(Tensor.of(1.5f), Tensor.of(1f))),
                "BCELoss", "between 0 and 1");
        assertThrows(IllegalArgumentException.class, () -> new MSELoss(Reduction.BATCHMEAN));
        assertMessage(assertThrows(UnsupportedOperationException.class, () -> new MSELoss().forward(Tensor.randn(2))),
                "MSELoss", "forward(input, target)");
    }

    @Test
    void largeLogitsStayFinite() {
        Tensor logits = Tensor.of(new float[][] {{1e4f, -1e4f, 0f}, {-3e4f, 3e4f, 1e4f}}).requiresGrad(true);
        Tensor loss = new CrossEntropyLoss().forward(logits, Tensor.of(1L, 1L));
        assertEquals(1e4, loss.item(), 1);
        loss.backward();
        assertTrue(logits.grad().isfinite().all().item() != 0);
        Tensor x = Tensor.of(1e4f, -1e4f, 100f, -100f).requiresGrad(true);
        Tensor b = new BCEWithLogitsLoss(Reduction.SUM).forward(x, Tensor.of(0f, 1f, 1f, 0f));
        assertEquals(2e4, b.item(), 1);
        b.backward();
        assertTrue(x.grad().isfinite().all().item() != 0);
    }

    @Test
    void allIgnoredMeanIsNaNAsInPyTorch() {
        Tensor loss = F.crossEntropy(Tensor.randn(2, 3), Tensor.of(-100L, -100L));
        assertTrue(Double.isNaN(loss.item()));
        Tensor sum = F.crossEntropy(Tensor.randn(2, 3), Tensor.of(-100L, -100L), null, -100, Reduction.SUM, 0);
        assertEquals(0.0, sum.item());
    }

    @Test
    void unbatchedInputs() {
        Tensor logits = Tensor.randn(5);
        Tensor l = F.crossEntropy(logits, Tensor.scalar(2, dev.kiln.DType.INT64, dev.kiln.Device.cpu()));
        assertEquals(-logits.logSoftmax(0).getDouble(2), l.item(), 1e-6);
        Tensor none = F.crossEntropy(logits, Tensor.scalar(2, dev.kiln.DType.INT64, dev.kiln.Device.cpu()), null, -100,
                Reduction.NONE, 0);
        assertEquals(0, none.dim());
    }

    @Test
    void reductionNames() {
        assertEquals(Reduction.BATCHMEAN, Reduction.of("batchmean"));
        assertEquals("sum", Reduction.SUM.pyName());
        assertThrows(IllegalArgumentException.class, () -> Reduction.of("avg"));
    }
}
