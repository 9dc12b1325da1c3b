package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.data.DataLoader;
import dev.kiln.data.TensorDataset;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MSELoss;
import dev.kiln.nn.Module;
import dev.kiln.nn.ReLU;
import dev.kiln.nn.Sequential;
import dev.kiln.optim.Optimizer;
import dev.kiln.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Page-locked host memory on {@code cuda:0}: {@link Tensor#pinMemory()}, asynchronous copies from
 * it, the caching host allocator behind it, and {@link DataLoader}'s {@code pinMemory}. Run on the
 * emulated device and through the real JCuda classes over the fake driver.
 */
abstract class PinnedMemoryTests {

    private static final Device CUDA = Device.cuda(0);

    @Test
    void pinnedTensorsRoundTripEveryDtype() {
        Kiln.manualSeed(3);
        Tensor base = Tensor.randn(5, 7).mul(100);
        for (DType dtype : DType.values()) {
            Tensor t = dtype == DType.BOOL ? base.gt(Tensor.scalar(0)) : base.to(dtype);
            assertFalse(t.isPinned(), dtype.toString());
            Tensor p = t.pinMemory();
            assertTrue(p.isPinned(), dtype.toString());
            assertEquals(Device.cpu(), p.device());
            assertEquals(dtype, p.dtype());
            assertFalse(p.sharesStorageWith(t), "pinMemory copies, as PyTorch's");
            assertSame(p, p.pinMemory(), "pinning a pinned tensor returns it");
            assertArrayEquals(t.toDoubleArray(), p.toDoubleArray(), dtype.toString());
            Tensor onDevice = p.to(CUDA);
            assertEquals(CUDA, onDevice.device());
            assertFalse(onDevice.isPinned());
            Tensor back = onDevice.cpu();
            assertFalse(back.isPinned());
            assertArrayEquals(t.toDoubleArray(), back.toDoubleArray(), dtype + " through cuda:0");
            assertArrayEquals(t.toDoubleArray(), t.to(CUDA).toDoubleArray(), dtype + " pageable");
        }
    }

    @Test
    void viewsOfPinnedTensorsArePinnedAndCopyFromTheirOffset() {
        Tensor p = Tensor.arange(24).toFloat().view(4, 6).pinMemory();
        Tensor rows = p.narrow(0, 1, 2);
        assertTrue(rows.isPinned());
        assertTrue(rows.isContiguous());
        assertArrayEquals(new double[] {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, rows.to(CUDA).toDoubleArray());
        Tensor t = p.transpose(0, 1);
        assertTrue(t.isPinned());
        assertArrayEquals(t.toDoubleArray(), t.to(CUDA).toDoubleArray(), "a strided view goes the pageable way");
        assertArrayEquals(new double[0], p.narrow(0, 0, 0).to(CUDA).toDoubleArray());
    }

    @Test
    void pinnedTensorsAreOrdinaryCpuTensorsToOperations() {
        Tensor p = Tensor.of(1f, 2f, 3f).pinMemory();
        assertArrayEquals(new double[] {2, 4, 6}, p.add(p).toDoubleArray());
        Tensor g = Tensor.of(1.0, 2.0).requiresGrad(true);
        Tensor pg = g.pinMemory();
        pg.to(CUDA).mul(3.0).sum().backward();
        assertArrayEquals(new double[] {3, 3}, g.grad().toDoubleArray(), "gradients flow through pinMemory and the copy");
    }

    @Test
    void inPlaceChangesAfterPinningReachTheDevice() {
        Tensor p = Tensor.of(1f, 2f, 3f, 4f).pinMemory();
        Tensor first = p.to(CUDA);
        p.mul_(Tensor.scalar(10));
        Tensor second = p.to(CUDA);
        assertTrue(p.isPinned());
        assertArrayEquals(new double[] {1, 2, 3, 4}, first.toDoubleArray());
        assertArrayEquals(new double[] {10, 20, 30, 40}, second.toDoubleArray());
    }

    @Test
    void onlyCpuTensorsCanBePinned() {
        assertTrue(Kiln.isPinnedMemoryAvailable());
        assertEquals(null, Kiln.pinnedMemoryUnavailableReason());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.of(1f).to(CUDA).pinMemory());
        assertTrue(e.getMessage().startsWith("pinMemory: only CPU tensors can be pinned, got a tensor on cuda:0"), e.getMessage());
    }

    @Test
    void theHostAllocatorReusesBlocks() {
        Tensor warm = Tensor.zeros(1000).pinMemory();
        warm.close();
        PinnedMemoryStats before = Cuda.pinnedMemoryStats();
        for (int i = 0; i < 20; i++) {
            Tensor p = Tensor.full(new long[] {1000}, (double) i).pinMemory();
            Tensor d = p.to(CUDA);
            p.close();
            assertEquals(i, d.toDoubleArray()[999]);
        }
        PinnedMemoryStats after = Cuda.pinnedMemoryStats();
        assertEquals(before.hostAllocs(), after.hostAllocs(), "no cuMemHostAlloc after the first block: " + after);
        assertEquals(20, after.cacheHits() - before.cacheHits(), after.toString());
        assertEquals(4096, PinnedHostAllocator.roundUp(4000));
        assertEquals(512, PinnedHostAllocator.roundUp(1));
        assertEquals(1 << 20, PinnedHostAllocator.roundUp(1 << 20));
    }

    @Test
    void pinnedMemoryReturnsWhenTheTensorIsCollected() {
        Cuda.emptyPinnedCache();
        long allocated = Cuda.pinnedMemoryStats().allocated();
        for (int i = 0; i < 8; i++) {
            Tensor.zeros(64 << 10).pinMemory().to(CUDA); // never closed
        }
        long live = Cuda.pinnedMemoryStats().allocated();
        for (int i = 0; i < 20 && Cuda.pinnedMemoryStats().allocated() > allocated; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        PinnedMemoryStats s = Cuda.pinnedMemoryStats();
        assertTrue(live > allocated, s.toString());
        assertTrue(s.allocated() <= allocated, "the cleaners returned the blocks: " + s);
        Cuda.emptyPinnedCache();
        PinnedMemoryStats emptied = Cuda.pinnedMemoryStats();
        assertEquals(emptied.allocated(), emptied.reserved() - emptied.pending(), "emptyPinnedCache keeps only live blocks: " + emptied);
    }

    private static Module model() {
        return new Sequential(new Linear(6, 16), new ReLU(), new Linear(16, 2));
    }

    /** Loss of every step of two epochs of SGD on cuda:0 from one seed. */
    private static List<Double> train(boolean pin, int workers, List<Boolean> pinnedSeen) {
        Kiln.manualSeed(5);
        Tensor x = Tensor.randn(40, 6);
        Tensor y = x.narrow(1, 0, 2).mul(1.5).sub(x.narrow(1, 2, 2));
        Module m = model();
        m.to(CUDA);
        Optimizer opt = new SGD(m.parameters(), 0.05);
        MSELoss criterion = new MSELoss();
        DataLoader<List<Tensor>> loader = DataLoader.builder(new TensorDataset(x, y)).batchSize(8).shuffle(true)
                .numWorkers(workers).pinMemory(pin).build();
        assertEquals(pin, loader.pinsBatches());
        List<Double> losses = new ArrayList<>();
        for (int epoch = 0; epoch < 2; epoch++) {
            for (List<Tensor> batch : loader) {
                pinnedSeen.add(batch.get(0).isPinned() && batch.get(1).isPinned());
                Tensor loss = criterion.forward(m.forward(batch.get(0).to(CUDA)), batch.get(1).to(CUDA));
                opt.zeroGrad();
                loss.backward();
                opt.step();
                losses.add(loss.item());
            }
        }
        return losses;
    }

    @Test
    void aDataLoaderWithPinMemoryGivesPinnedBatchesThatTrainAsUnpinnedOnes() {
        List<Boolean> unpinnedSeen = new ArrayList<>();
        List<Double> expected = train(false, 0, unpinnedSeen);
        assertFalse(unpinnedSeen.contains(true));
        for (int workers : new int[] {0, 2}) {
            List<Boolean> pinnedSeen = new ArrayList<>();
            List<Double> actual = train(true, workers, pinnedSeen);
            assertFalse(pinnedSeen.contains(false), "every batch pinned with " + workers + " workers");
            assertEquals(expected, actual, "the same losses, bit for bit, with " + workers + " workers");
        }
        assertTrue(expected.get(expected.size() - 1) < expected.get(0), "the model learns: " + expected);
    }
}
