package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device memory on an emulated device with a small capacity: training without any close or
 * scope stays within it (the allocator's GC path frees what unreachable tensors held), an
 * out-of-memory recovers through the cache flush and the GC, and one that cannot recover says why.
 */
class EmulatedMemoryTest {

    private static final long MB = 1 << 20;
    private static final Device D = Device.cuda(1);

    @BeforeEach
    void smallDevice() {
        TestCuda.assumeEmulated();
        collectAll();
        Cuda.emptyCache(D);
        TestCuda.emulator(D).setCapacity(8 * MB);
        Cuda.resetPeakMemoryStats(D);
    }

    @AfterEach
    void restore() {
        if (CudaRuntime.get().driver() instanceof EmulatedDriver) {
            collectAll();
            Cuda.emptyCache(D);
            TestCuda.emulator(D).setCapacity(4L << 30);
        }
    }

    /** Lets the cleaners of every unreachable tensor run: collects until nothing more comes back. */
    private static void collectAll() {
        long previous = -1;
        for (int i = 0; i < 10; i++) {
            CachingAllocator.collectGarbage();
            long now = Cuda.memoryAllocated(D);
            if (now == previous) {
                return;
            }
            previous = now;
        }
    }

    @Test
    void trainingWithoutClosingAnythingStaysWithinTheDevice() {
        Kiln.manualSeed(7);
        int in = 16;
        int hidden = 32;
        Tensor x = Tensor.randn(128, in).to(D);
        Tensor y = x.narrow(1, 0, 1).mul(2.0).sub(x.narrow(1, 1, 1)).add(0.5);
        Tensor w1 = Tensor.randn(in, hidden).mul(0.25).to(D).requiresGrad(true);
        Tensor b1 = Tensor.zeros(hidden).to(D).requiresGrad(true);
        Tensor w2 = Tensor.randn(hidden, 1).mul(0.25).to(D).requiresGrad(true);
        Tensor b2 = Tensor.zeros(1).to(D).requiresGrad(true);
        List<Tensor> params = List.of(w1, b1, w2, b2);
        double first = 0;
        double last = 0;
        int steps = 2000;
        for (int step = 0; step < steps; step++) {
            Tensor loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).sub(y).square().mean();
            loss.backward();
            Kiln.noGrad(() -> {
                for (Tensor p : params) {
                    p.sub_(p.grad().mul(0.05));
                    p.setGrad(null);
                }
            });
            if (step == 0) {
                first = loss.item();
            }
            if (step == steps - 1) {
                last = loss.item();
            }
        }
        CudaMemoryStats s = Cuda.memoryStats(D);
        System.out.println("[memory] " + steps + " MLP steps on an 8 MiB emulated device, nothing closed: " + s);
        assertTrue(last < first / 10, "the model learns: loss " + first + " -> " + last);
        assertTrue(s.peakReserved() <= 8 * MB, "never more than the device: " + s);
        assertEquals(0, s.outOfMemory(), s.toString());
        assertTrue(s.collections() > 0, "the GC path ran: " + s);
        collectAll();
        // What is left live is the data, the parameters and their last results: a few KiB, not the history.
        assertTrue(Cuda.memoryAllocated(D) < 256 * 1024, "memory after the loop: " + Cuda.memoryStats(D));
    }

    @Test
    void outOfMemoryRecoversByFlushingTheCacheAndCollectingGarbage() {
        long before = Cuda.memoryStats(D).collections();
        for (int i = 0; i < 2; i++) {
            // 3 MiB each, dropped without close: only their cleaners can free them.
            Tensor.empty(new long[] {3 * MB / 4}, DType.FLOAT32, D).fill_(1.0);
        }
        Tensor big = Tensor.zeros(new long[] {5 * MB / 4}, DType.FLOAT32, D);
        assertEquals(0.0, big.sum().item());
        assertTrue(Cuda.memoryStats(D).collections() > before, Cuda.memoryStats(D).toString());
        big.close();
    }

    @Test
    void outOfMemoryThatCannotRecoverReportsTheNumbers() {
        try (Tensor held = Tensor.zeros(new long[] {6 * MB / 4}, DType.FLOAT32, D)) {
            CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                    () -> Tensor.zeros(new long[] {4 * MB / 4}, DType.FLOAT32, D));
            assertEquals(4 * MB, e.requested());
            assertEquals(6 * MB, e.allocated());
            assertEquals(6 * MB, e.reserved());
            assertEquals(8 * MB, e.total());
            assertEquals(2 * MB, e.free());
            String m = e.getMessage();
            assertTrue(m.contains("cuda:1") && m.contains("tried to allocate 4.00 MiB") && m.contains("live tensors hold 6.00 MiB")
                    && m.contains("reserves 6.00 MiB") && m.contains("has 2.00 MiB") && m.contains("free of 8.00 MiB"), m);
            assertEquals(1.0, held.narrow(0, 0, 4).add(1.0).max().item(), "the device still works");
        }
    }

    @Test
    void closingReturnsBlocksAtOnceAndEmptyCacheReturnsSegments() {
        // Relative checks: cleaners of earlier tests' garbage may still free blocks meanwhile.
        Tensor t = Tensor.zeros(new long[] {1000}, DType.FLOAT32, D);
        long during = Cuda.memoryAllocated(D);
        assertTrue(during >= 4096, "4000 bytes round to 4096: " + Cuda.memoryStats(D));
        t.close();
        assertTrue(Cuda.memoryAllocated(D) <= during - 4096, "closing returned the block: " + Cuda.memoryStats(D));
        assertTrue(Cuda.memoryReserved(D) > 0, "the segment is cached");
        Cuda.emptyCache(D);
        assertEquals(TestCuda.emulator(D).allocatedBytes(), Cuda.memoryReserved(D),
                "what the allocator reserves is exactly what it holds on the device");
    }
}
