package dev.kiln.data.vision;

import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real Fashion-MNIST as Debian's dataset-fashion-mnist package installs it, when it is installed. */
class FashionMnistDebianTest {

    static FashionMNIST train;
    static FashionMNIST test;

    @BeforeAll
    static void load() {
        if (!Files.isRegularFile(FashionMNIST.DEBIAN_FOLDER.resolve("train-images-idx3-ubyte.gz"))) {
            String reason = "skipped: " + FashionMNIST.DEBIAN_FOLDER + " has no Fashion-MNIST (install the Debian"
                    + " package dataset-fashion-mnist)";
            System.out.println(reason);
            Assumptions.abort(reason);
        }
        var transform = Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5));
        train = FashionMNIST.builder().root(FashionMNIST.DEBIAN_FOLDER).train(true).transform(transform).build();
        test = FashionMNIST.builder().root(FashionMNIST.DEBIAN_FOLDER).train(false).transform(transform).build();
    }

    private static long[] classCounts(MNIST ds) {
        long[] counts = new long[10];
        for (long label : ds.targets().toLongArray()) {
            counts[(int) label]++;
        }
        return counts;
    }

    @Test
    void countsAndClassBalance() {
        assertEquals(60_000, train.size());
        assertEquals(10_000, test.size());
        long[] six = new long[10];
        long[] one = new long[10];
        java.util.Arrays.fill(six, 6000);
        java.util.Arrays.fill(one, 1000);
        assertArrayEquals(six, classCounts(train));
        assertArrayEquals(one, classCounts(test));
    }

    @Test
    void knownLabelsAndPixels() {
        assertArrayEquals(new long[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, train.targets().narrow(0, 0, 10).toLongArray());
        assertArrayEquals(new long[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, test.targets().narrow(0, 0, 10).toLongArray());
        assertEquals(76247, train.data().select(0, 0).sum().item(), 0);
        // The well-known normalisation constant of the training set: mean pixel 0.2860.
        assertEquals(0.2860, train.data().mean().item() / 255, 1e-4);
        assertEquals("Ankle boot", train.classes().get((int) train.label(0)));
    }

    @Test
    void aLoaderEpochOverTheTestSplitAsTheContractDoesIt() {
        Kiln.manualSeed(0);
        DataLoader<List<Tensor>> loader = DataLoader.builder(test).batchSize(1000).build();
        assertEquals(10, loader.size());
        long[] counts = new long[10];
        for (List<Tensor> batch : loader) {
            assertArrayEquals(new long[] {1000, 1, 28, 28}, batch.get(0).shape());
            assertTrue(batch.get(0).min().item() >= -1 && batch.get(0).max().item() <= 1);
            for (long label : batch.get(1).toLongArray()) {
                counts[(int) label]++;
            }
        }
        for (long c : counts) {
            assertEquals(1000, c);
        }
    }
}
