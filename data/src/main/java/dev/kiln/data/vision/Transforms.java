package dev.kiln.data.vision;

import dev.kiln.Generator;
import dev.kiln.Tensor;
import dev.kiln.data.Transform;
import dev.kiln.data.WorkerContext;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Image transforms, the counterparts of {@code torchvision.transforms}:
 *
 * <pre>{@code
 * var transform = Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5));
 * }</pre>
 *
 * <p>{@link #toTensor()} turns an {@link Image} into a float {@code [C, H, W]} tensor; every other
 * transform works on such tensors (and on batches {@code [N, C, H, W]}, or any leading dims), so in a
 * pipeline they come after {@code toTensor}, which the types enforce. All of them have a batch form
 * (see {@link Transform#applyBatch}) except {@link #lambda(Function)} without a batch function.
 *
 * <p>Random transforms draw from the generator given to them or, by default, from
 * {@link WorkerContext#generator()}: inside a {@code DataLoader} that is a generator seeded per batch
 * from the loader's seed, so augmentation is reproducible under {@code Kiln.manualSeed} and does not
 * depend on the number of workers.
 */
public final class Transforms {

    private Transforms() {
    }

    // ------------------------------------------------------------------ composition

    /** {@code first} then {@code second}. */
    public static <A, B, C> Transform<A, C> compose(Transform<A, ? extends B> first, Transform<? super B, ? extends C> second) {
        return new Compose<>(List.of(first, second));
    }

    /** Three transforms in order. */
    public static <A, B, C, D> Transform<A, D> compose(Transform<A, ? extends B> first, Transform<? super B, ? extends C> second,
                                                      Transform<? super C, ? extends D> third) {
        return new Compose<>(List.of(first, second, third));
    }

    /** Four transforms in order. */
    public static <A, B, C, D, E> Transform<A, E> compose(Transform<A, ? extends B> first,
                                                         Transform<? super B, ? extends C> second,
                                                         Transform<? super C, ? extends D> third,
                                                         Transform<? super D, ? extends E> fourth) {
        return new Compose<>(List.of(first, second, third, fourth));
    }

    /** Five transforms in order. */
    public static <A, B, C, D, E, F> Transform<A, F> compose(Transform<A, ? extends B> first,
                                                            Transform<? super B, ? extends C> second,
                                                            Transform<? super C, ? extends D> third,
                                                            Transform<? super D, ? extends E> fourth,
                                                            Transform<? super E, ? extends F> fifth) {
        return new Compose<>(List.of(first, second, third, fourth, fifth));
    }

    /** Any number of tensor transforms in order. */
    public static Transform<Tensor, Tensor> compose(List<? extends Transform<Tensor, Tensor>> transforms) {
        return new Compose<>(new ArrayList<>(transforms));
    }

    /** A chain of transforms; the types were checked by the {@code compose} overloads that build it. */
    private static final class Compose<I, O> implements Transform<I, O> {
        private final List<Transform<?, ?>> stages;

        Compose(List<? extends Transform<?, ?>> stages) {
            for (Transform<?, ?> t : stages) {
                Objects.requireNonNull(t, "compose: a transform is null");
            }
            this.stages = List.copyOf(stages);
        }

        @Override
        @SuppressWarnings("unchecked")
        public O apply(I input) {
            Object x = input;
            for (Transform<?, ?> t : stages) {
                x = ((Transform<Object, Object>) t).apply(x);
            }
            return (O) x;
        }

        @Override
        public boolean supportsBatch() {
            for (Transform<?, ?> t : stages) {
                if (!t.supportsBatch()) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public Tensor applyBatch(Tensor batch) {
            Tensor x = batch;
            for (Transform<?, ?> t : stages) {
                x = t.applyBatch(x);
            }
            return x;
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("Compose(");
            for (int i = 0; i < stages.size(); i++) {
                s.append(i == 0 ? "" : ", ").append(stages.get(i));
            }
            return s.append(')').toString();
        }
    }

    // ------------------------------------------------------------------ conversion and normalisation

    /**
     * An {@link Image} ({@code H x W x C} bytes) to a float32 {@code [C, H, W]} tensor in [0, 1], as
     * {@code torchvision.transforms.ToTensor}. Batch form: {@code [N, H, W, C]} 0-255 values to
     * {@code [N, C, H, W]}.
     */
    public static Transform<Image, Tensor> toTensor() {
        return new Transform<>() {
            @Override
            public Tensor apply(Image image) {
                int h = image.height();
                int w = image.width();
                int c = image.channels();
                byte[] src = image.data();
                float[] out = new float[src.length];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int p = (y * w + x) * c;
                        for (int k = 0; k < c; k++) {
                            out[(k * h + y) * w + x] = (src[p + k] & 0xFF) / 255f;
                        }
                    }
                }
                return Tensor.fromArray(out, c, h, w);
            }

            @Override
            public boolean supportsBatch() {
                return true;
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                if (batch.dim() != 4) {
                    throw new IllegalArgumentException("ToTensor: a batch must be [N, H, W, C] 0-255 values, got "
                            + Arrays.toString(batch.shape()));
                }
                // One pass: the division reads the permuted view and writes a contiguous [N, C, H, W].
                return batch.permute(0, 3, 1, 2).toFloat().div(255.0);
            }

            @Override
            public String toString() {
                return "ToTensor()";
            }
        };
    }

    /**
     * {@code (x - mean) / std} with the same mean and std for every channel, as
     * {@code Normalize(mean, std)}; {@code normalize(0.5, 0.5)} maps [0, 1] to [-1, 1].
     */
    public static Transform<Tensor, Tensor> normalize(double mean, double std) {
        return normalize(new double[] {mean}, new double[] {std});
    }

    /**
     * Per-channel {@code (x[c] - mean[c]) / std[c]} on {@code [..., C, H, W]} tensors, as
     * {@code torchvision.transforms.Normalize}; arrays of length 1 apply to every channel.
     */
    public static Transform<Tensor, Tensor> normalize(double[] mean, double[] std) {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("Normalize: mean and std must have the same, nonzero length, got "
                    + Arrays.toString(mean) + " and " + Arrays.toString(std));
        }
        for (double s : std) {
            if (s == 0 || Double.isNaN(s)) {
                throw new IllegalArgumentException("Normalize: std evaluated to zero or NaN, leading to division by zero: "
                        + Arrays.toString(std));
            }
        }
        double[] m = mean.clone();
        double[] s = std.clone();
        return new TensorTransform() {
            @Override
            public Tensor apply(Tensor x) {
                if (x.dim() < 3) {
                    throw new IllegalArgumentException("Normalize: expected a [..., C, H, W] tensor, got "
                            + Arrays.toString(x.shape()));
                }
                if (!x.dtype().isFloatingPoint()) {
                    throw new IllegalArgumentException("Normalize: expected a floating point tensor, got " + x.dtype()
                            + " (apply toTensor first)");
                }
                if (m.length == 1) {
                    return x.sub(m[0]).div(s[0]);
                }
                long c = x.size(-3);
                if (c != m.length) {
                    throw new IllegalArgumentException("Normalize: " + m.length + " channel means for a tensor with " + c
                            + " channels, shape " + Arrays.toString(x.shape()));
                }
                Tensor mt = Tensor.fromArray(m, c, 1, 1).to(x.dtype()).to(x.device());
                Tensor st = Tensor.fromArray(s, c, 1, 1).to(x.dtype()).to(x.device());
                return x.sub(mt).div(st);
            }

            @Override
            public String toString() {
                return "Normalize(mean=" + Arrays.toString(m) + ", std=" + Arrays.toString(s) + ")";
            }
        };
    }

    /** A transform that works the same on one tensor and on a batch of them (leading dims). */
    private abstract static class TensorTransform implements Transform<Tensor, Tensor> {
        @Override
        public boolean supportsBatch() {
            return true;
        }

        @Override
        public Tensor applyBatch(Tensor batch) {
            return apply(batch);
        }
    }

    // ------------------------------------------------------------------ user functions

    /** A user function as a transform ({@code torchvision.transforms.Lambda}); it has no batch form. */
    public static <I, O> Transform<I, O> lambda(Function<? super I, ? extends O> fn) {
        Objects.requireNonNull(fn, "fn");
        return new Transform<>() {
            @Override
            public O apply(I input) {
                return fn.apply(input);
            }

            @Override
            public String toString() {
                return "Lambda()";
            }
        };
    }

    /**
     * A user function on tensors with a batch form: {@code batchFn} gets {@code [N, ...]} stacks and
     * must return the stack of what {@code fn} returns for each.
     */
    public static Transform<Tensor, Tensor> lambda(UnaryOperator<Tensor> fn, UnaryOperator<Tensor> batchFn) {
        Objects.requireNonNull(fn, "fn");
        Objects.requireNonNull(batchFn, "batchFn");
        return new Transform<>() {
            @Override
            public Tensor apply(Tensor input) {
                return fn.apply(input);
            }

            @Override
            public boolean supportsBatch() {
                return true;
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                return batchFn.apply(batch);
            }

            @Override
            public String toString() {
                return "Lambda()";
            }
        };
    }

    // ------------------------------------------------------------------ random augmentation

    private static Generator source(Generator given) {
        return given != null ? given : WorkerContext.generator();
    }

    /** Flips {@code [..., H, W]} tensors left to right with probability 0.5. */
    public static Transform<Tensor, Tensor> randomHorizontalFlip() {
        return randomHorizontalFlip(0.5, null);
    }

    /** Flips with probability {@code p}, drawing from {@link WorkerContext#generator()}. */
    public static Transform<Tensor, Tensor> randomHorizontalFlip(double p) {
        return randomHorizontalFlip(p, null);
    }

    /**
     * Flips {@code [..., H, W]} tensors along W with probability {@code p}, as
     * {@code RandomHorizontalFlip}; one draw per sample from {@code generator} (null: the
     * {@link WorkerContext#generator()}). Batch form: {@code [N, ..., H, W]}, one draw per sample in
     * order, so it flips exactly the samples the per-sample form would.
     */
    public static Transform<Tensor, Tensor> randomHorizontalFlip(double p, Generator generator) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("RandomHorizontalFlip: p must be in [0, 1], got " + p);
        }
        return new Transform<>() {
            @Override
            public Tensor apply(Tensor x) {
                requireImage("RandomHorizontalFlip", x, 2);
                return source(generator).uniformDoubles(1)[0] < p ? flipW(x) : x;
            }

            @Override
            public boolean supportsBatch() {
                return true;
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                requireImage("RandomHorizontalFlip", batch, 3);
                int n = (int) batch.size(0);
                Generator g = source(generator);
                boolean[] flip = new boolean[n];
                int count = 0;
                for (int i = 0; i < n; i++) {
                    flip[i] = g.uniformDoubles(1)[0] < p;
                    count += flip[i] ? 1 : 0;
                }
                if (count == 0) {
                    return batch;
                }
                Tensor flipped = flipW(batch);
                if (count == n) {
                    return flipped;
                }
                long[] maskShape = new long[batch.dim()];
                Arrays.fill(maskShape, 1);
                maskShape[0] = n;
                Tensor mask = Tensor.fromArray(flip, maskShape).to(batch.device());
                return Tensor.where(mask, flipped, batch);
            }

            @Override
            public String toString() {
                return "RandomHorizontalFlip(p=" + p + ")";
            }
        };
    }

    private static Tensor flipW(Tensor x) {
        long w = x.size(-1);
        long[] rev = new long[(int) w];
        for (int i = 0; i < rev.length; i++) {
            rev[i] = w - 1 - i;
        }
        return x.indexSelect(-1, Tensor.of(rev).to(x.device()));
    }

    private static void requireImage(String op, Tensor x, int minRank) {
        if (x.dim() < minRank) {
            throw new IllegalArgumentException(op + ": expected a tensor of at least " + minRank + " dims ("
                    + (minRank == 2 ? "[..., H, W]" : "[N, ..., H, W]") + "), got " + Arrays.toString(x.shape()));
        }
    }

    /** A random {@code size x size} crop of {@code [..., H, W]} tensors, no padding. */
    public static Transform<Tensor, Tensor> randomCrop(int size) {
        return randomCrop(size, size, new int[] {0}, false, 0, null);
    }

    /**
     * A random {@code size x size} crop after padding every side by {@code padding} with zeros, as
     * {@code RandomCrop(32, padding=4)}.
     */
    public static Transform<Tensor, Tensor> randomCrop(int size, int padding) {
        return randomCrop(size, size, new int[] {padding}, false, 0, null);
    }

    /**
     * A random {@code height x width} crop, as {@code torchvision.transforms.RandomCrop}: first pads
     * the borders with {@code fill} by {@code padding} (one value for all sides, two for left/right and
     * top/bottom, or four for left, top, right, bottom); with {@code padIfNeeded} then pads an image
     * smaller than the crop on both sides by the shortfall, as torchvision does. The offsets are two
     * draws per sample from {@code generator} (null: {@link WorkerContext#generator()}).
     */
    public static Transform<Tensor, Tensor> randomCrop(int height, int width, int[] padding, boolean padIfNeeded,
                                                      double fill, Generator generator) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("RandomCrop: size must be positive, got " + height + "x" + width);
        }
        int[] pad = switch (padding.length) {
            case 1 -> new int[] {padding[0], padding[0], padding[0], padding[0]};
            case 2 -> new int[] {padding[0], padding[1], padding[0], padding[1]};
            case 4 -> padding.clone();
            default -> throw new IllegalArgumentException("RandomCrop: padding must have 1, 2 or 4 values, got "
                    + Arrays.toString(padding));
        };
        for (int v : pad) {
            if (v < 0) {
                throw new IllegalArgumentException("RandomCrop: negative padding " + Arrays.toString(padding));
            }
        }
        return new Transform<>() {
            /** Pads as configured; returns the padded tensor. */
            private Tensor padded(Tensor x) {
                Tensor y = pad(x, pad[0], pad[1], pad[2], pad[3], fill);
                if (padIfNeeded && y.size(-1) < width) {
                    int d = (int) (width - y.size(-1));
                    y = pad(y, d, 0, d, 0, fill);
                }
                if (padIfNeeded && y.size(-2) < height) {
                    int d = (int) (height - y.size(-2));
                    y = pad(y, 0, d, 0, d, fill);
                }
                if (y.size(-2) < height || y.size(-1) < width) {
                    throw new IllegalArgumentException("RandomCrop: the crop size " + height + "x" + width
                            + " is larger than the (padded) input " + y.size(-2) + "x" + y.size(-1));
                }
                return y;
            }

            /** The crop of one [..., H, W] sample, drawing its offsets. */
            private Tensor crop(Tensor y, Generator g) {
                long h = y.size(-2);
                long w = y.size(-1);
                if (h == height && w == width) {
                    return y;
                }
                double[] u = g.uniformDoubles(2);
                long top = (long) (u[0] * (h - height + 1));
                long left = (long) (u[1] * (w - width + 1));
                return y.narrow(-2, top, height).narrow(-1, left, width);
            }

            @Override
            public Tensor apply(Tensor x) {
                requireImage("RandomCrop", x, 2);
                return crop(padded(x), source(generator)).contiguous();
            }

            @Override
            public boolean supportsBatch() {
                return true;
            }

            @Override
            public Tensor applyBatch(Tensor batch) {
                requireImage("RandomCrop", batch, 3);
                Tensor y = padded(batch);
                Generator g = source(generator);
                int n = (int) y.size(0);
                List<Tensor> crops = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    crops.add(crop(y.select(0, i), g));
                }
                return Tensor.stack(crops, 0);
            }

            @Override
            public String toString() {
                return "RandomCrop(size=(" + height + ", " + width + "), padding=" + Arrays.toString(pad) + ")";
            }
        };
    }

    /** {@code x} with {@code left, top, right, bottom} borders of {@code fill} around its last two dims. */
    static Tensor pad(Tensor x, int left, int top, int right, int bottom, double fill) {
        if (left == 0 && top == 0 && right == 0 && bottom == 0) {
            return x;
        }
        long[] shape = x.shape();
        int r = shape.length;
        long h = shape[r - 2];
        long w = shape[r - 1];
        shape[r - 2] = h + top + bottom;
        shape[r - 1] = w + left + right;
        Tensor out = Tensor.full(shape, fill, x.dtype(), x.device());
        out.narrow(-2, top, h).narrow(-1, left, w).copy_(x);
        return out;
    }

    // ------------------------------------------------------------------ resizing

    /**
     * Resizes {@code [..., H, W]} tensors so that the shorter side becomes {@code size}, keeping the
     * aspect ratio (the longer side is {@code floor(size * long / short)}), as {@code Resize(size)}.
     */
    public static Transform<Tensor, Tensor> resize(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("Resize: size must be positive, got " + size);
        }
        return new TensorTransform() {
            @Override
            public Tensor apply(Tensor x) {
                requireImage("Resize", x, 2);
                long h = x.size(-2);
                long w = x.size(-1);
                long oh;
                long ow;
                if (h <= w) {
                    oh = size;
                    ow = (long) ((double) size * w / h);
                } else {
                    ow = size;
                    oh = (long) ((double) size * h / w);
                }
                return bilinear(x, (int) oh, (int) ow);
            }

            @Override
            public String toString() {
                return "Resize(size=" + size + ", interpolation=bilinear, antialias=False)";
            }
        };
    }

    /** Resizes {@code [..., H, W]} tensors to {@code height x width}, as {@code Resize((h, w))}. */
    public static Transform<Tensor, Tensor> resize(int height, int width) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("Resize: size must be positive, got " + height + "x" + width);
        }
        return new TensorTransform() {
            @Override
            public Tensor apply(Tensor x) {
                requireImage("Resize", x, 2);
                return bilinear(x, height, width);
            }

            @Override
            public String toString() {
                return "Resize(size=(" + height + ", " + width + "), interpolation=bilinear, antialias=False)";
            }
        };
    }

    /**
     * Bilinear interpolation over the last two dims with half-pixel centres ({@code align_corners=False})
     * and no antialiasing, as PyTorch's {@code upsample_bilinear2d}: along W first, then along H, with
     * the source coordinates and weights computed in float as ATen does. Integer tensors are computed in
     * float32 and rounded back, as torchvision does for uint8.
     */
    static Tensor bilinear(Tensor x, int outH, int outW) {
        long h = x.size(-2);
        long w = x.size(-1);
        if (h == outH && w == outW) {
            return x;
        }
        Tensor in = x.dtype().isFloatingPoint() ? x : x.toFloat();
        Axis ax = Axis.of((int) w, outW, in);
        Tensor cols = in.indexSelect(-1, ax.i0).mul(ax.l0).add(in.indexSelect(-1, ax.i1).mul(ax.l1));
        Axis ay = Axis.of((int) h, outH, in);
        Tensor l0 = ay.l0.view(outH, 1);
        Tensor l1 = ay.l1.view(outH, 1);
        Tensor out = cols.indexSelect(-2, ay.i0).mul(l0).add(cols.indexSelect(-2, ay.i1).mul(l1));
        return x.dtype().isFloatingPoint() ? out : out.round().to(x.dtype());
    }

    /** Source indices and weights of one axis. */
    private record Axis(Tensor i0, Tensor i1, Tensor l0, Tensor l1) {
        static Axis of(int in, int out, Tensor like) {
            long[] i0 = new long[out];
            long[] i1 = new long[out];
            float[] l0 = new float[out];
            float[] l1 = new float[out];
            float scale = (float) in / out;
            for (int d = 0; d < out; d++) {
                float src = scale * (d + 0.5f) - 0.5f;
                if (src < 0) {
                    src = 0;
                }
                int k = Math.min((int) src, in - 1);
                float lambda = Math.min(Math.max(src - k, 0f), 1f);
                i0[d] = k;
                i1[d] = k + (k < in - 1 ? 1 : 0);
                l1[d] = lambda;
                l0[d] = 1f - lambda;
            }
            return new Axis(Tensor.of(i0).to(like.device()), Tensor.of(i1).to(like.device()),
                    Tensor.of(l0).to(like.dtype()).to(like.device()), Tensor.of(l1).to(like.dtype()).to(like.device()));
        }
    }
}
