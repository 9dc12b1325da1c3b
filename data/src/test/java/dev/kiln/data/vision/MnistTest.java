package dev.kiln.data.vision;

import dev.kiln.DType;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MnistTest {

    @TempDir
    Path root;

    private void checkContents(MNIST ds, int n) {
        assertEquals(n, ds.size());
        List<Tensor> item = ds.get(5);
        Tensor image = item.get(0);
        Tensor label = item.get(1);
        assertArrayEquals(new long[] {1, 28, 28}, image.shape());
        assertEquals(DType.FLOAT32, image.dtype());
        assertEquals(IdxFiles.pixel(5, 2, 3) / 255f, image.getDouble(0, 2, 3), 0);
        assertEquals(0, label.dim());
        assertEquals(DType.INT64, label.dtype());
        assertEquals(5, label.itemLong());
        assertEquals(IdxFiles.pixel(5, 27, 1), ds.image(5).get(27, 1, 0));
        assertEquals(5, ds.label(15));
    }

    @Test
    void readsPlainFilesInTheRootFolder() throws IOException {
        IdxFiles.writeSplit(root, "train", 30, false);
        IdxFiles.writeSplit(root, "t10k", 12, false);
        MNIST train = MNIST.builder().root(root).train(true).build();
        checkContents(train, 30);
        assertTrue(train.isTrain());
        MNIST test = MNIST.builder().root(root).train(false).build();
        assertEquals(12, test.size());
        assertEquals(root.resolve("t10k-images-idx3-ubyte"), test.imageFile());
        assertEquals(10, test.classes().size());
    }

    @Test
    void readsGzippedFilesInTorchvisionsLayout() throws IOException {
        IdxFiles.writeSplit(root.resolve("MNIST").resolve("raw"), "train", 30, true);
        checkContents(MNIST.builder().root(root).build(), 30);
        IdxFiles.writeSplit(root.resolve("FashionMNIST").resolve("raw"), "t10k", 20, true);
        FashionMNIST fashion = FashionMNIST.builder().root(root).train(false).build();
        checkContents(fashion, 20);
        assertEquals("Ankle boot", fashion.classes().get(9));
    }

    @Test
    void gzipIsRecognisedByContentNotName() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte"), IdxFiles.gzip(IdxFiles.images(10, 28, 28)));
        Files.write(root.resolve("train-labels-idx1-ubyte.gz"), IdxFiles.labels(10));
        assertEquals(10, MNIST.builder().root(root).build().size());
    }

    @Test
    void aBatchIsOneGatherPlusBatchTransformsAndMatchesItemByItem() throws IOException {
        IdxFiles.writeSplit(root, "train", 40, true);
        var transform = Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5));
        MNIST ds = MNIST.builder().root(root).transform(transform).build();
        long[] idx = {39, 0, 17, 17, 3};
        List<Tensor> batch = ds.getBatch(idx);
        assertArrayEquals(new long[] {5, 1, 28, 28}, batch.get(0).shape());
        assertArrayEquals(new long[] {9, 0, 7, 7, 3}, batch.get(1).toLongArray());
        for (int k = 0; k < idx.length; k++) {
            assertTrue(batch.get(0).select(0, k).equal(ds.get(idx[k]).get(0)), "sample " + k);
        }
        // A transform without a batch form goes sample by sample, with the same result.
        MNIST slow = MNIST.builder().root(root).transform(Transforms.compose(Transforms.toTensor(),
                Transforms.lambda((Tensor x) -> x.sub(0.5).div(0.5)))).build();
        assertTrue(slow.getBatch(idx).get(0).equal(batch.get(0)));

        DataLoader<List<Tensor>> loader = DataLoader.builder(ds).batchSize(16).shuffle(true).build();
        assertEquals(3, loader.size());
        long seen = 0;
        for (List<Tensor> b : loader) {
            seen += b.get(1).size(0);
            assertTrue(b.get(0).min().item() >= -1 && b.get(0).max().item() <= 1);
        }
        assertEquals(40, seen);
    }

    private UncheckedIOException failure(Runnable build) {
        return assertThrows(UncheckedIOException.class, build::run);
    }

    @Test
    void aMissingFileIsNamed() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte"), IdxFiles.images(3, 28, 28));
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("train-labels-idx1-ubyte"), e.getMessage());
        assertTrue(e.getMessage().contains("download(true)"), e.getMessage());
        assertThrows(NullPointerException.class, () -> MNIST.builder().build());
    }

    @Test
    void aBadMagicNumberIsNamed() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte"), IdxFiles.labels(3));
        Files.write(root.resolve("train-labels-idx1-ubyte"), IdxFiles.labels(3));
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertInstanceOf(IdxFormatException.class, e.getCause());
        assertEquals(root.resolve("train-images-idx3-ubyte"), ((IdxFormatException) e.getCause()).file());
        assertTrue(e.getMessage().contains("bad magic number 0x00000801"), e.getMessage());
        assertTrue(e.getMessage().contains("label file"), e.getMessage());
    }

    @Test
    void truncatedAndOverlongFilesAreSizeMismatches() throws IOException {
        byte[] img = IdxFiles.images(4, 28, 28);
        Files.write(root.resolve("train-labels-idx1-ubyte"), IdxFiles.labels(4));
        Files.write(root.resolve("train-images-idx3-ubyte"), Arrays.copyOf(img, img.length - 100));
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte") && e.getMessage().contains("size mismatch")
                && e.getMessage().contains("truncated"), e.getMessage());

        Files.write(root.resolve("train-images-idx3-ubyte"), Arrays.copyOf(img, img.length + 5));
        e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("size mismatch") && e.getMessage().contains("5 bytes more"), e.getMessage());

        Files.write(root.resolve("train-images-idx3-ubyte"), Arrays.copyOf(img, 10));
        e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("header"), e.getMessage());
    }

    @Test
    void imagesAndLabelsMustAgreeInCount() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte"), IdxFiles.images(4, 28, 28));
        Files.write(root.resolve("train-labels-idx1-ubyte"), IdxFiles.labels(5));
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("wrong count") && e.getMessage().contains("5 labels")
                && e.getMessage().contains("4 images"), e.getMessage());
    }

    @Test
    void corruptAndTruncatedGzipAreNamed() throws IOException {
        Files.write(root.resolve("train-labels-idx1-ubyte"), IdxFiles.labels(50));
        byte[] gz = IdxFiles.gzip(IdxFiles.images(50, 28, 28));
        Path images = root.resolve("train-images-idx3-ubyte.gz");
        Files.write(images, Arrays.copyOf(gz, gz.length / 2));
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz") && e.getMessage().contains("gzip"), e.getMessage());

        byte[] flipped = gz.clone();
        for (int i = 20; i < flipped.length - 20; i += 7) {
            flipped[i] ^= 0x5a;
        }
        Files.write(images, flipped);
        e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz"), e.getMessage());

        byte[] badCrc = gz.clone();
        badCrc[gz.length - 6] ^= 1; // the CRC32 in the gzip trailer
        Files.write(images, badCrc);
        e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("corrupt gzip"), e.getMessage());
    }

    @Test
    void labelsOutsideTheClassesAreRejected() throws IOException {
        byte[] lab = IdxFiles.labels(4);
        lab[8 + 2] = 12;
        Files.write(root.resolve("train-images-idx3-ubyte"), IdxFiles.images(4, 28, 28));
        Files.write(root.resolve("train-labels-idx1-ubyte"), lab);
        UncheckedIOException e = failure(() -> MNIST.builder().root(root).build());
        assertTrue(e.getMessage().contains("label 12 at index 2"), e.getMessage());
    }
}
