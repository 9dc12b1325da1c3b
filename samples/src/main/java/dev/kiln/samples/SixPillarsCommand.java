package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.nn.L1Loss;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.optim.SGD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Linear regression through the six pillars of the PyTorch workflow, on y = 0.7 x + 0.3. */
@Command(name = "six-pillars", mixinStandardHelpOptions = true,
        description = "Data and split, model, loss and optimizer, training loop, evaluation, save and reload.")
final class SixPillarsCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(SixPillarsCommand.class);

    @Mixin
    CommonOptions common;

    @Option(names = "--epochs", defaultValue = "1000", description = "training epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "0.01", description = "SGD learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    /** One Linear(1, 1). */
    static final class LinearRegression extends Module {
        final Linear linear = register("linear", new Linear(1, 1));

        @Override
        public Tensor forward(Tensor x) {
            return linear.forward(x);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (common.seed == 0) {
            common.seed = 42;
        }
        Device device = common.setUp();
        Path out = common.outputFolder("six-pillars");

        Tensor x = Tensor.arange(0, 1, 0.02).unsqueeze(1);
        Tensor y = x.mul(0.7).add(0.3);
        long split = (long) (0.8 * x.size(0));
        Tensor xTrain = x.narrow(0, 0, split).to(device);
        Tensor yTrain = y.narrow(0, 0, split).to(device);
        Tensor xTest = x.narrow(0, split, x.size(0) - split).to(device);
        Tensor yTest = y.narrow(0, split, x.size(0) - split).to(device);

        LinearRegression model = new LinearRegression();
        model.to(device);
        L1Loss lossFn = new L1Loss();
        SGD optimizer = new SGD(model.parameters(), lr);
        for (int epoch = 0; epoch < epochs; epoch++) {
            model.train();
            Tensor loss = lossFn.forward(model.forward(xTrain), yTrain);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            if (epoch % 100 == 0 || epoch == epochs - 1) {
                LOG.info("epoch {}: train loss {}", epoch, String.format("%.4f", loss.item()));
            }
        }
        model.eval();
        double testLoss = Kiln.noGrad(() -> lossFn.forward(model.forward(xTest), yTest).item());
        LOG.info("test loss {}; learned {}", String.format("%.4f", testLoss), model.stateDict());

        Path file = out.resolve("linear_regression.safetensors");
        Kiln.save(model.stateDict(), file);
        LinearRegression loaded = new LinearRegression();
        loaded.loadStateDict(Kiln.load(file));
        loaded.to(device);
        loaded.eval();
        boolean same = Kiln.noGrad(() -> loaded.forward(xTest).eq(model.forward(xTest)).all().item() != 0);
        LOG.info("saved {}; the reloaded model predicts the same: {}", file, same);
        return same && testLoss < 0.05 ? 0 : 1;
    }
}
