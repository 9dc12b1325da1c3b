package dev.kiln.nn;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract's workflows in miniature, with a hand-written SGD step (nn does not depend on optim). */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
class TrainingTest {

    /** As the contract's {@code SixPillars.LinearRegression}. */
    static final class LinearRegression extends Module {
        final Linear linear = register("linear", new Linear(1, 1));

        @Override
        public Tensor forward(Tensor x) {
            return linear.forward(x);
        }
    }

    private static void sgdStep(List<Tensor> params, double lr) {
        try (var s = Kiln.noGrad()) {
            for (Tensor p : params) {
                p.sub_(p.grad().mul(lr));
            }
        }
    }

    @Test
    void sixPillarsLinearRegressionLearnsTheLine(@TempDir Path dir) throws Exception {
        Kiln.manualSeed(42);
        Device device = Device.cpu();
        Tensor x = Tensor.arange(0, 1, 0.02).unsqueeze(1);
        Tensor y = x.mul(0.7).add(0.3);
        long split = (long) (0.8 * x.size(0));
        Tensor xTrain = x.narrow(0, 0, split);
        Tensor yTrain = y.narrow(0, 0, split);
        Tensor xTest = x.narrow(0, split, x.size(0) - split);
        Tensor yTest = y.narrow(0, split, x.size(0) - split);

        LinearRegression model = new LinearRegression();
        model.to(device);
        L1Loss lossFn = new L1Loss();
        List<Tensor> params = model.parameters();
        for (int epoch = 0; epoch < 1000; epoch++) {
            model.train();
            Tensor loss = lossFn.forward(model.forward(xTrain), yTrain);
            model.zeroGrad();
            loss.backward();
            sgdStep(params, 0.01);
        }
        model.eval();
        double testLoss;
        try (var s = Kiln.noGrad()) {
            testLoss = lossFn.forward(model.forward(xTest), yTest).item();
        }
        assertTrue(testLoss < 0.05, "test loss " + testLoss);
        assertEquals(0.7, model.linear.weight().item(), 0.1);
        assertEquals(0.3, model.linear.bias().item(), 0.1);
        assertTrue(model.stateDict().toString().contains("linear.weight"));

        Path file = dir.resolve("linear_regression.safetensors");
        Kiln.save(model.stateDict(), file);
        LinearRegression loaded = new LinearRegression();
        loaded.loadStateDict(Kiln.load(file));
        loaded.eval();
        try (var s = Kiln.noGrad()) {
            assertTrue(loaded.forward(xTest).eq(model.forward(xTest)).all().item() != 0);
        }
    }

    @Test
    void smallCnnClassifierFitsABatch() {
        Kiln.manualSeed(7);
        Sequential net = new Sequential(
                Conv2d.builder(1, 4, 3).padding(1).build(), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Dropout(0.1), new Linear(4 * 4 * 4, 3));
        Tensor x = Tensor.randn(12, 1, 8, 8);
        Tensor y = Tensor.of(0L, 1L, 2L, 0L, 1L, 2L, 0L, 1L, 2L, 0L, 1L, 2L);
        CrossEntropyLoss ce = new CrossEntropyLoss();
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < 60; step++) {
            Tensor loss = ce.forward(net.forward(x), y);
            net.zeroGrad();
            loss.backward();
            sgdStep(net.parameters(), 0.1);
            last = loss.item();
            if (step == 0) {
                first = last;
            }
        }
        assertTrue(last < 0.3 * first, first + " -> " + last);
        net.eval();
        try (var s = Kiln.noGrad()) {
            long correct = net.forward(x).argmax(1).eq(y).sum().itemLong();
            assertTrue(correct >= 10, correct + "/12");
        }
    }
}
