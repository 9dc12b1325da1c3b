package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import dev.kiln.data.Dataset;
import dev.kiln.data.Subset;
import dev.kiln.data.vision.FashionMNIST;
import dev.kiln.data.vision.MNIST;
import dev.kiln.data.vision.Transforms;
import dev.kiln.nn.CrossEntropyLoss;
import dev.kiln.nn.Module;
import dev.kiln.optim.Optimizer;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The shared recipe of the mnist and cnn samples: data, training epochs with a test accuracy each. */
final class ImageClassification {

    /** Dataset options shared by the image samples. */
    static final class DataOptions {
        @Option(names = "--dataset", defaultValue = "fashion", description = "mnist or fashion (default: ${DEFAULT-VALUE})")
        String dataset;

        @Option(names = "--data", description = "folder with the idx files (default: Debian's fashion-mnist folder when"
                + " present, else ./data)")
        Path data;

        @Option(names = "--download", description = "download missing files from the standard mirrors")
        boolean download;

        @Option(names = "--batch-size", defaultValue = "64", description = "training batch size (default: ${DEFAULT-VALUE})")
        int batchSize;

        @Option(names = "--workers", defaultValue = "0", description = "background loading threads (default: ${DEFAULT-VALUE})")
        int workers;

        @Option(names = "--limit", description = "train and test on at most this many images of each split (quick runs)")
        Long limit;

        /** The split, cut to {@code --limit} images when given. */
        Dataset<List<Tensor>> split(boolean train) {
            MNIST full = load(train);
            if (limit == null || limit >= full.size()) {
                return full;
            }
            long[] first = new long[(int) (long) limit];
            for (int i = 0; i < first.length; i++) {
                first[i] = i;
            }
            return new Subset<>(full, first);
        }

        MNIST load(boolean train) {
            boolean fashion = switch (dataset.toLowerCase(java.util.Locale.ROOT)) {
                case "fashion", "fashion-mnist", "fashionmnist" -> true;
                case "mnist" -> false;
                default -> throw new IllegalArgumentException("--dataset must be mnist or fashion, got " + dataset);
            };
            Path root = data != null ? data
                    : fashion && Files.isDirectory(FashionMNIST.DEBIAN_FOLDER) ? FashionMNIST.DEBIAN_FOLDER : Path.of("data");
            var transform = Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5));
            if (fashion) {
                return FashionMNIST.builder().root(root).train(train).transform(transform).download(download).build();
            }
            return MNIST.builder().root(root).train(train).transform(transform).download(download).build();
        }
    }

    private ImageClassification() {
    }

    /** Trains for {@code epochs}, measuring test accuracy after each; returns the last accuracy. */
    static double train(Module model, Optimizer optimizer, DataOptions options, int epochs, Device device,
                        TrainingMonitor monitor) {
        Dataset<List<Tensor>> train = options.split(true);
        Dataset<List<Tensor>> test = options.split(false);
        // As PyTorch's pin_memory=True on a GPU: batches in page-locked memory copy to the device asynchronously.
        boolean pin = device.isCuda();
        DataLoader<List<Tensor>> trainLoader = DataLoader.builder(train).batchSize(options.batchSize).shuffle(true)
                .numWorkers(options.workers).pinMemory(pin).build();
        DataLoader<List<Tensor>> testLoader = DataLoader.builder(test).batchSize(1000).pinMemory(pin).build();
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        model.to(device);
        double accuracy = Double.NaN;
        for (int epoch = 1; epoch <= epochs; epoch++) {
            model.train();
            monitor.startEpoch(epoch, epochs, trainLoader.size());
            for (List<Tensor> batch : trainLoader) {
                Tensor inputs = batch.get(0).to(device);
                Tensor targets = batch.get(1).to(device);
                Tensor loss = criterion.forward(model.forward(inputs), targets);
                optimizer.zeroGrad();
                loss.backward();
                optimizer.step();
                monitor.step(loss, inputs.size(0));
            }
            accuracy = accuracy(model, testLoader, device);
            monitor.endEpoch(epoch, epochs, accuracy);
        }
        return accuracy;
    }

    static double accuracy(Module model, DataLoader<List<Tensor>> loader, Device device) {
        model.eval();
        long correct = 0;
        long total = 0;
        try (var noGrad = Kiln.noGrad()) {
            for (List<Tensor> batch : loader) {
                Tensor targets = batch.get(1).to(device);
                Tensor predicted = model.forward(batch.get(0).to(device)).argmax(1);
                correct += predicted.eq(targets).sum().itemLong();
                total += targets.size(0);
            }
        }
        return (double) correct / total;
    }
}
