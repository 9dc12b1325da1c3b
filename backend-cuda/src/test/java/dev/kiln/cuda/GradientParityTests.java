package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradCheck;
import dev.kiln.conformance.OpFixtures;
import dev.kiln.conformance.OpTable;
import dev.kiln.conformance.TensorAssertions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backward on {@code cuda:0} against backward on the CPU, for every conformance case
 * with a floating-point input and output: the same weighted sum of the outputs is differentiated
 * on both devices, in float64, and every input gradient must agree.
 */
abstract class GradientParityTests {

    private static boolean differentiable(OpFixtures.Case c) {
        return c.inputs().stream().anyMatch(t -> t.dtype().isFloatingPoint() && t.numel() > 0)
                && c.outputs().stream().anyMatch(t -> t.dtype().isFloatingPoint() && t.numel() > 0)
                && c.outputs().stream().allMatch(t -> !t.dtype().isFloatingPoint() || t.numel() == 0
                        || t.isfinite().all().item() != 0);
    }

    /** Gradients of {@code sum_i <w_i, out_i>} with respect to the floating inputs, on {@code device}. */
    private static List<Tensor> gradients(OpTable.Op op, OpFixtures.Case c, Device device) {
        Tensor[] in = new Tensor[c.inputs().size()];
        for (int i = 0; i < in.length; i++) {
            Tensor t = c.inputs().get(i);
            // A fresh leaf on each device: the fixture's own tensor must not pick up requiresGrad.
            in[i] = t.dtype().isFloatingPoint() ? t.to(DType.FLOAT64).clone().to(device).requiresGrad(true) : t.to(device);
        }
        Tensor loss = null;
        for (Tensor out : op.apply(in, device)) {
            if (!out.dtype().isFloatingPoint() || !out.requiresGrad()) {
                continue;
            }
            // Weights that differ per element, so that a gradient routed to the wrong place shows.
            Tensor w = Tensor.arange(out.numel()).to(DType.FLOAT64).add(1.0).sin().reshape(out.shape()).to(device);
            Tensor term = out.to(DType.FLOAT64).mul(w).sum();
            loss = loss == null ? term : loss.add(term);
        }
        List<Tensor> grads = new ArrayList<>();
        if (loss == null) {
            return grads;
        }
        loss.backward();
        for (Tensor t : in) {
            if (t.requiresGrad()) {
                grads.add(t.grad() == null ? null : t.grad().cpu());
            }
        }
        return grads;
    }

    @TestFactory
    Stream<DynamicTest> backwardMatchesTheCpu() {
        Map<String, OpTable.Op> table = OpTable.entries();
        return OpFixtures.load().stream().filter(GradientParityTests::differentiable).map(c -> DynamicTest.dynamicTest(c.toString(), () -> {
            OpTable.Op op = table.get(c.name());
            List<Tensor> cpu = gradients(op, c, Device.cpu());
            List<Tensor> cuda = gradients(op, c, Device.cuda(0));
            assertEquals(cpu.size(), cuda.size(), c.name() + ": number of gradients");
            for (int i = 0; i < cpu.size(); i++) {
                if (cpu.get(i) == null) {
                    assertNull(cuda.get(i), c.name() + ": gradient " + i);
                    continue;
                }
                assertNotNull(cuda.get(i), c.name() + ": gradient " + i);
                TensorAssertions.assertMatches(c.name() + " gradient " + i, cpu.get(i), cuda.get(i), 1e-9, 1e-12);
            }
        }));
    }

    @Test
    void gradcheckRunsOnTheDevice() {
        Device d = Device.cuda(0);
        Tensor a = Tensor.of(new double[][] {{0.3, -1.2, 0.8}, {1.5, 0.1, -0.4}}).toDouble().to(d).requiresGrad(true);
        Tensor b = Tensor.of(new double[][] {{0.7, -0.2}, {0.5, 1.1}, {-0.9, 0.4}}).toDouble().to(d).requiresGrad(true);
        assertTrue(GradCheck.gradcheck(x -> x[0].matmul(x[1]).tanh().logSoftmax(1).sum(), a, b));
        assertTrue(GradCheck.gradcheck(x -> x[0].t().matmul(x[0]).sigmoid().mean(), a));
    }
}
