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

    static void positive(String layer, String what, int[] v) {
        for (int x : v) {
            if (x <= 0) {
                throw new IllegalArgumentException(layer + ": " + what + " must be positive, got " + Repr.tuple(v));
            }
        }
    }
}
