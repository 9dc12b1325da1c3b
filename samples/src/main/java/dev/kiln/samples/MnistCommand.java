package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.optim.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** A 784-128-10 MLP on MNIST or Fashion-MNIST: ToTensor + Normalize, CrossEntropy, Adam. */
@Command(name = "mnist", mixinStandardHelpOptions = true,
        description = "784-128-10 MLP on MNIST or Fashion-MNIST with CrossEntropy and Adam; test accuracy each epoch.")
final class MnistCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(MnistCommand.class);

    @Mixin
    CommonOptions common;

    @Mixin
    ImageClassification.DataOptions data;

    @Option(names = "--epochs", defaultValue = "5", description = "epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    /** The classifier of the contract's MnistClassifier. */
    static final class Mlp extends Module {
        final Linear fc1 = register("fc1", new Linear(28 * 28, 128));
        final Linear fc2 = register("fc2", new Linear(128, 10));

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forward(x.view(-1, 28 * 28)).relu());
        }
    }

    @Override
    public Integer call() throws Exception {
        Device device = common.setUp();
        Mlp model = new Mlp();
        model.to(device);
        Adam optimizer = new Adam(model.parameters(), lr);
        TrainingMonitor monitor = new TrainingMonitor("mnist (" + data.dataset + ")");
        LOG.info("training {} on {} ({} parameters)", model.getClass().getSimpleName(), device, model.numParameters());
        double accuracy = ImageClassification.train(model, optimizer, data, epochs, device, monitor);
        monitor.finish(common.outputFolder("mnist"), model.stateDict());
        System.out.printf("test accuracy: %.4f%n", accuracy);
        return 0;
    }
}
