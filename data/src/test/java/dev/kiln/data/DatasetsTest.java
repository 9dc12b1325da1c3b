package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DatasetsTest {

    static Tensor rows(int n, int width) {
        float[] v = new float[n * width];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.fromArray(v, n, width);
    }

    @Test
    void tensorDatasetItemsAreRows() {
        TensorDataset ds = new TensorDataset(rows(5, 3), Tensor.arange(10, 15));
        assertEquals(5, ds.size());
        List<Tensor> item = ds.get(2);
        assertEquals(2, item.size());
        assertArrayEquals(new float[] {6, 7, 8}, item.get(0).toFloatArray());
        assertEquals(0, item.get(1).dim());
        assertEquals(12, item.get(1).itemLong());
    }

    @Test
    void tensorDatasetBatchIsOneGatherThatMatchesStackingItems() {
        TensorDataset ds = new TensorDataset(rows(7, 4), Tensor.arange(0, 7));
        long[] idx = {6, 0, 3, 3};
        List<Tensor> batch = ds.getBatch(idx);
        List<Tensor> items = new ArrayList<>();
        for (long i : idx) {
            items.add(ds.get(i).get(0));
        }
        assertTrue(batch.get(0).equal(Tensor.stack(items, 0)));
        assertArrayEquals(idx, batch.get(1).toLongArray());
    }

    @Test
    void tensorDatasetRejectsMismatchedSizesAndBadIndices() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TensorDataset(rows(5, 3), Tensor.arange(4)));
        assertTrue(e.getMessage().contains("[5, 3]") && e.getMessage().contains("[4]"), e.getMessage());
        TensorDataset ds = new TensorDataset(rows(5, 3));
        var oob = assertThrows(IndexOutOfBoundsException.class, () -> ds.get(5));
        assertTrue(oob.getMessage().contains("5"), oob.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> ds.getBatch(new long[] {1, -1}));
    }

    @Test
    void subsetMapsIndicesAndGathersThroughTheBase() {
        TensorDataset base = new TensorDataset(rows(10, 2), Tensor.arange(10));
        Subset<List<Tensor>> sub = new Subset<>(base, new long[] {9, 4, 1});
        assertEquals(3, sub.size());
        assertEquals(4, sub.get(1).get(1).itemLong());
        assertTrue(sub.supportsBatch());
        assertArrayEquals(new long[] {1, 9}, sub.getBatch(new long[] {2, 0}).get(1).toLongArray());
        assertThrows(IndexOutOfBoundsException.class, () -> new Subset<>(base, new long[] {10}));
    }

    @Test
    void concatDatasetRunsThroughThePartsInOrder() {
        TensorDataset a = new TensorDataset(Tensor.arange(0, 3));
        TensorDataset empty = new TensorDataset(Tensor.arange(0, 0));
        TensorDataset b = new TensorDataset(Tensor.arange(100, 102));
        ConcatDataset<List<Tensor>> c = new ConcatDataset<>(a, empty, b);
        assertEquals(5, c.size());
        long[] all = new long[5];
        for (int i = 0; i < 5; i++) {
            all[i] = c.get(i).get(0).itemLong();
        }
        assertArrayEquals(new long[] {0, 1, 2, 100, 101}, all);
        // Within one part: one gather; across parts: item by item; same values either way.
        assertArrayEquals(new long[] {101, 100}, c.getBatch(new long[] {4, 3}).get(0).toLongArray());
        assertArrayEquals(new long[] {2, 100, 0}, c.getBatch(new long[] {2, 3, 0}).get(0).toLongArray());
        assertThrows(IndexOutOfBoundsException.class, () -> c.get(5));
    }

    @Test
    void randomSplitByLengthsIsADisjointCoverAndReproducible() {
        TensorDataset ds = new TensorDataset(Tensor.arange(0, 20));
        List<Subset<List<Tensor>>> parts = Datasets.randomSplit(ds, new long[] {15, 5}, new Generator(3));
        assertEquals(15, parts.get(0).size());
        assertEquals(5, parts.get(1).size());
        Set<Long> seen = new HashSet<>();
        for (Subset<List<Tensor>> p : parts) {
            for (long i : p.indices()) {
                assertTrue(seen.add(i), "index " + i + " in two parts");
            }
        }
        assertEquals(20, seen.size());
        List<Subset<List<Tensor>>> again = Datasets.randomSplit(ds, new long[] {15, 5}, new Generator(3));
        assertArrayEquals(parts.get(1).indices(), again.get(1).indices());
        assertFalse(Arrays.equals(parts.get(0).indices(), Datasets.randomSplit(ds, new long[] {15, 5},
                new Generator(4)).get(0).indices()));
        var e = assertThrows(IllegalArgumentException.class, () -> Datasets.randomSplit(ds, 10L, 5L));
        assertTrue(e.getMessage().contains("20"), e.getMessage());
    }

    @Test
    void randomSplitByFractionsDistributesTheRemainderAsPyTorch() {
        assertArrayEquals(new long[] {3, 3, 4}, Datasets.lengthsOf(new double[] {0.3, 0.3, 0.4}, 10));
        // floor gives 3, 3, 3; the one left over goes to the first part.
        assertArrayEquals(new long[] {4, 3, 3}, Datasets.lengthsOf(new double[] {0.33, 0.33, 0.34}, 10));
        assertArrayEquals(new long[] {8, 2}, Datasets.lengthsOf(new double[] {0.8, 0.2}, 10));
        // floor(0.5*11)=5 twice, one left over goes to the first part.
        assertArrayEquals(new long[] {6, 5}, Datasets.lengthsOf(new double[] {0.5, 0.5}, 11));
        assertThrows(IllegalArgumentException.class, () -> Datasets.lengthsOf(new double[] {0.5, 0.6}, 10));
        Kiln.manualSeed(7);
        long[] first = Datasets.randomSplit(new TensorDataset(Tensor.arange(10)), 0.7, 0.3).get(0).indices();
        Kiln.manualSeed(7);
        assertArrayEquals(first, Datasets.randomSplit(new TensorDataset(Tensor.arange(10)), 0.7, 0.3).get(0).indices());
    }
}
