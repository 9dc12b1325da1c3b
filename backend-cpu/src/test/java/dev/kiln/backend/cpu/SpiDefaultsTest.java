package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Layout;
import dev.kiln.Tensor;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BinaryOp;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.ReduceOp;
import dev.kiln.spi.Storage;
import dev.kiln.spi.UnaryOp;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The SPI's composite default methods (which a new backend inherits) agree with the CPU backend's
 * direct kernels. The wrapper below forwards only the abstract primitives.
 */
class SpiDefaultsTest {

    /** Every primitive from the CPU backend; every default method left as the SPI defines it. */
    private static final class PrimitivesOnly implements Backend {
        private final Backend cpu = new CpuBackend();

        public Device device() {
            return cpu.device();
        }

        public Storage allocate(DType dtype, long numel) {
            return cpu.allocate(dtype, numel);
        }

        public Storage fromHost(Object array, DType dtype) {
            return cpu.fromHost(array, dtype);
        }

        public Storage fromHostBytes(ByteBuffer b, DType dtype, long numel) {
            return cpu.fromHostBytes(b, dtype, numel);
        }

        public void toHost(Storage src, Layout l, Object array) {
            cpu.toHost(src, l, array);
        }

        public void toHostBytes(Storage src, Layout l, ByteBuffer b) {
            cpu.toHostBytes(src, l, b);
        }

        public void copy(Storage s, Layout sl, Storage d, Layout dl) {
            cpu.copy(s, sl, d, dl);
        }

        public void fill(Storage d, Layout l, double v) {
            cpu.fill(d, l, v);
        }

        public void unary(UnaryOp op, double p0, double p1, Storage s, Layout sl, Storage d, Layout dl) {
            cpu.unary(op, p0, p1, s, sl, d, dl);
        }

        public void binary(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
            cpu.binary(op, a, al, b, bl, d, dl);
        }

        public void where(Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
            cpu.where(c, cl, a, al, b, bl, d, dl);
        }

        public void reduce(ReduceOp op, Storage s, Layout sl, int[] dims, Storage d, Layout dl) {
            cpu.reduce(op, s, sl, dims, d, dl);
        }

        public void softmax(boolean log, int dim, Storage s, Layout sl, Storage d, Layout dl) {
            cpu.softmax(log, dim, s, sl, d, dl);
        }

        public void matmul(Storage a, Layout al, Storage b, Layout bl, Storage c, Layout cl) {
            cpu.matmul(a, al, b, bl, c, cl);
        }

        public void gather(int dim, Storage s, Layout sl, Storage i, Layout il, Storage d, Layout dl) {
            cpu.gather(dim, s, sl, i, il, d, dl);
        }

        public void scatter(int dim, boolean acc, Storage i, Layout il, Storage s, Layout sl, Storage d, Layout dl) {
            cpu.scatter(dim, acc, i, il, s, sl, d, dl);
        }

        public void indexSelect(int dim, Storage s, Layout sl, Storage i, Layout il, Storage d, Layout dl) {
            cpu.indexSelect(dim, s, sl, i, il, d, dl);
        }

        public void indexAdd(int dim, Storage i, Layout il, Storage s, Layout sl, Storage d, Layout dl) {
            cpu.indexAdd(dim, i, il, s, sl, d, dl);
        }

        public void uniform(Storage d, Layout l, long seed, long offset, double lo, double hi) {
            cpu.uniform(d, l, seed, offset, lo, hi);
        }

        public void normal(Storage d, Layout l, long seed, long offset, double mean, double std) {
            cpu.normal(d, l, seed, offset, mean, std);
        }

        public void im2col(Storage s, Layout sl, ConvGeometry g, double pad, Storage d, Layout dl) {
            cpu.im2col(s, sl, g, pad, d, dl);
        }

        public void col2im(Storage s, Layout sl, ConvGeometry g, Storage d, Layout dl) {
            cpu.col2im(s, sl, g, d, dl);
        }
    }

    @Test
    void maxPoolDefaultsMatchTheDirectKernels() {
        Kiln.manualSeed(5);
        Backend direct = new CpuBackend();
        Backend composite = new PrimitivesOnly();
        Tensor x = Tensor.randn(2, 3, 7, 6).transpose(2, 3).contiguous().transpose(2, 3);
        ConvGeometry g = new ConvGeometry(7, 6, 3, 2, 2, 2, 1, 1, 1, 1);
        long[] outShape = {2, 3, g.outH(), g.outW()};
        float[][] values = new float[2][];
        long[][] argmax = new long[2][];
        float[][] grads = new float[2][];
        Tensor upstream = Tensor.randn(outShape);
        Backend[] backends = {direct, composite};
        for (int i = 0; i < 2; i++) {
            Backend b = backends[i];
            Storage v = b.allocate(DType.FLOAT32, Layout.contiguous(outShape).numel());
            Storage a = b.allocate(DType.INT64, Layout.contiguous(outShape).numel());
            b.maxPool2d(x.storage(), x.layout(), g, v, Layout.contiguous(outShape), a, Layout.contiguous(outShape));
            values[i] = new float[(int) Layout.contiguous(outShape).numel()];
            argmax[i] = new long[values[i].length];
            b.toHost(v, Layout.contiguous(outShape), values[i]);
            b.toHost(a, Layout.contiguous(outShape), argmax[i]);
            Storage gin = b.allocate(DType.FLOAT32, x.numel());
            b.maxPool2dBackward(upstream.storage(), upstream.layout(), a, Layout.contiguous(outShape), g, gin,
                    Layout.contiguous(x.shape()));
            grads[i] = new float[(int) x.numel()];
            b.toHost(gin, Layout.contiguous(x.shape()), grads[i]);
        }
        assertArrayEquals(values[0], values[1]);
        assertArrayEquals(argmax[0], argmax[1]);
        assertArrayEquals(grads[0], grads[1], 1e-6f);
    }

    /**
     * Windows full of ties, signed zeros, NaN and minus infinity: the direct kernel's branch-free
     * 2 x 2 path and its general one must pick what the composite picks (the first maximum, else the
     * first NaN) and keep that element's bits, the sign of zero included; the gradients then agree.
     */
    @Test
    void maxPoolPicksTheFirstMaximumOrNaNBitForBit() {
        float[] palette = {-1f, 0f, -0f, 2f, Float.NaN, Float.NEGATIVE_INFINITY, 2f, -0f};
        java.util.Random random = new java.util.Random(8);
        float[] data = new float[2 * 3 * 9 * 8];
        for (int i = 0; i < data.length; i++) {
            data[i] = palette[random.nextInt(random.nextBoolean() ? palette.length : 3)];
        }
        Tensor x = Tensor.fromArray(data, 2, 3, 9, 8);
        ConvGeometry[] geometries = {
            new ConvGeometry(9, 8, 2, 2, 2, 2, 0, 0, 1, 1),
            new ConvGeometry(9, 8, 3, 3, 1, 2, 1, 1, 1, 1),
            new ConvGeometry(9, 8, 2, 3, 2, 1, 0, 1, 2, 1),
            new ConvGeometry(9, 8, 2, 2, 1, 1, 0, 0, 1, 1),
            new ConvGeometry(9, 8, 2, 2, 2, 2, 1, 1, 1, 1),
        };
        Backend[] backends = {new CpuBackend(), new PrimitivesOnly()};
        for (ConvGeometry g : geometries) {
            long[] outShape = {2, 3, g.outH(), g.outW()};
            int n = (int) Layout.contiguous(outShape).numel();
            int[][] bits = new int[2][n];
            long[][] argmax = new long[2][n];
            float[][] grads = new float[2][(int) x.numel()];
            Tensor upstream = Tensor.randn(outShape);
            for (int i = 0; i < 2; i++) {
                Storage v = backends[i].allocate(DType.FLOAT32, n);
                Storage a = backends[i].allocate(DType.INT64, n);
                backends[i].maxPool2d(x.storage(), x.layout(), g, v, Layout.contiguous(outShape), a, Layout.contiguous(outShape));
                float[] values = new float[n];
                backends[i].toHost(v, Layout.contiguous(outShape), values);
                backends[i].toHost(a, Layout.contiguous(outShape), argmax[i]);
                for (int j = 0; j < n; j++) {
                    bits[i][j] = Float.floatToIntBits(values[j]); // one NaN pattern, zeros keep their sign
                }
                Storage gin = backends[i].allocate(DType.FLOAT32, x.numel());
                backends[i].maxPool2dBackward(upstream.storage(), upstream.layout(), a, Layout.contiguous(outShape), g, gin,
                        Layout.contiguous(x.shape()));
                backends[i].toHost(gin, Layout.contiguous(x.shape()), grads[i]);
            }
            assertArrayEquals(argmax[1], argmax[0], "argmax, " + g);
            assertArrayEquals(bits[1], bits[0], "value bits, " + g);
            assertArrayEquals(grads[1], grads[0], 1e-6f, "gradient, " + g);
        }
    }

    /**
     * The composite convolution defaults against a direct seven-loop reference in double precision,
     * with stride, padding, dilation, groups and non-contiguous operands.
     */
    @Test
    void convolutionDefaultsMatchADirectReference() {
        Kiln.manualSeed(6);
        int[][] configs = {
            // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups
            {2, 3, 7, 6, 4, 3, 2, 1, 1, 0, 0, 1, 1, 1},
            {2, 4, 9, 8, 6, 3, 3, 2, 1, 1, 2, 2, 1, 2},
            {1, 6, 5, 7, 3, 2, 3, 1, 2, 1, 1, 1, 2, 3},
        };
        for (int[] k : configs) {
            ConvReference.check(new PrimitivesOnly(), k, true);
        }
    }
}
