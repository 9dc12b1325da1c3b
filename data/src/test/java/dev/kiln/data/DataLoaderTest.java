package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataLoaderTest {

    /** Items {@code [float tensor [i, -i], long i]}; slow and out of order on purpose, failing at one index. */
    static final class SlowDataset implements Dataset<List<Object>> {
        final long n;
        final long failAt;
        final AtomicInteger loads = new AtomicInteger();

        SlowDataset(long n, long failAt) {
            this.n = n;
            this.failAt = failAt;
        }

        @Override
        public List<Object> get(long index) {
            loads.incrementAndGet();
            if (index == failAt) {
                throw new IllegalStateException("corrupt record");
            }
            if (index % 3 == 0) {
                // Early indices take longer, so workers finish out of order.
                try {
                    Thread.sleep(index % 2 == 0 ? 3 : 0);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return List.of(Tensor.of((float) index, (float) -index), index);
        }

        @Override
        public long size() {
            return n;
        }
    }

    static long[] labels(List<?> batch) {
        return ((Tensor) batch.get(1)).toLongArray();
    }

    static long[] concat(List<long[]> parts) {
        return parts.stream().flatMapToLong(Arrays::stream).toArray();
    }

    static List<long[]> epoch(DataLoader<List<Object>> loader) {
        List<long[]> out = new ArrayList<>();
        for (List<Object> b : loader) {
            out.add(labels(b));
        }
        return out;
    }

    @Test
    void sequentialBatchesInOrderWithASmallerLastBatch() {
        DataLoader<List<Object>> loader = DataLoader.builder(new SlowDataset(10, -1)).batchSize(4).build();
        assertEquals(3, loader.size());
        List<long[]> batches = epoch(loader);
        assertEquals(3, batches.size());
        assertArrayEquals(new long[] {0, 1, 2, 3}, batches.get(0));
        assertArrayEquals(new long[] {8, 9}, batches.get(2));
        List<Object> first = loader.iterator().next();
        Tensor x = (Tensor) first.get(0);
        assertArrayEquals(new long[] {4, 2}, x.shape());
        assertArrayEquals(new float[] {0, 0, 1, -1, 2, -2, 3, -3}, x.toFloatArray());
    }

    @Test
    void dropLastLeavesOutTheIncompleteBatch() {
        DataLoader<List<Object>> loader = DataLoader.builder(new SlowDataset(10, -1)).batchSize(4).dropLast(true).build();
        assertEquals(2, loader.size());
        assertEquals(2, epoch(loader).size());
        DataLoader<List<Object>> exact = DataLoader.builder(new SlowDataset(8, -1)).batchSize(4).dropLast(true).build();
        assertEquals(2, exact.size());
    }

    @Test
    void theContractShapeCompilesAndBatchesTensorDatasets() {
        Kiln.manualSeed(1);
        Tensor x = Tensor.randn(100, 10);
        Tensor y = Tensor.randn(100, 1);
        TensorDataset dataset = new TensorDataset(x, y);
        DataLoader<List<Tensor>> loader = DataLoader.builder(dataset).batchSize(10).shuffle(true).build();
        assertEquals(10, loader.size());
        int count = 0;
        for (int epoch = 0; epoch < 3; epoch++) {
            for (List<Tensor> batch : loader) {
                assertArrayEquals(new long[] {10, 10}, batch.get(0).shape());
                assertArrayEquals(new long[] {10, 1}, batch.get(1).shape());
                count++;
            }
        }
        assertEquals(30, count);
    }

    @Test
    void shuffleVisitsEveryIndexOncePerEpochInAFreshOrder() {
        TensorDataset ds = new TensorDataset(Tensor.arange(50));
        DataLoader<List<Tensor>> loader = DataLoader.builder(ds).batchSize(7).shuffle(true).build();
        long[] e1 = concat(tensorEpoch(loader));
        long[] e2 = concat(tensorEpoch(loader));
        assertArrayEquals(LongStream.range(0, 50).toArray(), Arrays.stream(e1).sorted().toArray());
        assertArrayEquals(LongStream.range(0, 50).toArray(), Arrays.stream(e2).sorted().toArray());
        assertFalse(Arrays.equals(e1, e2), "two epochs in the same order");
        assertFalse(Arrays.equals(e1, LongStream.range(0, 50).toArray()));
    }

    static List<long[]> tensorEpoch(DataLoader<List<Tensor>> loader) {
        List<long[]> out = new ArrayList<>();
        for (List<Tensor> b : loader) {
            out.add(b.get(0).toLongArray());
        }
        return out;
    }

    @Test
    void shuffleIsReproducibleUnderManualSeedAndWithAGivenGenerator() {
        TensorDataset ds = new TensorDataset(Tensor.arange(40));
        DataLoader<List<Tensor>> loader = DataLoader.builder(ds).batchSize(8).shuffle(true).build();
        Kiln.manualSeed(123);
        long[] a1 = concat(tensorEpoch(loader));
        long[] a2 = concat(tensorEpoch(loader));
        Kiln.manualSeed(123);
        assertArrayEquals(a1, concat(tensorEpoch(loader)));
        assertArrayEquals(a2, concat(tensorEpoch(loader)));

        DataLoader<List<Tensor>> own = DataLoader.builder(ds).batchSize(8).shuffle(true).generator(new Generator(5)).build();
        DataLoader<List<Tensor>> same = DataLoader.builder(ds).batchSize(8).shuffle(true).generator(new Generator(5)).build();
        Kiln.manualSeed(999); // the default generator plays no part
        assertArrayEquals(concat(tensorEpoch(own)), concat(tensorEpoch(same)));
    }

    @Test
    void workersGiveTheSameBatchesInTheSameOrderAsTheCallingThread() {
        DataLoader<List<Object>> single = DataLoader.builder(new SlowDataset(60, -1)).batchSize(4).shuffle(true)
                .generator(new Generator(11)).build();
        DataLoader<List<Object>> pooled = DataLoader.builder(new SlowDataset(60, -1)).batchSize(4).shuffle(true)
                .generator(new Generator(11)).numWorkers(3).prefetchFactor(2).build();
        for (int epoch = 0; epoch < 2; epoch++) {
            List<long[]> a = epoch(single);
            List<long[]> b = epoch(pooled);
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i), b.get(i), "batch " + i + " of epoch " + epoch);
            }
        }
    }

    @Test
    void prefetchingIsBoundedByWorkersTimesPrefetchFactor() {
        SlowDataset ds = new SlowDataset(200, -1);
        DataLoader<List<Object>> loader = DataLoader.builder(ds).batchSize(2).numWorkers(2).prefetchFactor(3).build();
        Iterator<List<Object>> it = loader.iterator();
        it.next();
        // Give the workers time to run ahead as far as they may.
        for (int i = 0; i < 50 && ds.loads.get() < 2 * 7; i++) {
            sleep(5);
        }
        sleep(30);
        // One batch consumed plus at most 2 * 3 in flight, two items each.
        assertTrue(ds.loads.get() <= 2 * (1 + 2 * 3), "loaded " + ds.loads.get() + " items ahead");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void anExceptionInAWorkerSurfacesInTheCallerWithTheIndex() {
        DataLoader<List<Object>> loader = DataLoader.builder(new SlowDataset(40, 17)).batchSize(5).numWorkers(2).build();
        Iterator<List<Object>> it = loader.iterator();
        List<long[]> got = new ArrayList<>();
        DataLoaderException e = assertThrows(DataLoaderException.class, () -> {
            while (it.hasNext()) {
                got.add(labels(it.next()));
            }
        });
        assertEquals(17, e.index());
        assertEquals(3, e.batchIndex());
        assertTrue(e.getMessage().contains("sample 17"), e.getMessage());
        assertTrue(e.getMessage().contains("corrupt record"), e.getMessage());
        assertTrue(e.getMessage().contains("kiln-data-worker-"), e.getMessage());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals(3, got.size(), "the batches before the failing one arrive");
        assertFalse(it.hasNext(), "the epoch ends at the failure");
        // The next epoch starts afresh (and fails again at the same place).
        assertThrows(DataLoaderException.class, () -> epoch(loader));
    }

    @Test
    void anExceptionWithoutWorkersNamesTheIndexToo() {
        DataLoader<List<Object>> loader = DataLoader.builder(new SlowDataset(10, 6)).batchSize(4).build();
        DataLoaderException e = assertThrows(DataLoaderException.class, () -> epoch(loader));
        assertEquals(6, e.index());
        assertEquals(1, e.batchIndex());
    }

    @Test
    void aFailedBatchGatherIsPinnedOnTheFailingSample() {
        Dataset<List<Tensor>> broken = new BatchDataset<>() {
            final TensorDataset inner = new TensorDataset(Tensor.arange(20));

            @Override
            public List<Tensor> getBatch(long[] indices) {
                for (long i : indices) {
                    get(i);
                }
                return inner.getBatch(indices);
            }

            @Override
            public List<Tensor> get(long index) {
                if (index == 13) {
                    throw new IllegalArgumentException("bad row");
                }
                return inner.get(index);
            }

            @Override
            public long size() {
                return 20;
            }
        };
        DataLoader<List<Tensor>> loader = DataLoader.builder(broken).batchSize(8).numWorkers(1).build();
        DataLoaderException e = assertThrows(DataLoaderException.class, () -> tensorEpoch(loader));
        assertEquals(13, e.index());
    }

    @Test
    void batchGatherAndItemByItemGiveTheSameBatches() {
        Tensor x = Tensor.randn(new long[] {30, 3, 2}, new Generator(1));
        Tensor y = Tensor.arange(30);
        TensorDataset ds = new TensorDataset(x, y);
        // A plain Dataset view of the same items forces the item-by-item path.
        Dataset<List<Tensor>> plain = new Dataset<>() {
            @Override
            public List<Tensor> get(long index) {
                return ds.get(index);
            }

            @Override
            public long size() {
                return ds.size();
            }
        };
        Iterator<List<Tensor>> a = DataLoader.builder(ds).batchSize(7).shuffle(true).generator(new Generator(2)).build().iterator();
        Iterator<List<Tensor>> b = DataLoader.builder(plain).batchSize(7).shuffle(true).generator(new Generator(2)).build().iterator();
        while (a.hasNext()) {
            List<Tensor> p = a.next();
            List<Tensor> q = b.next();
            assertTrue(p.get(0).equal(q.get(0)));
            assertTrue(p.get(1).equal(q.get(1)));
        }
        assertFalse(b.hasNext());
    }

    @Test
    void customSamplerAndBatchSampler() {
        TensorDataset ds = new TensorDataset(Tensor.arange(10));
        DataLoader<List<Tensor>> reversed = DataLoader.builder(ds).batchSize(3).sampler(new Sampler() {
            @Override
            public java.util.PrimitiveIterator.OfLong iterator() {
                return LongStream.iterate(9, i -> i - 1).limit(10).iterator();
            }

            @Override
            public long size() {
                return 10;
            }
        }).build();
        assertArrayEquals(new long[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, concat(tensorEpoch(reversed)));

        BatchSampler pairsThenOne = new BatchSampler() {
            @Override
            public Iterator<long[]> iterator() {
                return List.of(new long[] {0, 5}, new long[] {1, 6}, new long[] {9}).iterator();
            }

            @Override
            public long size() {
                return 3;
            }
        };
        DataLoader<List<Tensor>> custom = DataLoader.builder(ds).batchSampler(pairsThenOne).build();
        assertEquals(3, custom.size());
        List<long[]> batches = tensorEpoch(custom);
        assertArrayEquals(new long[] {1, 6}, batches.get(1));
        assertArrayEquals(new long[] {9}, batches.get(2));
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).batchSampler(pairsThenOne).batchSize(2).build());
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).shuffle(true)
                .sampler(new SequentialSampler(10)).build());
    }

    @Test
    void samplersOfThePyTorchKind() {
        RandomSampler withReplacement = new RandomSampler(5, true, 100, new Generator(1));
        long[] draws = LongStream.generate(withReplacement.iterator()::nextLong).limit(100).toArray();
        assertTrue(Arrays.stream(draws).allMatch(i -> i >= 0 && i < 5));
        assertEquals(5, Arrays.stream(draws).distinct().count());

        SubsetRandomSampler subset = new SubsetRandomSampler(new long[] {10, 20, 30}, new Generator(1));
        long[] order = LongStream.generate(subset.iterator()::nextLong).limit(3).sorted().toArray();
        assertArrayEquals(new long[] {10, 20, 30}, order);

        WeightedRandomSampler weighted = new WeightedRandomSampler(new double[] {0, 1, 0, 3}, 1000, true, new Generator(2));
        long[] w = LongStream.generate(weighted.iterator()::nextLong).limit(1000).toArray();
        long threes = Arrays.stream(w).filter(i -> i == 3).count();
        assertTrue(Arrays.stream(w).allMatch(i -> i == 1 || i == 3), "drew a zero-weight index");
        assertTrue(threes > 650 && threes < 850, threes + " of 1000 draws of the weight-3 index");
        WeightedRandomSampler noRepeat = new WeightedRandomSampler(new double[] {1, 1, 0, 5}, 3, false, new Generator(2));
        long[] nr = LongStream.generate(noRepeat.iterator()::nextLong).limit(3).sorted().toArray();
        assertArrayEquals(new long[] {0, 1, 3}, nr);
    }

    @Test
    void customCollateChangesTheBatchType() {
        TensorDataset ds = new TensorDataset(Tensor.arange(10));
        DataLoader<Long> sums = DataLoader.builder(ds).batchSize(5)
                .collate(items -> items.stream().mapToLong(item -> item.get(0).itemLong()).sum()).build();
        List<Long> out = new ArrayList<>();
        sums.forEach(out::add);
        assertEquals(List.of(10L, 35L), out);
    }

    @Test
    void defaultCollateStacksTensorsAndTurnsNumbersIntoTensors() {
        Object batch = Collate.defaultCollate(List.of(
                Map.of("x", Tensor.of(1f, 2f), "n", 3, "w", 0.5, "f", 1.5f, "ok", true, "name", "a"),
                Map.of("x", Tensor.of(3f, 4f), "n", 4, "w", 1.5, "f", 2.5f, "ok", false, "name", "b")));
        Map<?, ?> m = (Map<?, ?>) batch;
        Tensor x = (Tensor) m.get("x");
        assertArrayEquals(new long[] {2, 2}, x.shape());
        assertEquals(dev.kiln.DType.INT64, ((Tensor) m.get("n")).dtype());
        assertEquals(dev.kiln.DType.FLOAT64, ((Tensor) m.get("w")).dtype());
        assertEquals(dev.kiln.DType.FLOAT32, ((Tensor) m.get("f")).dtype());
        assertEquals(dev.kiln.DType.BOOL, ((Tensor) m.get("ok")).dtype());
        assertEquals(List.of("a", "b"), m.get("name"));
        assertArrayEquals(new long[] {3, 4}, ((Tensor) m.get("n")).toLongArray());

        var e = assertThrows(IllegalArgumentException.class, () -> Collate.defaultCollate(List.of(List.of(1, 2), List.of(1))));
        assertTrue(e.getMessage().contains("2 elements"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Collate.stack(List.of(Tensor.zeros(2), Tensor.zeros(3))));
    }

    @Test
    void itemsThatAreBareNumbersNeedAnExplicitCollate() {
        Dataset<Long> numbers = new Dataset<>() {
            @Override
            public Long get(long index) {
                return index * 10;
            }

            @Override
            public long size() {
                return 4;
            }
        };
        DataLoaderException e = assertThrows(DataLoaderException.class,
                () -> DataLoader.builder(numbers).batchSize(2).build().iterator().next());
        assertTrue(e.getMessage().contains("Collate::numbers"), e.getMessage());
        DataLoader<Tensor> ok = DataLoader.builder(numbers).batchSize(2).collate(Collate::numbers).build();
        List<Tensor> batches = new ArrayList<>();
        ok.forEach(batches::add);
        assertArrayEquals(new long[] {20, 30}, batches.get(1).toLongArray());
    }

    /** Items 0..n-1, optionally failing at one. */
    static IterableDataset<Long> stream(long n, long failAt, boolean sized) {
        return new IterableDataset<>() {
            @Override
            public Iterator<Long> iterator() {
                return new Iterator<>() {
                    long i;

                    @Override
                    public boolean hasNext() {
                        return i < n;
                    }

                    @Override
                    public Long next() {
                        if (i == failAt) {
                            throw new IllegalStateException("stream broke");
                        }
                        return i++;
                    }
                };
            }

            @Override
            public long size() {
                return sized ? n : -1;
            }
        };
    }

    @Test
    void iterableDatasetsAreBatchedInArrivalOrderWithOrWithoutWorkers() {
        for (int workers : new int[] {0, 2}) {
            DataLoader<Tensor> loader = DataLoader.builder(stream(11, -1, true)).batchSize(4).numWorkers(workers)
                    .collate(Collate::numbers).build();
            assertEquals(3, loader.size());
            for (int epoch = 0; epoch < 2; epoch++) {
                List<long[]> got = new ArrayList<>();
                loader.forEach(t -> got.add(t.toLongArray()));
                assertEquals(3, got.size());
                assertArrayEquals(LongStream.range(0, 11).toArray(), concat(got));
            }
            DataLoader<Tensor> dropped = DataLoader.builder(stream(11, -1, false)).batchSize(4).dropLast(true)
                    .numWorkers(workers).collate(Collate::numbers).build();
            List<long[]> got = new ArrayList<>();
            dropped.forEach(t -> got.add(t.toLongArray()));
            assertEquals(2, got.size());
            assertThrows(UnsupportedOperationException.class, dropped::size);

            DataLoader<Tensor> failing = DataLoader.builder(stream(11, 6, false)).batchSize(4).numWorkers(workers)
                    .collate(Collate::numbers).build();
            Iterator<Tensor> it = failing.iterator();
            it.next();
            DataLoaderException e = assertThrows(DataLoaderException.class, it::next);
            assertEquals(6, e.index());
            assertFalse(it.hasNext());
        }
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(stream(3, -1, true)).shuffle(true).build());
    }

    @Test
    void randomTransformsInsideTheLoaderDependOnlyOnTheSeed() {
        // A "random" dataset: each item draws from WorkerContext's generator, as random transforms do.
        Dataset<List<Tensor>> noisy = new Dataset<>() {
            @Override
            public List<Tensor> get(long index) {
                double u = WorkerContext.generator().uniformDoubles(1)[0];
                return List.of(Tensor.of(u), Tensor.scalar(index, dev.kiln.DType.INT64, dev.kiln.Device.cpu()));
            }

            @Override
            public long size() {
                return 24;
            }
        };
        List<float[]> reference = null;
        for (int workers : new int[] {0, 1, 3}) {
            Kiln.manualSeed(42);
            DataLoader<List<Tensor>> loader = DataLoader.builder(noisy).batchSize(5).shuffle(true).numWorkers(workers).build();
            List<float[]> values = new ArrayList<>();
            for (int epoch = 0; epoch < 2; epoch++) {
                for (List<Tensor> b : loader) {
                    values.add(b.get(0).toFloatArray());
                }
            }
            if (reference == null) {
                reference = values;
            } else {
                for (int i = 0; i < values.size(); i++) {
                    assertArrayEquals(reference.get(i), values.get(i), "workers=" + workers + ", batch " + i);
                }
            }
        }
        assertFalse(WorkerContext.inLoader());
    }

    @Test
    void anExhaustedIteratorSaysSo() {
        Iterator<List<Tensor>> it = DataLoader.builder(new TensorDataset(Tensor.arange(2))).batchSize(2).build().iterator();
        it.next();
        assertFalse(it.hasNext());
        assertThrows(NoSuchElementException.class, it::next);
    }

    @Test
    void pinMemoryIsALoggedNoOpWithoutCuda() {
        // This module's tests have only the CPU backend: no page-locked memory to be had.
        assertFalse(Kiln.isPinnedMemoryAvailable());
        assertTrue(Kiln.pinnedMemoryUnavailableReason().contains("CUDA is not available"), Kiln.pinnedMemoryUnavailableReason());
        TensorDataset ds = new TensorDataset(Tensor.arange(6), Tensor.arange(6).toFloat().mul(0.5));
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        DataLoader.PIN_WARNED.set(false);
        List<List<Tensor>> pinned = new ArrayList<>();
        try {
            System.setErr(new java.io.PrintStream(captured, true));
            for (int workers : new int[] {0, 2}) {
                DataLoader<List<Tensor>> loader = DataLoader.builder(ds).batchSize(4).numWorkers(workers).pinMemory(true).build();
                assertTrue(loader.pinMemory());
                assertFalse(loader.pinsBatches());
                for (List<Tensor> batch : loader) {
                    pinned.add(batch);
                }
            }
        } finally {
            System.setErr(err);
        }
        String log = captured.toString();
        assertEquals(1, log.split("pinMemory\\(true\\) has no effect", -1).length - 1, log);
        assertTrue(log.contains("CUDA is not available"), log);
        DataLoader<List<Tensor>> plain = DataLoader.builder(ds).batchSize(4).build();
        List<List<Tensor>> expected = new ArrayList<>();
        for (List<Tensor> batch : plain) {
            expected.add(batch);
        }
        expected.addAll(new ArrayList<>(expected));
        assertEquals(expected.size(), pinned.size());
        for (int i = 0; i < pinned.size(); i++) {
            for (int j = 0; j < 2; j++) {
                Tensor t = pinned.get(i).get(j);
                assertFalse(t.isPinned());
                assertArrayEquals(expected.get(i).get(j).toDoubleArray(), t.toDoubleArray());
            }
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.arange(3).pinMemory());
        assertTrue(e.getMessage().startsWith("pinMemory: cannot pin a tensor of shape [3]: "), e.getMessage());
        assertFalse(Tensor.arange(3).isPinned());
    }

    @Test
    void optionsAreValidated() {
        TensorDataset ds = new TensorDataset(Tensor.arange(6));
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).batchSize(0));
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).numWorkers(-1));
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).prefetchFactor(0));
    }
}
