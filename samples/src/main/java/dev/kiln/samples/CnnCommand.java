package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.optim.Adam;
import dev.kiln.samples.models.FashionCnn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** Trains {@link FashionCnn} (two Conv2d + ReLU + MaxPool blocks, then Linear 1600-128-10) on Fashion-MNIST. */
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

    @Override
    public Integer call() throws Exception {
        Device device = common.setUp();
        FashionCnn model = new FashionCnn();
        Adam optimizer = new Adam(model.parameters(), lr);
        TrainingMonitor monitor = new TrainingMonitor("cnn (" + data.dataset + ")");
        LOG.info("training the CNN on {} ({} parameters)", device, model.numParameters());
        double accuracy = ImageClassification.train(model, optimizer, data, epochs, device, monitor);
        monitor.finish(common.outputFolder("cnn"), model.stateDict());
        System.out.printf("test accuracy: %.4f%n", accuracy);
        return 0;
    }
}
