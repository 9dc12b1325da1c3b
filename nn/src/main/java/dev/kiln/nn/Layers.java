package dev.kiln.nn;

import dev.kiln.Tensor;

/** Shared helpers of the layer classes. */
final class Layers {

    private Layers() {
    }

    /**
     * PyTorch's default for Linear and convolutions: Kaiming-uniform weights with {@code a = sqrt(5)}
     * (a bound of {@code 1/sqrt(fanIn)}) and a bias uniform in {@code (-1/sqrt(fanIn), 1/sqrt(fanIn))}.
     */
    static void defaultInit(Tensor weight, Tensor bias) {
        Init.kaimingUniform(weight, Math.sqrt(5), Init.FanMode.FAN_IN, Init.Nonlinearity.LEAKY_RELU);
        if (bias != null) {
            long fanIn = weight.dim() >= 2 ? Init.calculateFanInAndFanOut(weight)[0] : 0;
            double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
            Init.uniform(bias, -bound, bound);
        }
    }

    static int[] pair(String layer, String what, int[] v) {
        int[] p = F.pair(layer, what, v);
        for (int x : p) {
            if (x < 0) {
                throw new IllegalArgumentException(layer + ": " + what + " must be non-negative, got " + Repr.tuple(v));
            }
        }
        return p;
    }

    /**
     * Checks a pooling layer's window, as PyTorch does and in this order: positive
     * {@code kernel_size} and {@code stride}, positive {@code dilation} (when not null), and a
     * {@code padding} that is non-negative and at most half the kernel on each axis.
     */
    static void poolingWindow(String layer, int[] kernelSize, int[] stride, int[] dilation, int[] padding) {
        positive(layer, "kernel_size", kernelSize);
        positive(layer, "stride", stride);
        if (dilation != null) {
            positive(layer, "dilation", dilation);
        }
        int[] k = F.pair(layer, "kernel_size", kernelSize);
        int[] p = F.pair(layer, "padding", padding);
        if (p[0] < 0 || p[1] < 0 || p[0] > k[0] / 2 || p[1] > k[1] / 2) {
            throw new IllegalArgumentException(layer + ": padding " + Repr.tuple(padding)
                    + " must be non-negative and at most half of the kernel size " + Repr.tuple(kernelSize));
        }
    }

    static void positive(String layer, String what, int[] v) {
        for (int x : v) {
            if (x <= 0) {
                throw new IllegalArgumentException(layer + ": " + what + " must be positive, got " + Repr.tuple(v));
            }
        }
    }
}
