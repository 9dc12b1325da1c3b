package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradCheck;
import dev.kiln.conformance.TensorAssertions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's glue on {@code cuda:0}, beyond the conformance table: the cuBLAS mapping for
 * every operand layout, random numbers identical to the CPU's, dtypes without kernels of their
 * own, host copies of strided views, convolution helpers and index checks.
 */
abstract class KernelGlueTests {

    private static final Device D = Device.cuda(0);

    private static void assertSame(Tensor cpu, Tensor cuda) {
        assertEquals(D, cuda.device());
        TensorAssertions.assertMatches("cuda vs cpu", cpu, cuda);
    }

    @Test
    void matmulUsesEveryOperandLayout() {
        Kiln.manualSeed(1);
        Tensor a = Tensor.randn(3, 5, 7);
        Tensor b = Tensor.randn(3, 7, 4);
        Tensor at = Tensor.randn(3, 7, 5).transpose(1, 2);
        Tensor bt = Tensor.randn(3, 4, 7).transpose(1, 2);
        Tensor strided = Tensor.randn(3, 5, 14).slice(2, 0, 14, 2);
        Tensor[][] pairs = {{a, b}, {at, b}, {a, bt}, {at, bt}, {strided, b}, {a.narrow(0, 0, 1), b}, {a, b.narrow(0, 1, 1)},
                {a.select(0, 0), b}, {a.select(1, 2), b.select(0, 1)}, {a.narrow(2, 0, 1), b.narrow(1, 0, 1)}};
        for (Tensor[] p : pairs) {
            assertSame(p[0].matmul(p[1]), p[0].to(D).matmul(p[1].to(D)));
        }
        // A broadcast batch (stride 0) and an expanded operand that cuBLAS cannot read directly.
        Tensor m = Tensor.randn(7, 4);
        assertSame(a.matmul(m), a.to(D).matmul(m.to(D)));
        Tensor row = Tensor.randn(1, 7).expand(5, 7);
        assertSame(row.matmul(b), row.to(D).matmul(b.to(D)));
        // float64 and int64 (which runs in float64) and an empty inner size.
        assertSame(a.toDouble().matmul(b.toDouble()), a.toDouble().to(D).matmul(b.toDouble().to(D)));
        Tensor ia = Tensor.arange(12).reshape(3, 4);
        Tensor ib = Tensor.arange(8).reshape(4, 2);
        assertSame(ia.matmul(ib), ia.to(D).matmul(ib.to(D)));
        assertSame(Tensor.zeros(2, 0).matmul(Tensor.zeros(0, 3)), Tensor.zeros(2, 0).to(D).matmul(Tensor.zeros(0, 3).to(D)));
    }

    @Test
    void randomNumbersMatchTheCpuUnderTheSameSeed() {
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Kiln.manualSeed(42);
            Tensor cu = Tensor.empty(new long[] {37}, t, Device.cpu()).uniform_(-2, 3);
            Tensor cn = Tensor.empty(new long[] {5, 7}, t, Device.cpu()).normal_(1, 0.5);
            Tensor ct = Tensor.empty(new long[] {6, 4}, t, Device.cpu()).t().uniform_(0, 1);
            Kiln.manualSeed(42);
            Tensor du = Tensor.empty(new long[] {37}, t, D).uniform_(-2, 3);
            Tensor dn = Tensor.empty(new long[] {5, 7}, t, D).normal_(1, 0.5);
            Tensor dt = Tensor.empty(new long[] {6, 4}, t, D).t().uniform_(0, 1);
            assertArrayEquals(cu.toDoubleArray(), du.toDoubleArray(), t + " uniform");
            assertArrayEquals(cn.toDoubleArray(), dn.toDoubleArray(), t + " normal");
            assertArrayEquals(ct.toDoubleArray(), dt.toDoubleArray(), t + " uniform into a transposed view");
        }
    }

    @Test
    void halfPrecisionRunsThroughFloat32() {
        Tensor x = Tensor.of(new float[][] {{0.5f, -1.25f, 3f}, {2f, 0.125f, -0.75f}});
        for (DType h : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            Tensor c = x.to(h);
            Tensor d = x.to(D).to(h);
            assertSame(c, d);
            // The CPU stores but does not compute 16-bit floats: its reference computes in float32.
            Tensor f = c.toFloat();
            assertSame(f.add(f).exp().to(h), d.add(d).exp());
            assertSame(f.sum(1).to(h), d.sum(1));
            assertSame(f.matmul(f.t()).to(h), d.matmul(d.t()));
            assertSame(f.softmax(1).to(h), d.softmax(1));
            assertSame(Tensor.full(new long[] {2}, 1.1, h, Device.cpu()), Tensor.full(new long[] {2}, 1.1, h, D));
        }
    }

    @Test
    void boolAndInt64WithoutKernelsOfTheirOwn() {
        Tensor b = Tensor.of(true, false, true, true);
        Tensor db = b.to(D);
        assertSame(b.amax(), db.amax());
        assertSame(b.amin(), db.amin());
        assertSame(b.argmax(), db.argmax());
        Tensor i = Tensor.of(3L, -2L, 7L);
        assertSame(i.floor(), i.to(D).floor());
        assertSame(i.clamp(-1, 4), i.to(D).clamp(-1, 4));
        Tensor idx = Tensor.of(0L, 2L, 0L);
        assertSame(Tensor.zeros(new long[] {3}, DType.INT64).indexAdd(0, idx, i),
                Tensor.zeros(new long[] {3}, DType.INT64, D).indexAdd(0, idx.to(D), i.to(D)));
    }

    @Test
    void hostCopiesOfStridedViewsAndBytes() {
        Tensor x = Tensor.arange(24).reshape(2, 3, 4).toFloat();
        Tensor d = x.to(D);
        assertArrayEquals(x.permute(2, 0, 1).toFloatArray(), d.permute(2, 0, 1).toFloatArray());
        assertArrayEquals(x.select(2, 1).toFloatArray(), d.select(2, 1).toFloatArray());
        CudaBackend backend = CudaRuntime.get().backend(D);
        ByteBuffer bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).putFloat(0f)
                .putFloat(8f).flip();
        var s = backend.fromHostBytes(bytes, DType.FLOAT32, 4);
        float[] back = new float[4];
        backend.toHost(s, dev.kiln.Layout.contiguous(4), back);
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 8f}, back);
        ByteBuffer out = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        backend.toHostBytes(s, new dev.kiln.Layout(new long[] {2}, new long[] {2}, 1), out);
        assertEquals(8, out.position());
        assertEquals(-2f, out.getFloat(0));
        assertEquals(8f, out.getFloat(4));
        s.free();
    }

    @Test
    void convolutionHelpersMatchTheCpu() {
        Kiln.manualSeed(3);
        Tensor img = Tensor.randn(2, 3, 6, 5);
        dev.kiln.spi.ConvGeometry g = new dev.kiln.spi.ConvGeometry(6, 5, 3, 2, 2, 1, 1, 0, 1, 2);
        Tensor cols = img.im2col(g, 0.0);
        assertSame(cols, img.to(D).im2col(g, 0.0));
        assertSame(img.permute(0, 1, 3, 2).im2col(new dev.kiln.spi.ConvGeometry(5, 6, 2, 2, 1, 1, 0, 0, 1, 1), -1.0),
                img.to(D).permute(0, 1, 3, 2).im2col(new dev.kiln.spi.ConvGeometry(5, 6, 2, 2, 1, 1, 0, 0, 1, 1), -1.0));
        assertSame(cols.col2im(g), cols.to(D).col2im(g));
    }

    /** Geometries {h, w, kh, kw, sh, sw, ph, pw, dh, dw}: overlapping windows, padding, dilation, whole-padding windows. */
    private static final int[][] POOLS = {
            {7, 6, 3, 3, 1, 1, 1, 1, 1, 1},   // overlapping (stride below the kernel), padded
            {7, 6, 3, 3, 2, 2, 1, 1, 1, 1},   // overlapping with stride 2, as in ResNet's stem
            {9, 8, 3, 2, 2, 1, 1, 0, 2, 1},   // dilated rows, overlapping columns
            {6, 6, 2, 2, 2, 2, 0, 0, 1, 1},   // disjoint windows
            {5, 4, 2, 2, 1, 1, 2, 2, 1, 1},   // corner windows wholly in the padding: -inf, argmax 0
            {4, 5, 1, 1, 1, 1, 0, 0, 1, 1},
    };

    /** The SPI's max pooling of {@code x} on its own device: values and window argmax, written into {@code [N, C, oh, ow]} views. */
    private static Tensor[] maxPool(Tensor x, dev.kiln.spi.ConvGeometry g, boolean stridedOutputs) {
        dev.kiln.spi.Backend b = x.device().equals(Device.cpu()) ? cpuBackend() : CudaRuntime.get().backend(x.device());
        long[] shape = stridedOutputs ? new long[] {x.size(0), x.size(1), g.outW(), g.outH()}
                : new long[] {x.size(0), x.size(1), g.outH(), g.outW()};
        Tensor v = Tensor.empty(shape, x.dtype(), x.device());
        Tensor a = Tensor.empty(shape, DType.INT64, x.device());
        if (stridedOutputs) {
            v = v.transpose(2, 3);
            a = a.transpose(2, 3);
        }
        b.maxPool2d(x.storage(), x.layout(), g, v.storage(), v.layout(), a.storage(), a.layout());
        return new Tensor[] {v, a};
    }

    private static dev.kiln.spi.Backend cpuBackend() {
        return java.util.ServiceLoader.load(dev.kiln.spi.BackendProvider.class).stream().map(java.util.ServiceLoader.Provider::get)
                .filter(p -> p.deviceType() == Device.Type.CPU).findFirst().orElseThrow().backend(Device.cpu());
    }

    /** An input with ties, NaNs (two in one window: the first wins) and minus infinity. */
    private static Tensor poolInput(long n, long c, long h, long w, DType t) {
        java.util.Random r = new java.util.Random(h * 31 + w);
        double[] v = new double[(int) (n * c * h * w)];
        for (int i = 0; i < v.length; i++) {
            v[i] = i % 5 == 0 ? 1.25 : Math.round(r.nextGaussian() * 64) / 32.0;
        }
        v[11] = Double.NaN;
        v[13] = Double.NaN;
        v[40] = Double.NEGATIVE_INFINITY;
        return Tensor.of(v).reshape(n, c, h, w).to(t);
    }

    @Test
    void maxPoolingMatchesTheCpu() {
        for (int[] p : POOLS) {
            dev.kiln.spi.ConvGeometry g = new dev.kiln.spi.ConvGeometry(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                String what = "maxPool2d " + g + " " + t;
                Tensor x = poolInput(2, 3, p[0], p[1], t);
                Tensor[] cpu = maxPool(x, g, false);
                Tensor[] cuda = maxPool(x.to(D), g, false);
                assertSame(cpu[0], cuda[0]);
                TensorAssertions.assertMatches(what + " argmax", cpu[1], cuda[1]);
                // Overlapping windows route several gradients to one input element.
                Tensor gout = Tensor.randn(cpu[0].shape()).to(t);
                TensorAssertions.assertMatches(what + " backward", gout.maxPool2dBackward(cpu[1], g),
                        gout.to(D).maxPool2dBackward(cuda[1], g));
                // A strided input (a transposed view) and strided outputs go through copies.
                Tensor xt = x.transpose(2, 3).contiguous().transpose(2, 3);
                Tensor[] strided = maxPool(xt.to(D), g, true);
                assertSame(cpu[0], strided[0]);
                TensorAssertions.assertMatches(what + " strided argmax", cpu[1], strided[1]);
                TensorAssertions.assertMatches(what + " strided backward", gout.maxPool2dBackward(cpu[1], g),
                        gout.to(D).transpose(2, 3).contiguous().transpose(2, 3).maxPool2dBackward(strided[1], g));
            }
        }
        // float16 pools in float32 on the device; the maximum is one of the inputs, so exactly the CPU's.
        dev.kiln.spi.ConvGeometry g = new dev.kiln.spi.ConvGeometry(7, 6, 3, 3, 1, 1, 1, 1, 1, 1);
        Tensor h = poolInput(1, 2, 7, 6, DType.FLOAT16);
        assertSame(maxPool(h, g, false)[0], maxPool(h.to(D), g, false)[0]);
    }

    @Test
    void maxPoolingBackwardThroughAutogradMatchesTheCpuAndGradchecks() {
        Kiln.manualSeed(5);
        dev.kiln.spi.ConvGeometry g = new dev.kiln.spi.ConvGeometry(6, 5, 3, 3, 1, 2, 1, 1, 1, 1);
        Tensor x = Tensor.randn(2, 2, 6, 5).toDouble();
        Tensor w = Tensor.randn(2, 2, g.outH(), g.outW()).toDouble();
        Tensor xc = x.clone().requiresGrad(true);
        xc.maxPool2d(g).mul(w).sum().backward();
        Tensor xd = x.to(D).requiresGrad(true);
        xd.maxPool2d(g).mul(w.to(D)).sum().backward();
        assertSame(xc.grad(), xd.grad());
        assertTrue(GradCheck.gradcheck(in -> in[0].maxPool2d(g).mul(w.to(D)).sum(), x.to(D).requiresGrad(true)));
    }

    @Test
    void rankTenTensorsRunOnceTheirDimsCoalesce() {
        Kiln.manualSeed(8);
        Tensor a = Tensor.randn(2, 1, 3, 2, 2, 1, 2, 3, 2, 2);
        Tensor b = Tensor.randn(2, 1, 3, 2, 2, 1, 2, 3, 2, 2);
        Tensor da = a.to(D);
        Tensor db = b.to(D);
        assertSame(a.add(b).exp(), da.add(db).exp());
        assertSame(a.sum(9), da.sum(9));
        assertSame(a.sum(0, 4), da.sum(0, 4));
        // Broadcasting a size-1 dim and a transposed pair that still merges down to eight dims or fewer.
        Tensor row = Tensor.randn(1, 1, 1, 1, 1, 1, 1, 1, 1, 2);
        assertSame(a.mul(row), da.mul(row.to(D)));
        assertSame(a.transpose(8, 9).contiguous(), da.transpose(8, 9).contiguous());
        // Ten dims that no operand lets merge: refused with the shape and the limit, not a wrong answer.
        Tensor t = Tensor.randn(2, 2, 2, 2, 2, 2, 2, 2, 2, 2).to(D).permute(9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.add(1.0).cpu());
        assertTrue(e.getMessage().contains("at most 8"), e.getMessage());
    }

    @Test
    void badIndicesAreReportedLikeTheCpuDoes() {
        Tensor x = Tensor.zeros(new long[] {2, 3}, DType.FLOAT32, D);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> x.indexSelect(1, Tensor.of(0L, -1L).to(D)));
        assertTrue(e.getMessage().contains("indexSelect: index -1"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> x.scatter(0, Tensor.of(new long[] {2, 0, 0}).reshape(1, 3).to(D), 1.0));
    }
}
