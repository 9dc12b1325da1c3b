package dev.kiln.data.vision;

import dev.kiln.Generator;
import dev.kiln.Tensor;
import dev.kiln.data.Transform;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransformsTest {

    static Image rgb2x3() {
        // Pixel (y, x) has channels (10y + x, 100 + 10y + x, 255).
        byte[] d = new byte[2 * 3 * 3];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                int p = (y * 3 + x) * 3;
                d[p] = (byte) (10 * y + x);
                d[p + 1] = (byte) (100 + 10 * y + x);
                d[p + 2] = (byte) 255;
            }
        }
        return new Image(d, 2, 3, 3);
    }

    @Test
    void toTensorMakesFloatChwInZeroOne() {
        Tensor t = Transforms.toTensor().apply(rgb2x3());
        assertArrayEquals(new long[] {3, 2, 3}, t.shape());
        assertEquals(dev.kiln.DType.FLOAT32, t.dtype());
        assertEquals(12 / 255f, t.getDouble(0, 1, 2), 0);
        assertEquals(111 / 255f, t.getDouble(1, 1, 1), 0);
        assertEquals(1.0, t.getDouble(2, 0, 0), 0);

        Image gray = Image.gray(new byte[] {0, (byte) 128, (byte) 255, 1}, 2, 2);
        Tensor g = Transforms.toTensor().apply(gray);
        assertArrayEquals(new long[] {1, 2, 2}, g.shape());
        assertArrayEquals(new float[] {0, 128 / 255f, 1, 1 / 255f}, g.toFloatArray());
    }

    @Test
    void toTensorBatchFormMatchesPerSample() {
        Image a = rgb2x3();
        byte[] d = a.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = (byte) (d[i] * 7 + 3);
        }
        Image b = new Image(d, 2, 3, 3);
        Tensor batch = Tensor.stack(List.of(a.toRawTensor(), b.toRawTensor()), 0);
        Tensor out = Transforms.toTensor().applyBatch(batch);
        assertArrayEquals(new long[] {2, 3, 2, 3}, out.shape());
        assertTrue(out.select(0, 0).equal(Transforms.toTensor().apply(a)));
        assertTrue(out.select(0, 1).equal(Transforms.toTensor().apply(b)));
        assertEquals(b, Image.fromRawTensor(b.toRawTensor()));
    }

    @Test
    void normalizeIsPerChannelAndMatchesTheFormula() {
        Tensor x = Transforms.toTensor().apply(rgb2x3());
        Tensor y = Transforms.normalize(new double[] {0.1, 0.2, 0.3}, new double[] {0.5, 0.25, 2}).apply(x);
        assertEquals(((float) (12 / 255f) - 0.1f) / 0.5f, y.getDouble(0, 1, 2), 0);
        assertEquals(((float) (111 / 255f) - 0.2f) / 0.25f, y.getDouble(1, 1, 1), 1e-7);
        assertEquals((1f - 0.3f) / 2f, y.getDouble(2, 0, 0), 1e-7);

        Tensor half = Transforms.normalize(0.5, 0.5).apply(x);
        assertEquals(1.0, half.getDouble(2, 1, 1), 0);
        assertEquals(-1.0, Transforms.normalize(0.5, 0.5).apply(Tensor.zeros(1, 2, 2)).getDouble(0, 0, 0), 0);

        var e = assertThrows(IllegalArgumentException.class,
                () -> Transforms.normalize(new double[] {0, 0}, new double[] {1, 1}).apply(x));
        assertTrue(e.getMessage().contains("3 channels"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Transforms.normalize(0, 0));
        assertThrows(IllegalArgumentException.class, () -> Transforms.normalize(0.5, 0.5).apply(Tensor.zeros(4)));
    }

    @Test
    void composeChainsAndKeepsTheBatchFormWhenEveryStageHasOne() {
        Transform<Image, Tensor> t = Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5));
        assertTrue(t.supportsBatch());
        Image img = rgb2x3();
        Tensor one = t.apply(img);
        Tensor batch = t.applyBatch(img.toRawTensor().unsqueeze(0));
        assertTrue(batch.select(0, 0).equal(one));
        assertTrue(t.toString().contains("ToTensor") && t.toString().contains("Normalize"), t.toString());

        Transform<Image, Tensor> withLambda = Transforms.compose(Transforms.toTensor(),
                Transforms.lambda((Tensor x) -> x.mul(2.0)), Transforms.normalize(0.5, 0.5));
        assertFalse(withLambda.supportsBatch());
        assertEquals((2 * 12 / 255f - 0.5f) / 0.5f, withLambda.apply(img).getDouble(0, 1, 2), 1e-6);
        Transform<Tensor, Tensor> batchLambda = Transforms.lambda(x -> x.add(1.0), b -> b.add(1.0));
        assertTrue(batchLambda.supportsBatch());
        Transform<Image, Integer> toHeight = Transforms.lambda(Image::height);
        assertEquals(2, toHeight.apply(img));
    }

    @Test
    void horizontalFlipReversesColumnsAndIsDeterministicUnderASeed() {
        Tensor x = Tensor.arange(0, 6).toFloat().view(1, 2, 3);
        Tensor always = Transforms.randomHorizontalFlip(1.0, new Generator(0)).apply(x);
        assertArrayEquals(new float[] {2, 1, 0, 5, 4, 3}, always.toFloatArray());
        assertSame(x, Transforms.randomHorizontalFlip(0.0, new Generator(0)).apply(x));

        List<Boolean> a = flips(new Generator(9));
        assertEquals(a, flips(new Generator(9)));
        assertTrue(a.contains(true) && a.contains(false), a.toString());
    }

    private static List<Boolean> flips(Generator g) {
        Transform<Tensor, Tensor> flip = Transforms.randomHorizontalFlip(0.5, g);
        Tensor x = Tensor.of(1f, 2f).view(1, 1, 2);
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            out.add(flip.apply(x).getDouble(0, 0, 0) == 2);
        }
        return out;
    }

    @Test
    void randomTransformsBatchFormFlipsAndCropsTheSamplesThePerSampleFormWould() {
        Tensor batch = Tensor.rand(new long[] {12, 2, 5, 6}, new Generator(1));
        List<Supplier<Transform<Tensor, Tensor>>> makers = List.of(
                () -> Transforms.randomHorizontalFlip(0.5, new Generator(3)),
                () -> Transforms.randomCrop(4, 4, new int[] {1}, false, 0, new Generator(3)));
        for (Supplier<Transform<Tensor, Tensor>> maker : makers) {
            Transform<Tensor, Tensor> batchWise = maker.get();
            Transform<Tensor, Tensor> perSample = maker.get();
            Tensor together = batchWise.applyBatch(batch);
            for (int i = 0; i < 12; i++) {
                assertTrue(together.select(0, i).equal(perSample.apply(batch.select(0, i))), batchWise + ", sample " + i);
            }
        }
    }

    @Test
    void randomCropPadsWithTheFillAndCropsTheRequestedSize() {
        Tensor x = Tensor.ones(1, 3, 3);
        // Padding 2 and a 7x7 crop: the whole padded image, border of fill.
        Tensor whole = Transforms.randomCrop(7, 7, new int[] {2}, false, -1, new Generator(0)).apply(x);
        assertArrayEquals(new long[] {1, 7, 7}, whole.shape());
        assertEquals(-1, whole.getDouble(0, 0, 0), 0);
        assertEquals(-1, whole.getDouble(0, 6, 1), 0);
        assertEquals(1, whole.getDouble(0, 2, 2), 0);
        assertEquals(9 + 40 * -1, whole.sum().item(), 0);

        // Asymmetric padding: left 1, top 0, right 0, bottom 2.
        Tensor asym = Transforms.randomCrop(5, 4, new int[] {1, 0, 0, 2}, false, 0, new Generator(0)).apply(x);
        assertArrayEquals(new float[] {0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, asym.toFloatArray());

        Tensor big = Tensor.arange(0, 100).toFloat().view(1, 10, 10);
        Transform<Tensor, Tensor> crop = Transforms.randomCrop(4);
        Tensor c = Transforms.randomCrop(4, 4, new int[] {0}, false, 0, new Generator(5)).apply(big);
        assertArrayEquals(new long[] {1, 4, 4}, c.shape());
        // A crop is a window: consecutive columns, rows 10 apart.
        assertEquals(c.getDouble(0, 0, 0) + 1, c.getDouble(0, 0, 1), 0);
        assertEquals(c.getDouble(0, 0, 0) + 30, c.getDouble(0, 3, 0), 0);
        assertTrue(c.equal(Transforms.randomCrop(4, 4, new int[] {0}, false, 0, new Generator(5)).apply(big)));
        assertArrayEquals(new long[] {1, 4, 4}, crop.apply(big).shape());

        Tensor small = Tensor.ones(1, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Transforms.randomCrop(4).apply(small));
        Tensor needed = Transforms.randomCrop(4, 4, new int[] {0}, true, 0, new Generator(1)).apply(small);
        assertArrayEquals(new long[] {1, 4, 4}, needed.shape());
        assertEquals(6, needed.sum().item(), 0);
    }

    @Test
    void resizeMatchesPyTorchBilinearWithoutAntialias() {
        // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
        Tensor x = Tensor.of(new float[][] {{1, 2}, {3, 4}}).view(1, 1, 2, 2);
        Tensor up = Transforms.resize(4, 4).apply(x);
        assertArrayEquals(new float[] {
            1.0f, 1.25f, 1.75f, 2.0f,
            1.5f, 1.75f, 2.25f, 2.5f,
            2.5f, 2.75f, 3.25f, 3.5f,
            3.0f, 3.25f, 3.75f, 4.0f}, up.toFloatArray(), 1e-6f);

        // Downsampling by two averages 2x2 blocks (no antialias: only the four nearest pixels).
        Tensor g = Tensor.arange(0, 16).toFloat().view(1, 4, 4);
        assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, Transforms.resize(2, 2).apply(g).toFloatArray(), 1e-6f);

        // 3 -> 2: scale 1.5, source coordinates 0.25 and 1.75.
        Tensor row = Tensor.of(0f, 10f, 20f).view(1, 1, 3);
        assertArrayEquals(new float[] {2.5f, 17.5f}, Transforms.resize(1, 2).apply(row).toFloatArray(), 1e-5f);

        // Resize(size): the shorter side becomes size, keeping the aspect ratio (floored).
        assertArrayEquals(new long[] {1, 10, 15}, Transforms.resize(10).apply(Tensor.zeros(1, 20, 30)).shape());
        assertArrayEquals(new long[] {1, 15, 10}, Transforms.resize(10).apply(Tensor.zeros(1, 33, 21)).shape());
        // Batches of any leading dims.
        assertArrayEquals(new long[] {5, 3, 7, 9}, Transforms.resize(7, 9).applyBatch(Tensor.zeros(5, 3, 28, 28)).shape());
        Tensor same = Tensor.zeros(1, 4, 4);
        assertSame(same, Transforms.resize(4, 4).apply(same));
    }
}
