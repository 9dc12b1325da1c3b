package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.nn.MSELoss;
import dev.kiln.optim.Adam;
import dev.kiln.samples.models.RegressionMlp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** An MLP 10-100-1 trained full-batch with Adam on random rows, timed per step. */
@Command(name = "mlp-adam", mixinStandardHelpOptions = true,
        description = "MLP 10-100-1, Adam 0.01, MSE, on random rows, full batch, timed per step.")
final class MlpAdamCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(MlpAdamCommand.class);

    @Mixin
    CommonOptions common;

    @Option(names = "--rows", defaultValue = "2000000", description = "number of random rows (default: ${DEFAULT-VALUE})")
    long rows;

    @Option(names = "--steps", defaultValue = "10", description = "full-batch steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Override
    public Integer call() throws Exception {
        Device device = common.setUp();
        LOG.info("device: {}", device);
        RegressionMlp model = new RegressionMlp(10, 100, 1);
        model.to(device);
        MSELoss criterion = new MSELoss();
        Adam optimizer = new Adam(model.parameters(), 0.01);
        Tensor x = Tensor.randn(rows, 10).to(device);
        Tensor y = Tensor.randn(rows, 1).to(device);
        TrainingMonitor monitor = new TrainingMonitor("mlp-adam");
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < steps; step++) {
            monitor.startEpoch(step + 1, steps, 1);
            Tensor loss = criterion.forward(model.forward(x), y);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            monitor.step(loss, rows);
            monitor.endEpoch(step + 1, steps, Double.NaN);
            last = loss.item();
            if (step == 0) {
                first = last;
            }
        }
        monitor.finish(common.outputFolder("mlp-adam"), model.stateDict());
        LOG.info("loss {} -> {}", String.format("%.4f", first), String.format("%.4f", last));
        return last < first ? 0 : 1;
    }
}
