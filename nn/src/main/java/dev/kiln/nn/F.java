package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Shapes;
import dev.kiln.Tensor;
import dev.kiln.spi.ConvGeometry;

import java.util.Arrays;

/**
 * The functional API, as {@code torch.nn.functional}: every layer, activation and loss as a
 * static method on tensors, with no state. The modules of this package call these.
 *
 * <p>Convolution is the backend's convolution primitive ({@link Tensor#conv2d}: im2col and one batched
 * matrix product by default, cuDNN on CUDA where it loads); pooling is
 * {@code im2col} followed by a reduction over the window; everything is composed of differentiable
 * tensor operations, so it runs and backpropagates on every backend.
 */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
public final class F {

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    private F() {
    }

    // ---------------------------------------------------------------- activations

    /** {@code max(x, 0)}. */
    public static Tensor relu(Tensor x) {
        return x.relu();
    }

    /** {@code x} where positive, else {@code 0.01 x}. */
    public static Tensor leakyRelu(Tensor x) {
        return x.leakyRelu(0.01);
    }

    /** {@code x} where positive, else {@code negativeSlope * x}. */
    public static Tensor leakyRelu(Tensor x, double negativeSlope) {
        return x.leakyRelu(negativeSlope);
    }

    /** ELU with {@code alpha = 1}. */
    public static Tensor elu(Tensor x) {
        return x.elu(1.0);
    }

    /** {@code x} where positive, else {@code alpha * (exp(x) - 1)}. */
    public static Tensor elu(Tensor x, double alpha) {
        return x.elu(alpha);
    }

    /** GELU, exact: {@code x * Phi(x)} with the normal CDF through erf (PyTorch's default). */
    public static Tensor gelu(Tensor x) {
        return x.gelu();
    }

    /**
     * GELU with PyTorch's {@code approximate} argument: {@code "none"} (exact) or {@code "tanh"}
     * ({@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}).
     */
    public static Tensor gelu(Tensor x, String approximate) {
        return switch (approximate) {
            case "none" -> x.gelu();
            case "tanh" -> {
                Tensor inner = x.add(x.mul(x.square()).mul(0.044715)).mul(SQRT_2_OVER_PI);
                yield x.mul(0.5).mul(inner.tanh().add(1.0));
            }
            default -> throw new IllegalArgumentException("gelu: approximate must be \"none\" or \"tanh\", got \""
                    + approximate + "\"");
        };
    }

    /** {@code x * sigmoid(x)} (swish). */
    public static Tensor silu(Tensor x) {
        return x.silu();
    }

    public static Tensor sigmoid(Tensor x) {
        return x.sigmoid();
    }

    public static Tensor tanh(Tensor x) {
        return x.tanh();
    }

    /** Softmax along {@code dim}. */
    public static Tensor softmax(Tensor x, int dim) {
        return x.softmax(dim);
    }

    /** Log-softmax along {@code dim}, stable for large inputs. */
    public static Tensor logSoftmax(Tensor x, int dim) {
        return x.logSoftmax(dim);
    }

    // ---------------------------------------------------------------- linear and embedding

    /** {@code x @ weight^T + bias} over the last dim of {@code x}; {@code bias} may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("linear: weight must be [out_features, in_features], got "
                    + Shapes.str(weight.shape()));
        }
        if (x.dim() == 0 || x.size(-1) != weight.size(1)) {
            throw new IllegalArgumentException("linear: input " + Shapes.str(x.shape()) + " has "
                    + (x.dim() == 0 ? 0 : x.size(-1)) + " features in its last dim but weight " + Shapes.str(weight.shape())
                    + " expects " + weight.size(1));
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != weight.size(0))) {
            throw new IllegalArgumentException("linear: bias " + Shapes.str(bias.shape()) + " must be ["
                    + weight.size(0) + "] for weight " + Shapes.str(weight.shape()));
        }
        // One large matrix product over all leading dims instead of a broadcast batch; the bias is
        // added into the product in place (no second [N, out] tensor).
        Tensor flat = x.dim() > 2 ? x.reshape(-1, x.size(-1)) : x;
        Tensor out = flat.matmul(weight.t());
        if (bias != null) {
            out = x.dim() == 1 ? out.add(bias) : out.add_(bias);
        }
        if (x.dim() > 2) {
            long[] shape = x.shape();
            shape[shape.length - 1] = weight.size(0);
            out = out.reshape(shape);
        }
        return out;
    }

    /** The rows of {@code weight} at the int64 {@code indices}: output shape {@code indices.shape + [dim]}. */
    public static Tensor embedding(Tensor indices, Tensor weight) {
        return embedding(indices, weight, null);
    }

    /**
     * As {@link #embedding(Tensor, Tensor)}; positions holding {@code paddingIdx} (when not null,
     * negative counts from the end) pass no gradient to the weight, as in PyTorch.
     */
    public static Tensor embedding(Tensor indices, Tensor weight, Long paddingIdx) {
        if (indices.dtype() != DType.INT64) {
            throw new IllegalArgumentException("embedding: indices must be int64, got " + indices.dtype() + " "
                    + Shapes.str(indices.shape()));
        }
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("embedding: weight must be [num_embeddings, embedding_dim], got "
                    + Shapes.str(weight.shape()));
        }
        long num = weight.size(0);
        Tensor flat = indices.reshape(-1);
        checkIndexRange("embedding", flat, num, null);
        long[] shape = Arrays.copyOf(indices.shape(), indices.dim() + 1);
        shape[indices.dim()] = weight.size(1);
        Tensor rows = weight.indexSelect(0, flat);
        if (paddingIdx != null && weight.requiresGrad() && Kiln.isGradEnabled()) {
            long pad = paddingIdx < 0 ? paddingIdx + num : paddingIdx;
            // Same values, but the padding positions read a detached copy, so no gradient reaches that row.
            Tensor isPad = flat.eq((double) pad).unsqueeze(1);
            rows = Tensor.where(isPad, weight.detach().indexSelect(0, flat), rows);
        }
        return rows.reshape(shape);
    }

    /** One-hot int64 encoding of int64 class indices: shape {@code indices.shape + [numClasses]}. */
    public static Tensor oneHot(Tensor indices, long numClasses) {
        if (indices.dtype() != DType.INT64) {
            throw new IllegalArgumentException("oneHot: indices must be int64, got " + indices.dtype());
        }
        checkIndexRange("oneHot", indices.reshape(-1), numClasses, null);
        long[] shape = Arrays.copyOf(indices.shape(), indices.dim() + 1);
        shape[indices.dim()] = numClasses;
        Tensor z = Tensor.zeros(shape, DType.INT64, indices.device());
        return z.scatter(indices.dim(), indices.unsqueeze(-1), 1.0);
    }

    /** Throws when a value of the int64 {@code idx} (other than {@code ignore}) is outside {@code [0, n)}. */
    private static void checkIndexRange(String op, Tensor idx, long n, Long ignore) {
        if (idx.numel() == 0) {
            return;
        }
        try (GradScope s = Kiln.noGrad()) {
            Tensor v = ignore == null ? idx : Tensor.where(idx.eq((double) ignore), 0.0, idx);
            long lo = v.min().itemLong();
            long hi = v.max().itemLong();
            if (lo < 0 || hi >= n) {
                throw new IndexOutOfBoundsException(op + ": index " + (lo < 0 ? lo : hi) + " is out of range for "
                        + n + (op.equals("embedding") ? " embeddings" : " classes") + " (valid indices are 0 to " + (n - 1)
                        + (ignore == null ? "" : ", or the ignore index " + ignore) + ")");
            }
        }
    }

    // ---------------------------------------------------------------- convolution

    /** {@code v} as an (h, w) pair: one value means both. */
    static int[] pair(String op, String what, int... v) {
        if (v.length == 1) {
            return new int[] {v[0], v[0]};
        }
        if (v.length != 2) {
            throw new IllegalArgumentException(op + ": " + what + " must have 1 or 2 values, got " + Arrays.toString(v));
        }
        return v.clone();
    }

    /** 2-D convolution with stride 1, no padding. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias) {
        return conv2d(input, weight, bias, new int[] {1}, new int[] {0}, new int[] {1}, 1);
    }

    /** 2-D convolution with square stride and padding. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(input, weight, bias, new int[] {stride}, new int[] {padding}, new int[] {1}, 1);
    }

    /**
     * 2-D convolution (cross-correlation, as PyTorch) of {@code [N, C, H, W]} (or unbatched
     * {@code [C, H, W]}) with {@code weight [O, C / groups, kH, kW]}; {@code bias [O]} may be null.
     * {@code stride}, {@code padding} and {@code dilation} take one value for both axes or two.
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation,
                                int groups) {
        String op = "conv2d";
        int[] s = pair(op, "stride", stride);
        int[] p = pair(op, "padding", padding);
        int[] d = pair(op, "dilation", dilation);
        boolean unbatched = input.dim() == 3;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        if (x.dim() != 4 || weight.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a [N, C, H, W] or [C, H, W] input and a [O, C/groups, kH, kW]"
                    + " weight, got input " + Shapes.str(input.shape()) + " and weight " + Shapes.str(weight.shape()));
        }
        long c = x.size(1);
        long o = weight.size(0);
        long cg = weight.size(1);
        if (groups <= 0 || o % groups != 0 || c != cg * groups) {
            throw new IllegalArgumentException(op + ": input " + Shapes.str(input.shape()) + " has " + c + " channels but weight "
                    + Shapes.str(weight.shape()) + " with groups=" + groups + " expects " + cg * groups
                    + " (and out channels " + o + " must be divisible by groups)");
        }
        checkBias(op, bias, o);
        ConvGeometry g = geometry(op, x, (int) weight.size(2), (int) weight.size(3), s, p, d);
        Tensor out = x.conv2d(weight, g, groups);
        if (bias != null) {
            // Into the fresh product in place, as linear does: no second [N, O, H, W] tensor.
            out = out.add_(bias.view(1, o, 1, 1));
        }
        return unbatched ? out.squeeze(0) : out;
    }

    private static void checkBias(String op, Tensor bias, long channels) {
        if (bias != null && (bias.dim() != 1 || bias.size(0) != channels)) {
            throw new IllegalArgumentException(op + ": bias " + Shapes.str(bias.shape()) + " must be [" + channels + "]");
        }
    }

    private static ConvGeometry geometry(String op, Tensor x, int kh, int kw, int[] s, int[] p, int[] d) {
        ConvGeometry g = new ConvGeometry(x.size(2), x.size(3), kh, kw, s[0], s[1], p[0], p[1], d[0], d[1]);
        if (g.outH() <= 0 || g.outW() <= 0) {
            throw new IllegalArgumentException(op + ": input " + Shapes.str(x.shape()) + " (padded by " + Repr.tuple(p)
                    + ") is smaller than the kernel " + Repr.tuple(kh, kw) + " with dilation " + Repr.tuple(d)
                    + "; the output would be " + Repr.tuple(g.outH(), g.outW()));
        }
        return g;
    }

    /** 1-D convolution with stride 1, no padding. */
    public static Tensor conv1d(Tensor input, Tensor weight, Tensor bias) {
        return conv1d(input, weight, bias, 1, 0, 1, 1);
    }

    /**
     * 1-D convolution of {@code [N, C, L]} (or {@code [C, L]}) with {@code weight [O, C / groups, k]},
     * computed as a 2-D convolution over a height of one.
     */
    public static Tensor conv1d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        if (input.dim() != 3 && input.dim() != 2 || weight.dim() != 3) {
            throw new IllegalArgumentException("conv1d: expected a [N, C, L] or [C, L] input and a [O, C/groups, k] weight, got"
                    + " input " + Shapes.str(input.shape()) + " and weight " + Shapes.str(weight.shape()));
        }
        int hdim = input.dim() - 1;
        Tensor out = conv2d(input.unsqueeze(hdim), weight.unsqueeze(2), bias, new int[] {1, stride}, new int[] {0, padding},
                new int[] {1, dilation}, groups);
        return out.squeeze(hdim);
    }

    /** Transposed 2-D convolution with stride 1, no padding. */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias) {
        return convTranspose2d(input, weight, bias, new int[] {1}, new int[] {0}, new int[] {0}, 1, new int[] {1});
    }

    /**
     * Transposed 2-D convolution (the gradient of {@link #conv2d} with respect to its input) of
     * {@code [N, C, H, W]} with {@code weight [C, O / groups, kH, kW]}: the output is
     * {@code (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1} high. Computed
     * as the input gradient of a convolution ({@link Tensor#conv2dBackwardInput}). {@code outputPadding} must
     * be smaller than the stride.
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] padding,
                                         int[] outputPadding, int groups, int[] dilation) {
        String op = "convTranspose2d";
        int[] s = pair(op, "stride", stride);
        int[] p = pair(op, "padding", padding);
        int[] op2 = pair(op, "output_padding", outputPadding);
        int[] d = pair(op, "dilation", dilation);
        boolean unbatched = input.dim() == 3;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        if (x.dim() != 4 || weight.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a [N, C, H, W] or [C, H, W] input and a [C, O/groups, kH, kW]"
                    + " weight, got input " + Shapes.str(input.shape()) + " and weight " + Shapes.str(weight.shape()));
        }
        long c = x.size(1);
        long h = x.size(2);
        long w = x.size(3);
        if (groups <= 0 || weight.size(0) != c || c % groups != 0) {
            throw new IllegalArgumentException(op + ": input " + Shapes.str(input.shape()) + " has " + c + " channels but weight "
                    + Shapes.str(weight.shape()) + " expects " + weight.size(0) + " (divisible by groups=" + groups + ")");
        }
        for (int i = 0; i < 2; i++) {
            if (op2[i] < 0 || op2[i] >= s[i]) {
                throw new IllegalArgumentException(op + ": output_padding " + Repr.tuple(op2) + " must be non-negative and"
                        + " smaller than the stride " + Repr.tuple(s));
            }
        }
        int kh = (int) weight.size(2);
        int kw = (int) weight.size(3);
        long og = weight.size(1);
        long o = og * groups;
        checkBias(op, bias, o);
        long outH = (h - 1) * s[0] - 2L * p[0] + (long) d[0] * (kh - 1) + op2[0] + 1;
        long outW = (w - 1) * s[1] - 2L * p[1] + (long) d[1] * (kw - 1) + op2[1] + 1;
        if (outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException(op + ": input " + Shapes.str(input.shape()) + " with padding " + Repr.tuple(p)
                    + " gives a non-positive output size " + Repr.tuple(outH, outW));
        }
        ConvGeometry g = new ConvGeometry(outH, outW, kh, kw, s[0], s[1], p[0], p[1], d[0], d[1]);
        // The gradient of the convolution from an (outH, outW) input with this weight.
        Tensor out = x.conv2dBackwardInput(weight, g, groups);
        if (bias != null) {
            out = out.add(bias.view(1, o, 1, 1));
        }
        return unbatched ? out.squeeze(0) : out;
    }

    // ---------------------------------------------------------------- pooling

    /** Max pooling with a square window; stride defaults to the window. */
    public static Tensor maxPool2d(Tensor input, int kernelSize) {
        return maxPool2d(input, new int[] {kernelSize}, new int[] {kernelSize}, new int[] {0}, new int[] {1});
    }

    /** Max pooling with square window, stride and padding. */
    public static Tensor maxPool2d(Tensor input, int kernelSize, int stride, int padding) {
        return maxPool2d(input, new int[] {kernelSize}, new int[] {stride}, new int[] {padding}, new int[] {1});
    }

    /**
     * Max pooling of {@code [N, C, H, W]} (or {@code [C, H, W]}), floor mode; padding counts as
     * minus infinity and may be at most half the window. The gradient goes to the first maximum of
     * each window, as in PyTorch.
     */
    public static Tensor maxPool2d(Tensor input, int[] kernelSize, int[] stride, int[] padding, int[] dilation) {
        String op = "maxPool2d";
        int[] k = pair(op, "kernel_size", kernelSize);
        int[] s = stride == null || stride.length == 0 ? k : pair(op, "stride", stride);
        int[] p = pair(op, "padding", padding);
        int[] d = pair(op, "dilation", dilation);
        checkPoolPadding(op, k, p);
        boolean unbatched = input.dim() == 3;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        if (x.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a [N, C, H, W] or [C, H, W] input, got " + Shapes.str(input.shape()));
        }
        Tensor out = x.maxPool2d(geometry(op, x, k[0], k[1], s, p, d));
        return unbatched ? out.squeeze(0) : out;
    }

    private static void checkPoolPadding(String op, int[] k, int[] p) {
        if (p[0] > k[0] / 2 || p[1] > k[1] / 2) {
            throw new IllegalArgumentException(op + ": padding " + Repr.tuple(p) + " should be at most half of the kernel size "
                    + Repr.tuple(k));
        }
    }

    private interface WindowReduce {
        Tensor apply(Tensor cols, ConvGeometry g);
    }

    /** Runs {@code reduce} over the {@code [N*C, kH*kW, L]} windows of every plane. */
    private static Tensor pool(String op, Tensor input, int[] k, int[] s, int[] p, int[] d, WindowReduce reduce) {
        boolean unbatched = input.dim() == 3;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        if (x.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a [N, C, H, W] or [C, H, W] input, got " + Shapes.str(input.shape()));
        }
        long n = x.size(0);
        long c = x.size(1);
        Tensor planes = x.reshape(n * c, 1, x.size(2), x.size(3));
        ConvGeometry g = geometry(op, planes, k[0], k[1], s, p, d);
        Tensor out = reduce.apply(planes.im2col(g, 0), g).view(n, c, g.outH(), g.outW());
        return unbatched ? out.squeeze(0) : out;
    }

    /** Average pooling with a square window; stride defaults to the window. */
    public static Tensor avgPool2d(Tensor input, int kernelSize) {
        return avgPool2d(input, new int[] {kernelSize}, null, new int[] {0}, true, 0);
    }

    /**
     * Average pooling of {@code [N, C, H, W]} (or {@code [C, H, W]}), floor mode. With
     * {@code countIncludePad} (PyTorch's default) padding zeros count in the divisor; a nonzero
     * {@code divisorOverride} replaces the divisor. A null or empty {@code stride} means the window.
     */
    public static Tensor avgPool2d(Tensor input, int[] kernelSize, int[] stride, int[] padding, boolean countIncludePad,
                                   int divisorOverride) {
        String op = "avgPool2d";
        int[] k = pair(op, "kernel_size", kernelSize);
        int[] s = stride == null || stride.length == 0 ? k : pair(op, "stride", stride);
        int[] p = pair(op, "padding", padding);
        checkPoolPadding(op, k, p);
        return pool(op, input, k, s, p, new int[] {1, 1}, (cols, g) -> {
            Tensor sum = cols.sum(1);
            if (divisorOverride != 0) {
                return sum.div((double) divisorOverride);
            }
            if (countIncludePad || (p[0] == 0 && p[1] == 0)) {
                return sum.div((double) k[0] * k[1]);
            }
            Tensor counts;
            try (GradScope sc = Kiln.noGrad()) {
                counts = Tensor.ones(new long[] {1, 1, g.h(), g.w()}, cols.dtype(), cols.device()).im2col(g, 0).sum(1);
            }
            return sum.div(counts);
        });
    }

    /**
     * Adaptive average pooling to {@code outH x outW}: output cell {@code i} averages input rows
     * {@code floor(i*H/outH)} to {@code ceil((i+1)*H/outH)} (exclusive), and likewise for columns.
     * Computed as two small matrix products, {@code P_h @ x @ P_w^T}.
     */
    public static Tensor adaptiveAvgPool2d(Tensor input, int outH, int outW) {
        boolean unbatched = input.dim() == 3;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        if (x.dim() != 4 || outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("adaptiveAvgPool2d: expected a [N, C, H, W] or [C, H, W] input and a positive"
                    + " output size, got input " + Shapes.str(input.shape()) + " and output size " + Repr.tuple(outH, outW));
        }
        if (!x.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("adaptiveAvgPool2d: expected a floating-point input, got " + x.dtype());
        }
        Tensor out;
        if (outH == 1 && outW == 1) {
            out = x.mean(new int[] {2, 3}, true);
        } else {
            Tensor ph = poolMatrix(outH, x.size(2), x);
            Tensor pw = poolMatrix(outW, x.size(3), x);
            out = ph.matmul(x).matmul(pw.t());
        }
        return unbatched ? out.squeeze(0) : out;
    }

    /** The {@code [out, in]} averaging matrix of adaptive pooling along one axis. */
    private static Tensor poolMatrix(int out, long in, Tensor like) {
        double[] m = new double[(int) (out * in)];
        for (int i = 0; i < out; i++) {
            long start = Math.floorDiv(i * in, out);
            long end = -Math.floorDiv(-(i + 1) * in, out);
            for (long j = start; j < end; j++) {
                m[(int) (i * in + j)] = 1.0 / (end - start);
            }
        }
        return Tensor.fromArray(m, out, in).to(like.device(), like.dtype());
    }

    // ---------------------------------------------------------------- normalization

    /**
     * Batch normalization over every dim but 1 of {@code [N, C, ...]}. In training (or without
     * running statistics) it uses the batch mean and biased variance and, when running statistics
     * are given, updates them in place: {@code running = (1 - momentum) * running + momentum * batch},
     * with the unbiased variance. Otherwise it uses the running statistics.
     */
    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps) {
        if (x.dim() < 2) {
            throw new IllegalArgumentException("batchNorm: expected an input of at least 2 dims [N, C, ...], got "
                    + Shapes.str(x.shape()));
        }
        long c = x.size(1);
        for (Tensor t : new Tensor[] {runningMean, runningVar, weight, bias}) {
            if (t != null && (t.dim() != 1 || t.size(0) != c)) {
                throw new IllegalArgumentException("batchNorm: input " + Shapes.str(x.shape()) + " has " + c
                        + " channels but a weight, bias or running statistic has shape " + Shapes.str(t.shape()));
            }
        }
        // The op computes in x's dtype; operands of another dtype are converted, running statistics copied back.
        Tensor mean = like(runningMean, x);
        Tensor var = like(runningVar, x);
        Tensor out = x.batchNorm(like(weight, x), like(bias, x), mean, var, training, momentum, eps);
        if (training && runningMean != null && runningVar != null && (mean != runningMean || var != runningVar)) {
            try (GradScope s = Kiln.noGrad()) {
                runningMean.copy_(mean);
                runningVar.copy_(var);
            }
        }
        return out;
    }

    private static Tensor like(Tensor t, Tensor x) {
        return t == null || t.dtype() == x.dtype() ? t : t.to(x.dtype());
    }

    /**
     * Layer normalization over the last {@code normalizedShape.length} dims, which must equal
     * {@code normalizedShape}; {@code weight} and {@code bias} (of that shape) may be null.
     */
    public static Tensor layerNorm(Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        int k = normalizedShape.length;
        long[] shape = x.shape();
        if (k == 0 || k > shape.length
                || !Arrays.equals(Arrays.copyOfRange(shape, shape.length - k, shape.length), normalizedShape)) {
            throw new IllegalArgumentException("layerNorm: input " + Shapes.str(shape) + " does not end with the normalized shape "
                    + Shapes.str(normalizedShape));
        }
        int[] dims = new int[k];
        for (int i = 0; i < k; i++) {
            dims[i] = shape.length - k + i;
        }
        Tensor mean = x.mean(dims, true);
        Tensor centered = x.sub(mean);
        Tensor var = centered.square().mean(dims, true);
        Tensor out = centered.mul(var.add(eps).rsqrt());
        if (weight != null) {
            out = out.mul(weight);
        }
        if (bias != null) {
            out = out.add(bias);
        }
        return out;
    }

    /**
     * Group normalization of {@code [N, C, ...]}: the channels split into {@code numGroups} groups,
     * each normalized over its channels and all spatial positions; per-channel {@code weight} and
     * {@code bias} may be null.
     */
    public static Tensor groupNorm(Tensor x, int numGroups, Tensor weight, Tensor bias, double eps) {
        if (x.dim() < 2 || numGroups <= 0 || x.size(1) % numGroups != 0) {
            throw new IllegalArgumentException("groupNorm: expected an input [N, C, ...] with C divisible by num_groups="
                    + numGroups + ", got " + Shapes.str(x.shape()));
        }
        long n = x.size(0);
        long c = x.size(1);
        Tensor g = x.reshape(n, numGroups, -1);
        Tensor mean = g.mean(2, true);
        Tensor centered = g.sub(mean);
        Tensor var = centered.square().mean(2, true);
        Tensor out = centered.mul(var.add(eps).rsqrt()).reshape(x.shape());
        long[] bshape = Shapes.along(x.dim(), 1, c);
        if (weight != null) {
            out = out.mul(weight.view(bshape));
        }
        if (bias != null) {
            out = out.add(bias.view(bshape));
        }
        return out;
    }

    // ---------------------------------------------------------------- dropout

    /**
     * In training, zeroes each element with probability {@code p} (from the default generator)
     * and scales the rest by {@code 1 / (1 - p)}; otherwise returns {@code x}.
     */
    public static Tensor dropout(Tensor x, double p, boolean training) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("dropout: probability has to be between 0 and 1, but got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (p == 1) {
            return x.mul(0.0);
        }
        Tensor noise;
        try (GradScope s = Kiln.noGrad()) {
            noise = x.randLike().lt(1 - p).to(x.dtype()).div(1 - p);
        }
        return x.mul(noise);
    }

    // ---------------------------------------------------------------- losses

    private static Tensor reduce(String loss, Tensor values, Reduction reduction) {
        return switch (reduction) {
            case NONE -> values;
            case MEAN -> values.mean();
            case SUM -> values.sum();
            case BATCHMEAN -> throw new IllegalArgumentException(loss + ": reduction batchmean is only for KLDivLoss");
        };
    }

    private static void checkSameShape(String loss, Tensor input, Tensor target) {
        if (!Arrays.equals(input.shape(), target.shape())) {
            throw new IllegalArgumentException(loss + ": input " + Shapes.str(input.shape()) + " and target "
                    + Shapes.str(target.shape()) + " must have the same shape (Kiln does not broadcast loss targets:"
                    + " reshape one of them)");
        }
    }

    private static void checkFloat(String loss, String what, Tensor t) {
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(loss + ": " + what + " must be floating point, got " + t.dtype() + " "
                    + Shapes.str(t.shape()));
        }
    }

    /** Mean squared error. */
    public static Tensor mseLoss(Tensor input, Tensor target) {
        return mseLoss(input, target, Reduction.MEAN);
    }

    /** Squared error {@code (input - target)^2}, reduced. */
    public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
        checkSameShape("MSELoss", input, target);
        checkFloat("MSELoss", "input", input);
        return reduce("MSELoss", input.sub(target).square(), reduction);
    }

    /** Mean absolute error. */
    public static Tensor l1Loss(Tensor input, Tensor target) {
        return l1Loss(input, target, Reduction.MEAN);
    }

    /** Absolute error {@code |input - target|}, reduced. */
    public static Tensor l1Loss(Tensor input, Tensor target, Reduction reduction) {
        checkSameShape("L1Loss", input, target);
        checkFloat("L1Loss", "input", input);
        return reduce("L1Loss", input.sub(target).abs(), reduction);
    }

    /**
     * Smooth L1: {@code 0.5 d^2 / beta} where {@code |d| < beta}, else {@code |d| - 0.5 beta}
     * ({@code d = input - target}); {@code beta = 0} is the L1 loss.
     */
    public static Tensor smoothL1Loss(Tensor input, Tensor target, Reduction reduction, double beta) {
        checkSameShape("SmoothL1Loss", input, target);
        checkFloat("SmoothL1Loss", "input", input);
        if (beta < 0) {
            throw new IllegalArgumentException("SmoothL1Loss: beta must be non-negative, got " + beta);
        }
        Tensor d = input.sub(target);
        Tensor ad = d.abs();
        Tensor v = beta == 0 ? ad : Tensor.where(ad.lt(beta), d.square().mul(0.5 / beta), ad.sub(0.5 * beta));
        return reduce("SmoothL1Loss", v, reduction);
    }

    /** Huber: {@code 0.5 d^2} where {@code |d| < delta}, else {@code delta (|d| - 0.5 delta)}. */
    public static Tensor huberLoss(Tensor input, Tensor target, Reduction reduction, double delta) {
        checkSameShape("HuberLoss", input, target);
        checkFloat("HuberLoss", "input", input);
        if (delta <= 0) {
            throw new IllegalArgumentException("HuberLoss: delta must be positive, got " + delta);
        }
        Tensor d = input.sub(target);
        Tensor ad = d.abs();
        Tensor v = Tensor.where(ad.lt(delta), d.square().mul(0.5), ad.sub(0.5 * delta).mul(delta));
        return reduce("HuberLoss", v, reduction);
    }

    /** Cross entropy of logits with int64 class indices or class probabilities, mean over the batch. */
    public static Tensor crossEntropy(Tensor input, Tensor target) {
        return crossEntropy(input, target, null, -100, Reduction.MEAN, 0);
    }

    /**
     * Cross entropy of logits {@code [N, C]}, {@code [N, C, d1, ...]} or {@code [C]}, computed from a
     * stable log-softmax over dim 1. {@code target} is either int64 class indices of shape
     * {@code [N, d1, ...]} (positions equal to {@code ignoreIndex} contribute nothing) or floating
     * probabilities of the input's shape. {@code weight [C]} (nullable) rescales each class; with
     * indices the mean divides by the summed weights of the counted targets, with probabilities by
     * the number of samples. {@code labelSmoothing} in [0, 1] mixes the target with the uniform
     * distribution.
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, long ignoreIndex, Reduction reduction,
                                      double labelSmoothing) {
        String loss = "CrossEntropyLoss";
        checkFloat(loss, "input (logits)", input);
        if (labelSmoothing < 0 || labelSmoothing > 1) {
            throw new IllegalArgumentException(loss + ": label_smoothing must be between 0 and 1, got " + labelSmoothing);
        }
        if (input.dim() == 0) {
            throw new IllegalArgumentException(loss + ": input must have a class dim, got a 0-dim tensor");
        }
        boolean unbatched = input.dim() == 1;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        long c = x.size(1);
        checkClassWeight(loss, weight, c);
        if (target.dtype().isFloatingPoint()) {
            if (!Arrays.equals(target.shape(), input.shape())) {
                throw new IllegalArgumentException(loss + ": probability targets must have the input's shape "
                        + Shapes.str(input.shape()) + ", got " + Shapes.str(target.shape()) + " (class-index targets must be"
                        + " int64 of shape " + Shapes.str(indexShape(input)) + ")");
            }
            Tensor t = unbatched ? target.unsqueeze(0) : target;
            Tensor out = softTargetLoss(x.logSoftmax(1), t, weight, reduction, labelSmoothing, loss);
            return unbatched && reduction == Reduction.NONE ? out.squeeze(0) : out;
        }
        checkIndexTarget(loss, input, target);
        Tensor t = unbatched ? target.unsqueeze(0) : target;
        Tensor out = nll(loss, x.logSoftmax(1), t, weight, ignoreIndex, reduction, labelSmoothing);
        return unbatched && reduction == Reduction.NONE ? out.squeeze(0) : out;
    }

    /** Negative log-likelihood of log-probabilities {@code [N, C, ...]} at int64 class indices, mean. */
    public static Tensor nllLoss(Tensor input, Tensor target) {
        return nllLoss(input, target, null, -100, Reduction.MEAN);
    }

    /**
     * Negative log-likelihood {@code -weight[t] * input[n, t]} of log-probabilities {@code [N, C]},
     * {@code [N, C, d1, ...]} or {@code [C]} at int64 class indices; the mean divides by the summed
     * weights of the non-ignored targets.
     */
    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, long ignoreIndex, Reduction reduction) {
        String loss = "NLLLoss";
        checkFloat(loss, "input (log-probabilities)", input);
        if (input.dim() == 0) {
            throw new IllegalArgumentException(loss + ": input must have a class dim, got a 0-dim tensor");
        }
        boolean unbatched = input.dim() == 1;
        Tensor x = unbatched ? input.unsqueeze(0) : input;
        checkClassWeight(loss, weight, x.size(1));
        checkIndexTarget(loss, input, target);
        Tensor t = unbatched ? target.unsqueeze(0) : target;
        Tensor out = nll(loss, x, t, weight, ignoreIndex, reduction, 0);
        return unbatched && reduction == Reduction.NONE ? out.squeeze(0) : out;
    }

    private static long[] indexShape(Tensor input) {
        if (input.dim() == 1) {
            return new long[0];
        }
        long[] s = input.shape();
        long[] out = new long[s.length - 1];
        out[0] = s[0];
        System.arraycopy(s, 2, out, 1, s.length - 2);
        return out;
    }

    private static void checkIndexTarget(String loss, Tensor input, Tensor target) {
        long[] expected = indexShape(input);
        if (target.dtype() != DType.INT64) {
            throw new IllegalArgumentException(loss + ": targets must be int64 class indices (or, for CrossEntropyLoss,"
                    + " floating probabilities of the input's shape), got " + target.dtype() + " " + Shapes.str(target.shape())
                    + " for input " + Shapes.str(input.shape()));
        }
        if (!Arrays.equals(target.shape(), expected)) {
            throw new IllegalArgumentException(loss + ": class-index targets for input " + Shapes.str(input.shape())
                    + " must have shape " + Shapes.str(expected) + ", got " + Shapes.str(target.shape()));
        }
    }

    private static void checkClassWeight(String loss, Tensor weight, long c) {
        if (weight != null && (weight.dim() != 1 || weight.size(0) != c)) {
            throw new IllegalArgumentException(loss + ": weight must be a 1-D tensor of one value per class [" + c + "], got "
                    + Shapes.str(weight.shape()));
        }
    }

    /** {@code [1, C, 1, ...]} view of a per-class weight for {@code [N, C, ...]}. */
    private static Tensor classView(Tensor weight, int rank) {
        return weight.view(Shapes.along(rank, 1, weight.size(0)));
    }

    /** The negative log-likelihood of {@code logp [N, C, ...]} at {@code target [N, ...]}, with label smoothing. */
    private static Tensor nll(String loss, Tensor logp, Tensor target, Tensor weight, long ignoreIndex, Reduction reduction,
                              double smoothing) {
        long c = logp.size(1);
        checkIndexRange(loss, target.reshape(-1), c, ignoreIndex);
        Tensor valid;
        Tensor safe;
        Tensor wt;
        try (GradScope s = Kiln.noGrad()) {
            Tensor keep = target.ne((double) ignoreIndex);
            safe = Tensor.where(keep, target, 0.0);
            valid = keep.to(logp.dtype());
            wt = weight == null ? valid
                    : weight.to(logp.dtype()).indexSelect(0, safe.reshape(-1)).reshape(target.shape()).mul(valid);
        }
        Tensor picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1).neg().mul(wt);
        Tensor smooth = null;
        if (smoothing > 0) {
            Tensor lw = weight == null ? logp : logp.mul(classView(weight.to(logp.dtype()), logp.dim()));
            smooth = lw.sum(1).neg().mul(valid);
        }
        return switch (reduction) {
            case NONE -> smooth == null ? picked : picked.mul(1 - smoothing).add(smooth.mul(smoothing / c));
            case SUM -> smooth == null ? picked.sum() : picked.sum().mul(1 - smoothing).add(smooth.sum().mul(smoothing / c));
            case MEAN -> {
                Tensor total = smooth == null ? picked.sum()
                        : picked.sum().mul(1 - smoothing).add(smooth.sum().mul(smoothing / c));
                yield total.div(wt.sum());
            }
            case BATCHMEAN -> throw new IllegalArgumentException(loss + ": reduction batchmean is only for KLDivLoss");
        };
    }

    private static Tensor softTargetLoss(Tensor logp, Tensor target, Tensor weight, Reduction reduction, double smoothing,
                                         String loss) {
        long c = logp.size(1);
        Tensor t = smoothing > 0 ? target.mul(1 - smoothing).add(smoothing / c) : target;
        Tensor prod = logp.mul(t);
        if (weight != null) {
            prod = prod.mul(classView(weight.to(logp.dtype()), logp.dim()));
        }
        return reduce(loss, prod.sum(1).neg(), reduction);
    }

    /** Binary cross entropy of probabilities, mean. */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target) {
        return binaryCrossEntropy(input, target, null, Reduction.MEAN);
    }

    /**
     * Binary cross entropy {@code -w (t log x + (1 - t) log(1 - x))} of probabilities {@code x} in
     * [0, 1], with each log clamped at -100 as PyTorch does (so a certain wrong prediction costs 100,
     * not infinity); {@code weight} (nullable) broadcasts to the input.
     */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction) {
        String loss = "BCELoss";
        checkSameShape(loss, input, target);
        checkFloat(loss, "input", input);
        checkFloat(loss, "target", target);
        try (GradScope s = Kiln.noGrad()) {
            if (input.numel() > 0 && (input.min().item() < 0 || input.max().item() > 1)) {
                throw new IllegalArgumentException(loss + ": all elements of input should be between 0 and 1 (probabilities;"
                        + " for logits use BCEWithLogitsLoss), got values from " + input.min().item() + " to "
                        + input.max().item());
            }
        }
        Tensor w = expandWeight(loss, "weight", weight, input);
        Tensor values = w == null ? new BinaryCrossEntropy().apply(input, target)
                : new BinaryCrossEntropy().apply(input, target, w);
        return reduce(loss, values, reduction);
    }

    private static Tensor expandWeight(String loss, String what, Tensor weight, Tensor input) {
        if (weight == null) {
            return null;
        }
        try {
            Shapes.broadcast(loss, weight.shape(), input.shape());
            return weight.to(input.dtype()).expand(input.shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(loss + ": " + what + " " + Shapes.str(weight.shape())
                    + " does not broadcast to the input " + Shapes.str(input.shape()), e);
        }
    }

    /** BCE with PyTorch's backward {@code (x - t) / max((1 - x) x, 1e-12)}, which stays finite at 0 and 1. */
    private static final class BinaryCrossEntropy extends dev.kiln.autograd.Function {
        @Override
        protected Tensor forward(dev.kiln.autograd.FunctionContext ctx, Tensor... in) {
            Tensor x = in[0];
            Tensor t = in[1];
            Tensor logX = x.log().clampMin(-100);
            Tensor log1mX = x.rsub(1.0).log().clampMin(-100);
            Tensor v = t.mul(logX.sub(log1mX)).add(log1mX).neg();
            ctx.saveForBackward(in.length > 2 ? new Tensor[] {x, t, in[2], v} : new Tensor[] {x, t, null, v});
            return in.length > 2 ? v.mul(in[2]) : v;
        }

        @Override
        protected Tensor[] backward(dev.kiln.autograd.FunctionContext ctx, Tensor g) {
            Tensor[] s = ctx.savedTensors();
            Tensor x = s[0];
            Tensor t = s[1];
            Tensor w = s[2];
            Tensor gw = w == null ? g : g.mul(w);
            Tensor gx = gw.mul(x.sub(t)).div(x.rsub(1.0).mul(x).clampMin(1e-12));
            Tensor gt = t.requiresGrad()
                    ? gw.mul(x.rsub(1.0).log().clampMin(-100).sub(x.log().clampMin(-100))) : null;
            if (w == null) {
                return new Tensor[] {gx, gt};
            }
            return new Tensor[] {gx, gt, w.requiresGrad() ? g.mul(s[3]) : null};
        }
    }

    /** Binary cross entropy of logits, mean. */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
        return binaryCrossEntropyWithLogits(input, target, null, null, Reduction.MEAN);
    }

    /**
     * Binary cross entropy of logits {@code x}: {@code -w (p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))},
     * computed stably as {@code (1 - t) x + (1 + (p - 1) t) softplus(-x)}, so logits of any size
     * give no NaN. {@code weight} broadcasts to the input; {@code posWeight} (the weight {@code p}
     * of positive examples) broadcasts along the last (class) dim. Both may be null.
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight,
                                                      Reduction reduction) {
        String loss = "BCEWithLogitsLoss";
        checkSameShape(loss, input, target);
        checkFloat(loss, "input", input);
        checkFloat(loss, "target", target);
        Tensor pw = expandWeight(loss, "pos_weight", posWeight, input);
        Tensor v = pw == null ? new BinaryCrossEntropyWithLogits().apply(input, target)
                : new BinaryCrossEntropyWithLogits().apply(input, target, pw);
        if (weight != null) {
            v = v.mul(expandWeight(loss, "weight", weight, input));
        }
        return reduce(loss, v, reduction);
    }

    /** The stable logits form with PyTorch's closed-form backward. */
    private static final class BinaryCrossEntropyWithLogits extends dev.kiln.autograd.Function {
        @Override
        protected Tensor forward(dev.kiln.autograd.FunctionContext ctx, Tensor... in) {
            Tensor x = in[0];
            Tensor t = in[1];
            Tensor pw = in.length > 2 ? in[2] : null;
            // softplus(-x) = log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)) with m = max(-x, 0).
            Tensor m = x.neg().clampMin(0);
            Tensor softplusNegX = m.neg().exp().add(x.neg().sub(m).exp()).log().add(m);
            Tensor oneMinusT = t.rsub(1.0);
            Tensor v;
            if (pw == null) {
                v = oneMinusT.mul(x).add(softplusNegX);
            } else {
                Tensor logWeight = pw.sub(1.0).mul(t).add(1.0);
                v = oneMinusT.mul(x).add(logWeight.mul(softplusNegX));
            }
            ctx.saveForBackward(x, t, pw, softplusNegX);
            return v;
        }

        @Override
        protected Tensor[] backward(dev.kiln.autograd.FunctionContext ctx, Tensor g) {
            Tensor[] s = ctx.savedTensors();
            Tensor x = s[0];
            Tensor t = s[1];
            Tensor pw = s[2];
            Tensor sp = s[3];
            Tensor gx;
            Tensor gt = null;
            if (pw == null) {
                gx = x.sigmoid().sub(t).mul(g);
                if (t.requiresGrad()) {
                    gt = x.neg().mul(g);
                }
                return new Tensor[] {gx, gt};
            }
            Tensor pt = pw.mul(t);
            gx = pt.add(1.0).sub(t).mul(x.sigmoid()).sub(pt).mul(g);
            if (t.requiresGrad()) {
                gt = pw.sub(1.0).mul(sp).sub(x).mul(g);
            }
            Tensor gp = pw.requiresGrad() ? t.mul(sp).mul(g) : null;
            return new Tensor[] {gx, gt, gp};
        }
    }

    /** KL divergence with the mean over all elements, as PyTorch's default. */
    public static Tensor klDiv(Tensor input, Tensor target) {
        return klDiv(input, target, Reduction.MEAN, false);
    }

    /**
     * Kullback-Leibler divergence of the target from the input, both of one shape: {@code input}
     * holds log-probabilities; {@code target} probabilities, or log-probabilities with
     * {@code logTarget}. Pointwise {@code t (log t - x)}, with 0 where {@code t == 0}.
     * {@link Reduction#MEAN} averages over all elements; {@link Reduction#BATCHMEAN} (the
     * mathematically correct KL divergence) divides the sum by the batch size.
     */
    public static Tensor klDiv(Tensor input, Tensor target, Reduction reduction, boolean logTarget) {
        String loss = "KLDivLoss";
        checkSameShape(loss, input, target);
        checkFloat(loss, "input", input);
        checkFloat(loss, "target", target);
        Tensor v;
        if (logTarget) {
            v = target.exp().mul(target.sub(input));
        } else {
            Tensor zero = target.eq(0.0);
            Tensor safe = Tensor.where(zero, 1.0, target);
            v = target.mul(safe.log()).sub(target.mul(input));
        }
        if (reduction == Reduction.BATCHMEAN) {
            Tensor sum = v.sum();
            return input.dim() == 0 ? sum : sum.div((double) input.size(0));
        }
        return reduce(loss, v, reduction);
    }
}
