package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The JNI binding, as the CUDA backend will drive it. */
class EmulatedDeviceTest {

    private EmulatedDevice dev;

    @BeforeEach
    void open() {
        Assumptions.assumeTrue(EmulatedDevice.isAvailable(), () -> "skipped: " + EmulatedDevice.unavailableReason());
        dev = EmulatedDevice.create(64L << 20);
    }

    @AfterEach
    void close() {
        if (dev != null) {
            dev.close();
        }
    }

    @Test
    void copiesRoundTripEveryArrayType() {
        long p = dev.malloc(1024);
        float[] f = {1.5f, -2f, Float.NaN};
        dev.copyToDevice(p, f, 0, 3);
        float[] fb = new float[5];
        dev.copyToHost(p, fb, 1, 3);
        assertArrayEquals(new float[] {0, 1.5f, -2f, Float.NaN, 0}, fb);
        double[] d = {Math.PI, -0.0};
        dev.copyToDevice(p, d, 0, 2);
        double[] db = new double[2];
        dev.copyToHost(p, db, 0, 2);
        assertArrayEquals(d, db);
        long[] l = {Long.MIN_VALUE, 42};
        dev.copyToDevice(p, l, 0, 2);
        long[] lb = new long[2];
        dev.copyToHost(p, lb, 0, 2);
        assertArrayEquals(l, lb);
        short[] s = {(short) 0x3c00, (short) 0xbf80};
        dev.copyToDevice(p, s, 0, 2);
        byte[] bytes = new byte[4];
        dev.copyToHost(p, bytes, 0, 4);
        assertArrayEquals(new byte[] {0x00, 0x3c, (byte) 0x80, (byte) 0xbf}, bytes, "little-endian device memory");
        int[] i = {7, -7};
        dev.copyToDevice(p + 16, i, 0, 2);
        long q = dev.malloc(8);
        dev.copyDeviceToDevice(q, p + 16, 8);
        int[] ib = new int[2];
        dev.copyToHost(q, ib, 0, 2);
        assertArrayEquals(i, ib);
        dev.memset(p, 0xAB, 4);
        dev.copyToHost(p, bytes, 0, 4);
        assertArrayEquals(new byte[] {(byte) 0xAB, (byte) 0xAB, (byte) 0xAB, (byte) 0xAB}, bytes);
        dev.memset(p, Float.floatToRawIntBits(2.5f), 4, 2);
        dev.copyToHost(p, fb, 0, 2);
        assertEquals(2.5f, fb[1]);
        assertThrows(IndexOutOfBoundsException.class, () -> dev.copyToHost(p, fb, 4, 2));
        dev.free(p);
        dev.free(q);
    }

    @Test
    void byteBuffersHeapAndDirect() {
        long p = dev.malloc(64);
        ByteBuffer direct = ByteBuffer.allocateDirect(24).order(ByteOrder.LITTLE_ENDIAN);
        direct.putLong(0, 7).putLong(8, -1).putLong(16, 42);
        direct.position(8);
        dev.copyToDevice(p, direct);
        assertEquals(8, direct.position(), "the position does not move");
        long[] back = new long[2];
        dev.copyToHost(p, back, 0, 2);
        assertArrayEquals(new long[] {-1, 42}, back);
        ByteBuffer heap = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        dev.copyToHost(p, heap);
        assertEquals(-1, heap.getLong(0));
        ByteBuffer out = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN);
        dev.copyToHost(p, out);
        assertEquals(42, out.getLong(8));
        ByteBuffer tooBig = ByteBuffer.allocateDirect(128);
        EmulatorException e = assertThrows(EmulatorException.class, () -> dev.copyToHost(p, tooBig));
        assertEquals(EmulatorException.ILLEGAL_ADDRESS, e.code());
        dev.free(p);
    }

    @Test
    void freshMemoryIsPoisonedAndStatsAreTracked() {
        long p = dev.malloc(400);
        float[] f = new float[100];
        dev.copyToHost(p, f, 0, 100);
        assertTrue(Float.isNaN(f[0]) && Float.isNaN(f[99]), "unwritten memory reads as NaN");
        assertEquals(0, p % 256, "256-byte alignment");
        long q = dev.malloc(100);
        assertEquals(500, dev.allocatedBytes());
        assertEquals(2, dev.liveAllocations());
        dev.free(p);
        assertEquals(100, dev.allocatedBytes());
        assertEquals(500, dev.peakAllocatedBytes());
        dev.resetPeak();
        assertEquals(100, dev.peakAllocatedBytes());
        assertEquals(2, dev.totalAllocations());
        dev.free(q);
    }

    @Test
    void outOfMemoryCarriesTheNumbers() {
        dev.setCapacity(1000);
        long p = dev.malloc(800);
        EmulatorException e = assertThrows(EmulatorException.class, () -> dev.malloc(300));
        assertTrue(e.isOutOfMemory());
        assertEquals(EmulatorException.OUT_OF_MEMORY, e.code());
        assertTrue(e.getMessage().contains("requested 300") && e.getMessage().contains("800 allocated")
                && e.getMessage().contains("capacity 1000"), e.getMessage());
        dev.free(p);
        dev.free(dev.malloc(300));
        assertEquals(1000, dev.capacity());
    }

    @Test
    void misuseOfMemoryIsReported() {
        long p = dev.malloc(64);
        dev.free(p);
        EmulatorException doubleFree = assertThrows(EmulatorException.class, () -> dev.free(p));
        assertTrue(doubleFree.getMessage().contains("double free"), doubleFree.getMessage());
        EmulatorException stale = assertThrows(EmulatorException.class,
                () -> dev.copyToDevice(p, new float[] {1}, 0, 1));
        assertEquals(EmulatorException.ILLEGAL_ADDRESS, stale.code());
        assertTrue(stale.getMessage().contains("was freed"), stale.getMessage());
        long q = dev.malloc(16);
        EmulatorException overrun = assertThrows(EmulatorException.class,
                () -> dev.copyToDevice(q, new float[5], 0, 5));
        assertTrue(overrun.getMessage().contains("overruns"), overrun.getMessage());
        dev.free(q);
        dev.close();
        assertThrows(IllegalStateException.class, () -> dev.malloc(4));
    }

    @Test
    void broadcastAddThroughTheCatalog() {
        // out[i][j] = a[i][j] + b[j] for a [3, 4] transposed view and a broadcast row
        float[] aStore = new float[12];
        for (int k = 0; k < 12; k++) {
            aStore[k] = k;
        }
        float[] b = {100, 200, 300, 400};
        long pa = dev.malloc(48);
        long pb = dev.malloc(16);
        long po = dev.malloc(48);
        dev.copyToDevice(pa, aStore, 0, 12);
        dev.copyToDevice(pb, b, 0, 4);
        KernelGeometry g = KernelGeometry.of(new long[] {3, 4}, new long[] {4, 1}, new long[] {1, 3}, new long[] {0, 1});
        String name = KernelCatalog.binary("add", KernelDType.F32);
        KernelArgs args = KernelArgs.create().pointer(po).pointer(pa).pointer(pb).geometry(g);
        assertEquals(KernelCatalog.standard().require(name).paramKinds(), args.kinds());
        dev.launch(name, Dim3.of(2), Dim3.of(32), 0, args);
        float[] out = new float[12];
        dev.copyToHost(po, out, 0, 12);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(aStore[i + 3 * j] + b[j], out[i * 4 + j], "out[" + i + "][" + j + "]");
            }
        }
        // argmax over the last dim, through the reduction geometry
        long pi = dev.malloc(24);
        KernelGeometry outer = KernelGeometry.of(new long[] {3}, new long[] {1}, new long[] {4});
        KernelGeometry inner = KernelGeometry.of(new long[] {4}, new long[] {0}, new long[] {1});
        dev.launch(KernelCatalog.reduce("argmax", KernelDType.F32), Dim3.of(3), Dim3.of(64), 0,
                KernelArgs.create().pointer(pi).pointer(po).geometry(outer).geometry(inner).f64(0));
        long[] idx = new long[3];
        dev.copyToHost(pi, idx, 0, 3);
        assertArrayEquals(new long[] {3, 3, 3}, idx);
    }

    @Test
    void launchErrorsAreExceptionsWithCodes() {
        long p = dev.malloc(64);
        EmulatorException kinds = assertThrows(EmulatorException.class, () -> dev.launch("kiln_unary_exp_f32",
                Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().pointer(p).pointer(p).f64(0)));
        assertEquals(EmulatorException.INVALID_VALUE, kinds.code());
        assertTrue(kinds.getMessage().contains("takes parameters (ppGdd)"), kinds.getMessage());
        EmulatorException missing = assertThrows(EmulatorException.class,
                () -> dev.launch("kiln_nope", Dim3.of(1), Dim3.of(1), 0, KernelArgs.create()));
        assertEquals(EmulatorException.NOT_FOUND, missing.code());
        KernelGeometry g = KernelGeometry.contiguous(new long[] {4}, 2);
        EmulatorException badBlock = assertThrows(EmulatorException.class, () -> dev.launch("kiln_unary_exp_f32",
                Dim3.of(1), Dim3.of(2048), 0, KernelArgs.create().pointer(p).pointer(p).geometry(g).f64(0).f64(0)));
        assertEquals(EmulatorException.INVALID_VALUE, badBlock.code());
        EmulatorException stray = assertThrows(EmulatorException.class, () -> dev.launch("kiln_unary_exp_f32",
                Dim3.of(1), Dim3.of(32), 0, KernelArgs.create().pointer(p).pointer(12345).geometry(g).f64(0).f64(0)));
        assertEquals(EmulatorException.ILLEGAL_ADDRESS, stray.code());
        // a block that is not a whole number of warps breaks the reductions' shuffles
        KernelGeometry outer = KernelGeometry.of(new long[] {1}, new long[] {1}, new long[] {0});
        KernelGeometry inner = KernelGeometry.of(new long[] {4}, new long[] {0}, new long[] {1});
        EmulatorException partialWarp = assertThrows(EmulatorException.class, () -> dev.launch(
                "kiln_reduce_sum_f32", Dim3.of(1), Dim3.of(40), 0,
                KernelArgs.create().pointer(p).pointer(p).geometry(outer).geometry(inner).f64(0)));
        assertEquals(EmulatorException.LAUNCH_FAILED, partialWarp.code());
        assertTrue(partialWarp.getMessage().contains("__shfl_down_sync"), partialWarp.getMessage());
    }

    @Test
    void gemmFollowsCublas() {
        Random r = new Random(1);
        int m = 5, n = 4, k = 3;
        float[] a = new float[m * k];   // column-major m x k
        float[] b = new float[n * k];   // column-major n x k, used transposed
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = r.nextFloat();
        }
        long pa = dev.malloc(4L * a.length);
        long pb = dev.malloc(4L * b.length);
        long pc = dev.malloc(4L * m * n);
        dev.copyToDevice(pa, a, 0, a.length);
        dev.copyToDevice(pb, b, 0, b.length);
        dev.sgemm(EmulatedDevice.OP_N, EmulatedDevice.OP_T, m, n, k, 2f, pa, m, pb, n, 0f, pc, m);
        float[] c = new float[m * n];
        dev.copyToHost(pc, c, 0, c.length);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float want = 0;
                for (int p = 0; p < k; p++) {
                    want += a[i + p * m] * b[j + p * n];
                }
                assertEquals(2 * want, c[i + j * m], 1e-5f);
            }
        }
        EmulatorException e = assertThrows(EmulatorException.class,
                () -> dev.sgemm(EmulatedDevice.OP_N, EmulatedDevice.OP_N, m, n, k, 1f, pa, m - 1, pb, k, 0f, pc, m));
        assertTrue(e.isBlasError());
        assertEquals(EmulatorException.BLAS_INVALID_VALUE, e.code());
    }

    @Test
    void scheduleAndRegistryAreVisible() {
        Schedule before = EmulatedDevice.schedule();
        long seed = EmulatedDevice.scheduleSeed();
        try {
            EmulatedDevice.setSchedule(Schedule.RANDOM, 5);
            assertEquals(Schedule.RANDOM, EmulatedDevice.schedule());
            assertEquals(5, EmulatedDevice.scheduleSeed());
        } finally {
            EmulatedDevice.setSchedule(before, seed);
        }
        assertEquals(KernelCatalog.standard().size(), EmulatedDevice.registeredKernels().size());
        // the reductions alone declare more than 32 floats of shared memory
        assertTrue(EmulatedDevice.sharedMemoryPoisonBytes() > 128, "shared memory poisoning is off");
        assertTrue(EmulatedDevice.workers() >= 1);
    }
}
