package dev.kiln.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.Backend;
import dev.kiln.spi.Storage;
import dev.kiln.spi.UnaryOp;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CPU backend's one-pass fused kernels give exactly (bit for bit) what the SPI's composite
 * defaults give, for contiguous operands (the fast path) and strided ones (the fallback).
 */
class FusedKernelsTest {

    private static final Backend CPU = new CpuBackend();

    /** The CPU backend with the fused methods left as the SPI's composite defaults. */
    private static final Backend COMPOSITE = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
            new Class<?>[] {Backend.class}, new InvocationHandler() {
                @Override
                public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
                    if (m.getName().equals("activationBackward") || m.getName().equals("adamStep")) {
                        return InvocationHandler.invokeDefault(proxy, m, args);
                    }
                    return m.invoke(CPU, args);
                }
            });

    private static float[] random(int n, long seed, float scale) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian() * scale;
        }
        return x;
    }

    private static float[] read(Storage s, Layout l) {
        float[] out = new float[(int) l.numel()];
        CPU.toHost(s, l, out);
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = UnaryOp.class, names = {"RELU", "SIGMOID", "TANH"})
    void activationGradientsMatchTheComposite(UnaryOp op) {
        int n = 70_001; // above the parallel grain, odd
        float[] x = random(n, 1, 3);
        x[5] = Float.NaN;
        x[6] = 0f;
        x[7] = -0f;
        Layout l = Layout.contiguous(n);
        Storage in = CPU.fromHost(x, DType.FLOAT32);
        Storage out = CPU.allocate(DType.FLOAT32, n);
        CPU.unary(op, 0, 0, in, l, out, l);
        Storage g = CPU.fromHost(random(n, 2, 1), DType.FLOAT32);
        Storage fused = CPU.allocate(DType.FLOAT32, n);
        Storage composite = CPU.allocate(DType.FLOAT32, n);
        CPU.activationBackward(op, g, l, out, l, fused, l);
        COMPOSITE.activationBackward(op, g, l, out, l, composite, l);
        assertArrayEquals(read(composite, l), read(fused, l));
        // A transposed view takes the composite route on both.
        Layout t = new Layout(new long[] {7, 3}, new long[] {1, 7}, 0);
        Storage small = CPU.allocate(DType.FLOAT32, 21);
        Storage small2 = CPU.allocate(DType.FLOAT32, 21);
        CPU.activationBackward(op, g, t, out, t, small, Layout.contiguous(7, 3));
        COMPOSITE.activationBackward(op, g, t, out, t, small2, Layout.contiguous(7, 3));
        assertArrayEquals(read(small2, Layout.contiguous(7, 3)), read(small, Layout.contiguous(7, 3)));
    }

    @ParameterizedTest
    @CsvSource({"0, false, false", "0.01, false, false", "0.01, true, false", "0, false, true", "0.1, true, true"})
    void adamStepsMatchTheComposite(double weightDecay, boolean decoupled, boolean maximize) {
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            int n = 40_000;
            Layout l = Layout.contiguous(200, 200);
            Storage[] fused = state(dtype, n);
            Storage[] composite = state(dtype, n);
            for (int step = 1; step <= 3; step++) {
                Storage grad = CPU.fromHost(asType(random(n, 10 + step, 1), dtype), dtype);
                double bc1 = 1 - Math.pow(0.9, step);
                double bc2 = 1 - Math.pow(0.999, step);
                CPU.adamStep(fused[0], l, grad, l, fused[1], l, fused[2], l, 1e-3, 0.9, 0.999, 1e-8, weightDecay, bc1, bc2,
                        decoupled, maximize);
                COMPOSITE.adamStep(composite[0], l, grad, l, composite[1], l, composite[2], l, 1e-3, 0.9, 0.999, 1e-8,
                        weightDecay, bc1, bc2, decoupled, maximize);
            }
            for (int i = 0; i < 3; i++) {
                Object a = host(dtype, n);
                Object b = host(dtype, n);
                CPU.toHost(fused[i], l, a);
                CPU.toHost(composite[i], l, b);
                if (dtype == DType.FLOAT32) {
                    assertArrayEquals((float[]) b, (float[]) a, dtype + " tensor " + i);
                } else {
                    assertArrayEquals((double[]) b, (double[]) a, dtype + " tensor " + i);
                }
            }
        }
    }

    @Test
    void adamOnAStridedParameterFallsBackToTheComposite() {
        Layout t = new Layout(new long[] {30, 20}, new long[] {1, 30}, 0);
        Storage[] fused = state(DType.FLOAT32, 600);
        Storage[] composite = state(DType.FLOAT32, 600);
        Storage grad = CPU.fromHost(random(600, 3, 1), DType.FLOAT32);
        CPU.adamStep(fused[0], t, grad, t, fused[1], t, fused[2], t, 0.01, 0.9, 0.999, 1e-8, 0, 0.1, 0.001, false, false);
        COMPOSITE.adamStep(composite[0], t, grad, t, composite[1], t, composite[2], t, 0.01, 0.9, 0.999, 1e-8, 0, 0.1, 0.001,
                false, false);
        assertArrayEquals(read(composite[0], t), read(fused[0], t));
        assertEquals(600, read(fused[0], t).length);
    }

    private static Storage[] state(DType dtype, int n) {
        return new Storage[] {
            CPU.fromHost(asType(random(n, 1, 1), dtype), dtype),
            CPU.fromHost(asType(random(n, 2, 0.1f), dtype), dtype),
            CPU.fromHost(asType(abs(random(n, 3, 0.01f)), dtype), dtype)};
    }

    private static float[] abs(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.abs(x[i]);
        }
        return x;
    }

    private static Object asType(float[] x, DType dtype) {
        if (dtype == DType.FLOAT32) {
            return x;
        }
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    private static Object host(DType dtype, int n) {
        return dtype == DType.FLOAT32 ? new float[n] : new double[n];
    }
}
