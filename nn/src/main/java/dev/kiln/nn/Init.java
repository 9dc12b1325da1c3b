package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Generator;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Shapes;
import dev.kiln.Tensor;

/**
 * Initialisation functions, as {@code torch.nn.init}: each fills a tensor in place under no-grad
 * (so it works on parameters) from the default generator, or from the one given, and returns it.
 */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
public final class Init {

    private Init() {
    }

    /** Which fan the Kaiming initialisers preserve: the forward pass's ({@code FAN_IN}) or the backward's. */
    public enum FanMode {
        FAN_IN, FAN_OUT
    }

    /** The nonlinearities {@link #calculateGain} knows, as PyTorch names them. */
    public enum Nonlinearity {
        LINEAR, CONV1D, CONV2D, CONV3D, CONV_TRANSPOSE1D, CONV_TRANSPOSE2D, CONV_TRANSPOSE3D, SIGMOID, TANH, RELU,
        LEAKY_RELU, SELU
    }

    /** The recommended gain for a nonlinearity (LeakyReLU with the default slope 0.01). */
    public static double calculateGain(Nonlinearity nonlinearity) {
        return calculateGain(nonlinearity, 0.01);
    }

    /**
     * The recommended gain: 1 for linear, convolutions and sigmoid, 5/3 for tanh, sqrt(2) for ReLU,
     * {@code sqrt(2 / (1 + slope^2))} for LeakyReLU with {@code param} as the slope, 3/4 for SELU.
     */
    public static double calculateGain(Nonlinearity nonlinearity, double param) {
        return switch (nonlinearity) {
            case LINEAR, CONV1D, CONV2D, CONV3D, CONV_TRANSPOSE1D, CONV_TRANSPOSE2D, CONV_TRANSPOSE3D, SIGMOID -> 1.0;
            case TANH -> 5.0 / 3;
            case RELU -> Math.sqrt(2.0);
            case LEAKY_RELU -> Math.sqrt(2.0 / (1 + param * param));
            case SELU -> 3.0 / 4;
        };
    }

    /**
     * {@code {fanIn, fanOut}} of a weight of at least 2 dims: {@code size(1)} and {@code size(0)}
     * times the receptive field (the product of the remaining dims).
     */
    public static long[] calculateFanInAndFanOut(Tensor t) {
        if (t.dim() < 2) {
            throw new IllegalArgumentException("init: fan in and fan out can not be computed for a tensor with fewer than 2"
                    + " dimensions, got " + Shapes.str(t.shape()));
        }
        long receptive = 1;
        for (int i = 2; i < t.dim(); i++) {
            receptive *= t.size(i);
        }
        return new long[] {t.size(1) * receptive, t.size(0) * receptive};
    }

    private static long fan(Tensor t, FanMode mode) {
        long[] f = calculateFanInAndFanOut(t);
        return mode == FanMode.FAN_IN ? f[0] : f[1];
    }

    /** Fills with {@code U(a, b)}. */
    public static Tensor uniform(Tensor t, double a, double b) {
        return uniform(t, a, b, Generator.defaultGenerator());
    }

    public static Tensor uniform(Tensor t, double a, double b, Generator generator) {
        try (GradScope s = Kiln.noGrad()) {
            return t.uniform_(a, b, generator);
        }
    }

    /** Fills with {@code N(mean, std^2)}. */
    public static Tensor normal(Tensor t, double mean, double std) {
        return normal(t, mean, std, Generator.defaultGenerator());
    }

    public static Tensor normal(Tensor t, double mean, double std, Generator generator) {
        try (GradScope s = Kiln.noGrad()) {
            return t.normal_(mean, std, generator);
        }
    }

    /** Fills with {@code value}. */
    public static Tensor constant(Tensor t, double value) {
        try (GradScope s = Kiln.noGrad()) {
            return t.fill_(value);
        }
    }

    public static Tensor zeros(Tensor t) {
        return constant(t, 0);
    }

    public static Tensor ones(Tensor t) {
        return constant(t, 1);
    }

    /** Xavier/Glorot uniform with gain 1: {@code U(-a, a)}, {@code a = gain * sqrt(6 / (fanIn + fanOut))}. */
    public static Tensor xavierUniform(Tensor t) {
        return xavierUniform(t, 1.0);
    }

    public static Tensor xavierUniform(Tensor t, double gain) {
        return xavierUniform(t, gain, Generator.defaultGenerator());
    }

    public static Tensor xavierUniform(Tensor t, double gain, Generator generator) {
        long[] f = calculateFanInAndFanOut(t);
        double std = gain * Math.sqrt(2.0 / (f[0] + f[1]));
        double a = Math.sqrt(3.0) * std;
        return uniform(t, -a, a, generator);
    }

    /** Xavier/Glorot normal with gain 1: {@code N(0, std^2)}, {@code std = gain * sqrt(2 / (fanIn + fanOut))}. */
    public static Tensor xavierNormal(Tensor t) {
        return xavierNormal(t, 1.0);
    }

    public static Tensor xavierNormal(Tensor t, double gain) {
        return xavierNormal(t, gain, Generator.defaultGenerator());
    }

    public static Tensor xavierNormal(Tensor t, double gain, Generator generator) {
        long[] f = calculateFanInAndFanOut(t);
        return normal(t, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])), generator);
    }

    /** Kaiming/He uniform for ReLU-like networks: {@code a = 0}, fan in, leaky ReLU gain. */
    public static Tensor kaimingUniform(Tensor t) {
        return kaimingUniform(t, 0, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
    }

    /**
     * Kaiming/He uniform: {@code U(-bound, bound)} with {@code bound = gain * sqrt(3 / fan)}, the
     * gain of {@code nonlinearity} with slope {@code a}. Linear and convolution layers use
     * {@code a = sqrt(5)}, which gives {@code bound = 1 / sqrt(fanIn)}. A tensor with no elements is
     * left as it is.
     */
    public static Tensor kaimingUniform(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
        return kaimingUniform(t, a, mode, nonlinearity, Generator.defaultGenerator());
    }

    public static Tensor kaimingUniform(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator generator) {
        if (t.numel() == 0) {
            return t;
        }
        double std = calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode));
        double bound = Math.sqrt(3.0) * std;
        return uniform(t, -bound, bound, generator);
    }

    /** Kaiming/He normal with {@code a = 0}, fan in, leaky ReLU gain. */
    public static Tensor kaimingNormal(Tensor t) {
        return kaimingNormal(t, 0, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
    }

    /** Kaiming/He normal: {@code N(0, std^2)} with {@code std = gain / sqrt(fan)}. */
    public static Tensor kaimingNormal(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
        return kaimingNormal(t, a, mode, nonlinearity, Generator.defaultGenerator());
    }

    public static Tensor kaimingNormal(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator generator) {
        if (t.numel() == 0) {
            return t;
        }
        return normal(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode)), generator);
    }

    /** A (semi-)orthogonal matrix with gain 1. */
    public static Tensor orthogonal(Tensor t) {
        return orthogonal(t, 1.0);
    }

    public static Tensor orthogonal(Tensor t, double gain) {
        return orthogonal(t, gain, Generator.defaultGenerator());
    }

    /**
     * Fills a tensor of at least 2 dims, viewed as {@code [size(0), numel / size(0)]}, with a
     * (semi-)orthogonal matrix times {@code gain}: the Q factor of the QR decomposition of a
     * standard normal matrix, with signs fixed so that R has a positive diagonal (as PyTorch).
     */
    public static Tensor orthogonal(Tensor t, double gain, Generator generator) {
        if (t.dim() < 2) {
            throw new IllegalArgumentException("orthogonal: only tensors with 2 or more dimensions are supported, got "
                    + Shapes.str(t.shape()));
        }
        if (t.numel() == 0) {
            return t;
        }
        int rows = (int) t.size(0);
        int cols = (int) (t.numel() / rows);
        boolean transpose = rows < cols;
        int m = transpose ? cols : rows;
        int n = transpose ? rows : cols;
        double[] g = Tensor.empty(new long[] {rows, cols}, DType.FLOAT64, Device.cpu()).normal_(0, 1, generator)
                .toDoubleArray();
        // a[j] is column j of the m x n matrix to factor (the transpose when rows < cols).
        double[][] a = new double[n][m];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (transpose) {
                    a[i][j] = g[i * cols + j];
                } else {
                    a[j][i] = g[i * cols + j];
                }
            }
        }
        // Modified Gram-Schmidt, twice per column for stability; R's diagonal comes out positive.
        for (int j = 0; j < n; j++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int k = 0; k < j; k++) {
                    double dot = 0;
                    for (int i = 0; i < m; i++) {
                        dot += a[k][i] * a[j][i];
                    }
                    for (int i = 0; i < m; i++) {
                        a[j][i] -= dot * a[k][i];
                    }
                }
            }
            double norm = 0;
            for (int i = 0; i < m; i++) {
                norm += a[j][i] * a[j][i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < m; i++) {
                a[j][i] /= norm;
            }
        }
        double[] q = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                q[i * cols + j] = gain * (transpose ? a[i][j] : a[j][i]);
            }
        }
        try (GradScope s = Kiln.noGrad()) {
            return t.copy_(Tensor.fromArray(q, t.shape()));
        }
    }
}
