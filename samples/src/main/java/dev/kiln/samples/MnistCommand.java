package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.optim.Adam;
import dev.kiln.samples.models.FashionMlp;
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

    @Override
    public Integer call() throws Exception {
        Device device = common.setUp();
        FashionMlp model = new FashionMlp();
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
