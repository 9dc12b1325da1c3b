package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutogradTest {

    @AfterEach
    void anomalyOff() {
        Kiln.setDetectAnomaly(false);
    }

    private static void assertValues(double[] expected, Tensor t) {
        assertArrayEquals(expected, t.toDoubleArray(), 1e-6);
    }

    @Test
    void scalarBackwardAccumulatesIntoLeaves() {
        Tensor x = Tensor.of(1.0, 2.0, 3.0).requiresGrad_();
        Tensor y = x.mul(x).sum();
        assertEquals("MulBackward", x.mul(x).gradFn().name());
        y.backward();
        assertValues(new double[] {2, 4, 6}, x.grad());
        x.mul(3.0).sum().backward();
        assertValues(new double[] {5, 7, 9}, x.grad());
        assertTrue(x.isLeaf());
        assertFalse(y.isLeaf());
    }

    @Test
    void broadcastInputsGetReducedGradients() {
        Tensor a = Tensor.ones(2, 3).requiresGrad_();
        Tensor b = Tensor.of(1.0, 2.0, 3.0).requiresGrad_();
        Tensor c = Tensor.scalar(2).requiresGrad_();
        a.mul(b).mul(c).sum().backward();
        assertArrayEquals(new long[] {3}, b.grad().shape());
        assertValues(new double[] {4, 4, 4}, b.grad());
        assertArrayEquals(new long[0], c.grad().shape());
        assertValues(new double[] {12}, c.grad());
        assertValues(new double[] {2, 4, 6, 2, 4, 6}, a.grad());
    }

    @Test
    void backwardWithGradientForNonScalars() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor y = x.mul(3.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("scalar"), e.getMessage());
        y.backward(Tensor.of(1.0, 10.0));
        assertValues(new double[] {3, 30}, x.grad());
    }

    @Test
    void secondBackwardThroughFreedGraphFails() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor y = x.exp().sum();
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("retainGraph"), e.getMessage());
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor y = x.exp().sum();
        y.backward(null, true, false);
        y.backward();
        assertValues(new double[] {2 * Math.exp(1), 2 * Math.exp(2)}, x.grad());
    }

    @Test
    void inPlaceChangeOfASavedTensorIsDetected() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor y = x.mul(2.0);
        Tensor z = y.sin(); // sin saves its input for backward
        y.add_(1.0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> z.sum().backward());
        assertTrue(e.getMessage().contains("in-place"), e.getMessage());
    }

    @Test
    void inPlaceOnANonLeafKeepsCorrectGradients() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor y = x.mul(2.0);
        y.mul_(3.0);
        y.add_(1.0);
        y.sum().backward();
        assertValues(new double[] {6, 6}, x.grad());
        assertTrue(y.version() >= 2);
    }

    @Test
    void inPlaceOnALeafThatRequiresGradIsRejected() {
        Tensor w = Tensor.ones(2).requiresGrad_();
        assertThrows(IllegalStateException.class, () -> w.add_(1.0));
        try (var s = Kiln.noGrad()) {
            w.add_(1.0);
        }
        assertValues(new double[] {2, 2}, w);
    }

    @Test
    void integerTensorsCannotRequireGrad() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.arange(3).requiresGrad(true));
        assertTrue(e.getMessage().contains("int64"));
    }

    @Test
    void noGradRecordsNothingAndNests() {
        Tensor x = Tensor.ones(3).requiresGrad_();
        try (var outer = Kiln.noGrad()) {
            Tensor y = x.mul(2.0);
            assertNull(y.gradFn());
            assertFalse(y.requiresGrad());
            try (var inner = Kiln.enableGrad()) {
                assertNotNull(x.mul(2.0).gradFn());
            }
            assertFalse(Kiln.isGradEnabled());
        }
        assertTrue(Kiln.isGradEnabled());
        Tensor z = Kiln.noGrad(() -> x.mul(2.0));
        assertNull(z.gradFn());
    }

    @Test
    void gradModeIsThreadLocal() throws Exception {
        try (var s = Kiln.noGrad()) {
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                assertTrue(ex.submit(Kiln::isGradEnabled).get());
            } finally {
                ex.shutdown();
            }
        }
    }

    @Test
    void functionalGradLeavesGradsUntouched() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        Tensor h = x.mul(x);
        Tensor y = h.sum();
        List<Tensor> g = Autograd.grad(y, Tensor.of(1.0).reshape(), List.of(x, h), false, false);
        assertValues(new double[] {2, 4}, g.get(0));
        assertValues(new double[] {1, 1}, g.get(1));
        assertNull(x.grad());
    }

    @Test
    void secondDerivativesWithCreateGraph() {
        Tensor x = Tensor.of(2.0).requiresGrad_();
        Tensor y = x.pow(3.0).sum();
        Tensor dy = Autograd.grad(y, null, List.of(x), true, true).get(0);
        assertValues(new double[] {12}, dy);
        Tensor d2 = Autograd.grad(dy.sum(), List.of(x)).get(0);
        assertValues(new double[] {12}, d2);
    }

    @Test
    void unusedInputsNeedAllowUnused() {
        Tensor x = Tensor.of(1.0).requiresGrad_();
        Tensor unused = Tensor.of(1.0).requiresGrad_();
        Tensor y = x.mul(2.0).sum();
        assertThrows(IllegalStateException.class, () -> Autograd.grad(List.of(y), Arrays.asList((Tensor) null),
                List.of(x, unused), true, false, false));
        List<Tensor> g = Autograd.grad(List.of(y), Arrays.asList((Tensor) null), List.of(x, unused), false, false, true);
        assertNull(g.get(1));
    }

    @Test
    void hooksSeeAndReplaceGradients() {
        Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
        List<double[]> seen = new ArrayList<>();
        x.registerHook(g -> g.mul(10.0));
        Tensor h = x.mul(2.0);
        h.registerHook(g -> {
            seen.add(g.toDoubleArray());
            return g;
        });
        h.retainGrad();
        h.sum().backward();
        assertValues(new double[] {1, 1}, Tensor.of(seen.get(0)));
        assertValues(new double[] {20, 20}, x.grad());
        assertValues(new double[] {1, 1}, h.grad());
    }

    static final class Cube extends Function {
        @Override
        protected Tensor forward(FunctionContext ctx, Tensor... in) {
            ctx.saveForBackward(in[0]);
            return in[0].mul(in[0]).mul(in[0]);
        }

        @Override
        protected Tensor[] backward(FunctionContext ctx, Tensor g) {
            Tensor x = ctx.savedTensors()[0];
            return new Tensor[] {g.mul(x.square()).mul(3.0)};
        }
    }

    @Test
    void customFunctionsComposeAndPassGradcheck() {
        Tensor x = Tensor.of(1.0, -2.0).to(DType.FLOAT64).requiresGrad_();
        Tensor y = new Cube().apply(x.mul(2.0)).sum();
        assertEquals("CubeBackward", new Cube().apply(x).gradFn().name());
        y.backward();
        assertValues(new double[] {24, 96}, x.grad());
        assertTrue(GradCheck.gradcheck(in -> new Cube().apply(in[0]).exp(), Tensor.of(0.3, -0.2).toDouble().requiresGrad_()));
    }

    @Test
    void gradcheckReportsTheElementThatDiffers() {
        Function wrong = new Function() {
            @Override
            protected Tensor forward(FunctionContext ctx, Tensor... in) {
                return in[0].square();
            }

            @Override
            protected Tensor[] backward(FunctionContext ctx, Tensor g) {
                return new Tensor[] {g};
            }
        };
        GradcheckException e = assertThrows(GradcheckException.class,
                () -> GradCheck.gradcheck(in -> wrong.apply(in[0]), Tensor.of(3.0, 4.0).toDouble().requiresGrad_()));
        assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("element 0"), e.getMessage());
    }

    @Test
    void anomalyModeNamesTheOpAndWhereItWasCreated() {
        Kiln.setDetectAnomaly(true);
        Tensor x = Tensor.of(0.0, 1.0).requiresGrad_();
        Tensor y = x.sqrt().sum();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("SqrtBackward"), e.getMessage());
        assertNotNull(e.getCause());
        assertTrue(Arrays.stream(e.getCause().getStackTrace()).anyMatch(f -> f.getMethodName().contains("anomalyMode")));
    }

    @Test
    void backwardRunsConcurrentlyOnSeparateGraphs() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            List<Future<double[]>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                double k = t;
                results.add(ex.submit(() -> {
                    Tensor x = Tensor.of(1.0, 2.0).requiresGrad_();
                    for (int i = 0; i < 50; i++) {
                        x.mul(k).mul(x).sum().backward();
                    }
                    return x.grad().toDoubleArray();
                }));
            }
            for (int t = 0; t < 8; t++) {
                assertArrayEquals(new double[] {100.0 * t, 200.0 * t}, results.get(t).get(), 1e-6);
            }
        } finally {
            ex.shutdown();
        }
    }

    @Test
    void savedTensorsAreReleasedAfterBackward() {
        Tensor w = Tensor.randn(64, 64).requiresGrad_();
        List<WeakReference<Tensor>> intermediates = new ArrayList<>();
        AtomicInteger steps = new AtomicInteger();
        for (int step = 0; step < 200; step++) {
            Tensor h = Tensor.randn(8, 64).matmul(w).tanh();
            intermediates.add(new WeakReference<>(h));
            Tensor loss = h.square().mean();
            loss.backward();
            // The graph of this step holds h; after backward nothing but loss's node should.
            steps.incrementAndGet();
            w.setGrad(null);
        }
        System.gc();
        long alive = intermediates.stream().filter(r -> r.get() != null).count();
        assertTrue(alive < 20, alive + " of 200 intermediate tensors are still reachable");
        assertEquals(200, steps.get());
    }

    @Test
    void xorIsLearnedWithRawTensors() {
        Kiln.manualSeed(3);
        Tensor x = Tensor.of(new float[][] {{0, 0}, {0, 1}, {1, 0}, {1, 1}});
        Tensor y = Tensor.of(0.0, 1.0, 1.0, 0.0).reshape(4, 1);
        Tensor w1 = Tensor.randn(2, 8).mul(0.8).requiresGrad_();
        Tensor b1 = Tensor.zeros(8).requiresGrad_();
        Tensor w2 = Tensor.randn(8, 1).mul(0.8).requiresGrad_();
        Tensor b2 = Tensor.zeros(1).requiresGrad_();
        List<Tensor> params = List.of(w1, b1, w2, b2);
        double loss = Double.NaN;
        for (int step = 0; step < 2000; step++) {
            Tensor out = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sigmoid();
            Tensor l = out.sub(y).square().mean();
            for (Tensor p : params) {
                p.setGrad(null);
            }
            l.backward();
            try (var s = Kiln.noGrad()) {
                for (Tensor p : params) {
                    p.sub_(p.grad().mul(1.0));
                }
            }
            loss = l.item();
        }
        Tensor predicted = Kiln.noGrad(() -> x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sigmoid().gt(0.5).toFloat());
        assertTrue(loss < 0.02, "loss " + loss);
        assertTrue(predicted.reshape(4).equal(Tensor.of(0.0, 1.0, 1.0, 0.0)), predicted.toString());
    }
}
