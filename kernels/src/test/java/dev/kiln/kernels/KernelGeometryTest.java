package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class KernelGeometryTest {

    @Test
    void bytesFollowTheStructLayout() {
        KernelGeometry g = KernelGeometry.of(new long[] {2, 3}, new long[] {3, 1}, new long[] {0, -1});
        byte[] b = g.toBytes();
        assertEquals(336, b.length);
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2, le.getInt(0));
        assertEquals(0, le.getInt(4));
        assertEquals(6, le.getLong(8));
        assertEquals(2, le.getLong(16));
        assertEquals(3, le.getLong(24));
        assertEquals(0, le.getLong(32), "unused dims are zero");
        assertEquals(3, le.getLong(80));
        assertEquals(1, le.getLong(88));
        assertEquals(0, le.getLong(80 + 64));
        assertEquals(-1, le.getLong(80 + 64 + 8));
        assertEquals(0, le.getLong(80 + 128), "unused operands are zero");
    }

    @Test
    void coalescingMergesContiguousDimsAndDropsOnes() {
        KernelGeometry g = KernelGeometry.contiguous(new long[] {2, 1, 3, 4}, 2).coalesced();
        assertArrayEquals(new long[] {24}, g.shape());
        assertArrayEquals(new long[] {1}, g.strides(1));

        // a transposed operand blocks the merge; a broadcast dim keeps its 0 stride
        KernelGeometry t = KernelGeometry.of(new long[] {4, 5, 6}, new long[] {30, 6, 1}, new long[] {1, 0, 4})
                .coalesced();
        assertArrayEquals(new long[] {4, 5, 6}, t.shape());
        KernelGeometry m = KernelGeometry.of(new long[] {4, 5, 6}, new long[] {30, 6, 1}, new long[] {0, 6, 1})
                .coalesced();
        assertArrayEquals(new long[] {4, 30}, m.shape());
        assertArrayEquals(new long[] {0, 1}, m.strides(1));
        assertArrayEquals(new long[] {30, 1}, m.strides(0));

        KernelGeometry empty = KernelGeometry.contiguous(new long[] {3, 0, 2}, 1).coalesced();
        assertEquals(0, empty.numel());
        KernelGeometry scalar = KernelGeometry.contiguous(new long[] {}, 2).coalesced();
        assertEquals(0, scalar.ndim());
        assertEquals(1, scalar.numel());
    }

    @Test
    void coalescedIterationVisitsTheSameOffsets() {
        KernelGeometry g = KernelGeometry.of(new long[] {3, 1, 4, 5}, new long[] {20, 99, 5, 1}, new long[] {0, 7, 10, 2});
        KernelGeometry c = g.coalesced();
        assertTrue(c.ndim() < g.ndim());
        for (long i = 0; i < g.numel(); i++) {
            for (int k = 0; k < 2; k++) {
                assertEquals(offset(g, i, k), offset(c, i, k), "element " + i + " operand " + k);
            }
        }
    }

    private static long offset(KernelGeometry g, long i, int k) {
        long[] shape = g.shape();
        long[] s = g.strides(k);
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            off += (i % shape[d]) * s[d];
            i /= shape[d];
        }
        return off;
    }

    @Test
    void moreThanEightDimsAreCoalescedBeforeTheLimitApplies() {
        // rank 10, contiguous: one dim once coalesced, so it packs
        long[] shape = {2, 1, 3, 2, 2, 1, 2, 3, 2, 2};
        KernelGeometry c = KernelGeometry.contiguous(shape, 2).coalesced();
        assertArrayEquals(new long[] {576}, c.shape());
        assertEquals(KernelGeometry.BYTES, c.toBytes().length);
        // ten dims that no operand lets merge: rejected when packed, with the shape and the reason
        long[] ten = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
        long[] reversed = new long[10];
        for (int d = 0; d < 10; d++) {
            reversed[d] = 1L << d;  // a fully transposed operand
        }
        KernelGeometry stuck = KernelGeometry.of(ten, KernelGeometry.contiguousStrides(ten), reversed).coalesced();
        assertEquals(10, stuck.ndim());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, stuck::toBytes);
        assertTrue(e.getMessage().contains("still has 10 dims after") && e.getMessage().contains("at most 8"), e.getMessage());
        IllegalArgumentException raw = assertThrows(IllegalArgumentException.class,
                () -> KernelGeometry.contiguous(new long[9], 1).toBytes());
        assertTrue(raw.getMessage().contains("has 9 dims"), raw.getMessage());
    }

    @Test
    void invalidGeometriesAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> KernelGeometry.of(new long[] {2, 2}, new long[] {2, 1}, new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> KernelGeometry.of(new long[] {2}));
        assertThrows(IllegalArgumentException.class, () -> KernelGeometry.contiguous(new long[] {-1}, 1));
        assertThrows(IllegalArgumentException.class, () -> KernelGeometry.contiguous(new long[] {2}, 5));
    }

    @Test
    void argsPackEveryValueAtEightByteSlots() {
        KernelArgs a = KernelArgs.create().pointer(0x1000).i32(-2).f32(1.5f).f64(2.0).i64(7)
                .geometry(KernelGeometry.contiguous(new long[] {5}, 1));
        assertEquals("pifdlG", a.kinds());
        byte[] p = a.packed();
        assertEquals(5 * 8 + 336, p.length);
        ByteBuffer le = ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x1000, le.getLong(0));
        assertEquals(-2, le.getInt(8));
        assertEquals(1.5f, le.getFloat(16));
        assertEquals(2.0, le.getDouble(24));
        assertEquals(7, le.getLong(32));
        assertEquals(1, le.getInt(40));
        assertEquals(4, a.valueBytes(1).length);
        assertEquals(336, a.valueBytes(5).length);
    }
}
