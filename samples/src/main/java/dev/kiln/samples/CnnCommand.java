package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.Module;
import dev.kiln.optim.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** Two Conv2d + ReLU + MaxPool blocks, then Linear 1600-128-10, on Fashion-MNIST. */
@Command(name = "cnn", mixinStandardHelpOptions = true,
        description = "A small CNN (conv 32, conv 64, fc 128) on Fashion-MNIST with CrossEntropy and Adam.")
final class CnnCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(CnnCommand.class);

    @Mixin
    CommonOptions common;

    @Mixin
    ImageClassification.DataOptions data;

    @Option(names = "--epochs", defaultValue = "2", description = "epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    /** 1x28x28 -> 32x13x13 -> 64x5x5 -> 1600 -> 128 -> 10. */
    static final class Cnn extends Module {
        final Conv2d conv1 = register("conv1", new Conv2d(1, 32, 3));
        final Conv2d conv2 = register("conv2", new Conv2d(32, 64, 3));
        final MaxPool2d pool = register("pool", new MaxPool2d(2));
        final Linear fc1 = register("fc1", new Linear(1600, 128));
        final Linear fc2 = register("fc2", new Linear(128, 10));

        @Override
        public Tensor forward(Tensor x) {
            x = pool.forward(conv1.forward(x).relu());
            x = pool.forward(conv2.forward(x).relu());
            return fc2.forward(fc1.forward(x.flatten(1, -1)).relu());
        }
    }

    @Override
    public Integer call() throws Exception {
        Device device = common.setUp();
        Cnn model = new Cnn();
        Adam optimizer = new Adam(model.parameters(), lr);
        TrainingMonitor monitor = new TrainingMonitor("cnn (" + data.dataset + ")");
        LOG.info("training the CNN on {} ({} parameters)", device, model.numParameters());
        double accuracy = ImageClassification.train(model, optimizer, data, epochs, device, monitor);
        monitor.finish(common.outputFolder("cnn"), model.stateDict());
        System.out.printf("test accuracy: %.4f%n", accuracy);
        return 0;
    }
}
