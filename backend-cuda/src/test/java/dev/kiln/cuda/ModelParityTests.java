package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.conformance.TensorAssertions;
import dev.kiln.nn.BatchNorm2d;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.CrossEntropyLoss;
import dev.kiln.nn.Dropout;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.Module;
import dev.kiln.nn.ReLU;
import dev.kiln.nn.Sequential;
import dev.kiln.optim.Adam;
import dev.kiln.optim.Optimizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small CNN (convolution, batch norm, max pooling, dropout, linear, cross-entropy) trained with
 * Adam from the same seed on the CPU and on {@code cuda:0}: the losses of every step and the final
 * weights agree within float32 tolerance, dropout masks included (random numbers are identical).
 */
abstract class ModelParityTests {

    private static Module model() {
        // Batch norm after the ReLU: straight after the convolution it would cancel the conv bias's
        // gradient, and Adam would turn that gradient's rounding noise into full-size steps.
        return new Sequential(new Conv2d(1, 4, 3, 1, 1), new ReLU(), new BatchNorm2d(4), new MaxPool2d(2), new Dropout(0.25),
                new Flatten(), new Linear(4 * 4 * 4, 10));
    }

    private record Run(List<Double> losses, Map<String, Tensor> state) {
    }

    private static Run train(Device device) {
        Kiln.manualSeed(11);
        Module m = model();
        m.to(device);
        Optimizer opt = new Adam(m.parameters(), 0.01);
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        Tensor x = Tensor.randn(16, 1, 8, 8).to(device);
        Tensor y = Tensor.randint(0, 10, 16).to(device);
        List<Double> losses = new ArrayList<>();
        for (int step = 0; step < 8; step++) {
            Tensor loss = criterion.forward(m.forward(x), y);
            opt.zeroGrad();
            loss.backward();
            opt.step();
            losses.add(loss.item());
        }
        m.eval();
        losses.add(criterion.forward(m.forward(x), y).item());
        return new Run(losses, m.stateDict());
    }

    @Test
    void aCnnTrainsTheSameOnTheCpuAndOnCuda() {
        Run cpu = train(Device.cpu());
        Run cuda = train(Device.cuda(0));
        for (int i = 0; i < cpu.losses().size(); i++) {
            double e = cpu.losses().get(i);
            double a = cuda.losses().get(i);
            assertTrue(Math.abs(e - a) <= 1e-4 * Math.abs(e), "step " + i + ": loss " + a + " on CUDA, " + e + " on the CPU");
        }
        assertTrue(cpu.losses().get(cpu.losses().size() - 1) < cpu.losses().get(0), "the model learns: " + cpu.losses());
        assertEquals(cpu.state().keySet(), cuda.state().keySet());
        for (String k : cpu.state().keySet()) {
            Tensor e = cpu.state().get(k);
            Tensor a = cuda.state().get(k);
            assertEquals(Device.cuda(0), a.device(), k);
            if (e.dtype() == DType.INT64) {
                TensorAssertions.assertMatches(k, e, a);
            } else {
                TensorAssertions.assertMatches(k, e, a, 1e-3, 1e-5);
            }
        }
    }
}
