package dev.kiln.samples;

import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import dev.kiln.data.TensorDataset;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MSELoss;
import dev.kiln.nn.Module;
import dev.kiln.optim.SGD;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** The canonical loop: batches from a DataLoader, forward, loss, zeroGrad, backward, step. */
@Command(name = "training-loop", mixinStandardHelpOptions = true,
        description = "SimpleNN 10-50-1 on a TensorDataset with a shuffled DataLoader (batch 10), SGD 0.01.")
final class TrainingLoopCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--epochs", defaultValue = "20", description = "epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    static final class SimpleNN extends Module {
        final Linear fc1 = register("fc1", new Linear(10, 50));
        final Linear fc2 = register("fc2", new Linear(50, 1));

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forward(x).relu());
        }
    }

    @Override
    public Integer call() throws Exception {
        var device = common.setUp();
        SimpleNN model = new SimpleNN();
        model.to(device);
        MSELoss criterion = new MSELoss();
        SGD optimizer = new SGD(model.parameters(), 0.01);
        TensorDataset dataset = new TensorDataset(Tensor.randn(100, 10), Tensor.randn(100, 1));
        DataLoader<List<Tensor>> loader = DataLoader.builder(dataset).batchSize(10).shuffle(true).build();
        TrainingMonitor monitor = new TrainingMonitor("training-loop");
        for (int epoch = 1; epoch <= epochs; epoch++) {
            monitor.startEpoch(epoch, epochs, loader.size());
            for (List<Tensor> batch : loader) {
                Tensor inputs = batch.get(0).to(device);
                Tensor targets = batch.get(1).to(device);
                Tensor loss = criterion.forward(model.forward(inputs), targets);
                optimizer.zeroGrad();
                loss.backward();
                optimizer.step();
                monitor.step(loss, inputs.size(0));
            }
            monitor.endEpoch(epoch, epochs, Double.NaN);
        }
        monitor.finish(common.outputFolder("training-loop"), model.stateDict());
        return 0;
    }
}
