package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * 2-D average pooling, as {@code torch.nn.AvgPool2d} (floor mode): the stride defaults to the
 * window; by default ({@code countIncludePad}) padding zeros count in each window's divisor.
 *
 * <pre>{@code
 * new AvgPool2d(2);
 * AvgPool2d.builder(3).stride(2).padding(1).countIncludePad(false).build();
 * }</pre>
 */
public class AvgPool2d extends Module {

    private final int[] kernelSize;
    private final int[] stride;
    private final int[] padding;
    private final boolean countIncludePad;
    private final int divisorOverride;

    /** Square windows of {@code kernelSize}, stride {@code kernelSize}. */
    public AvgPool2d(int kernelSize) {
        this(builder(kernelSize));
    }

    public AvgPool2d(int kernelSize, int stride) {
        this(builder(kernelSize).stride(stride));
    }

    public AvgPool2d(int kernelSize, int stride, int padding) {
        this(builder(kernelSize).stride(stride).padding(padding));
    }

    private AvgPool2d(Builder b) {
        this.kernelSize = b.kernel;
        this.stride = b.stride == null ? b.kernel : b.stride;
        this.padding = b.padding;
        this.countIncludePad = b.countIncludePad;
        this.divisorOverride = b.divisorOverride;
        Layers.positive("AvgPool2d", "kernel_size", kernelSize);
        Layers.positive("AvgPool2d", "stride", stride);
        int[] k = F.pair("AvgPool2d", "kernel_size", kernelSize);
        int[] p = F.pair("AvgPool2d", "padding", padding);
        if (p[0] < 0 || p[1] < 0 || p[0] > k[0] / 2 || p[1] > k[1] / 2) {
            throw new IllegalArgumentException("AvgPool2d: padding " + Repr.tuple(padding)
                    + " must be non-negative and at most half of the kernel size " + Repr.tuple(kernelSize));
        }
        if (divisorOverride < 0) {
            throw new IllegalArgumentException("AvgPool2d: divisor_override must be positive, got " + divisorOverride);
        }
    }

    public static Builder builder(int kernelSize) {
        return new Builder(new int[] {kernelSize});
    }

    public static Builder builder(int kernelH, int kernelW) {
        return new Builder(new int[] {kernelH, kernelW});
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.avgPool2d(x, kernelSize, stride, padding, countIncludePad, divisorOverride);
    }

    @Override
    public String extraRepr() {
        return "kernel_size=" + Repr.intOrTuple(kernelSize.length == 1, kernelSize)
                + ", stride=" + Repr.intOrTuple(stride.length == 1, stride)
                + ", padding=" + Repr.intOrTuple(padding.length == 1, padding);
    }

    /** The options of an {@link AvgPool2d}. */
    public static final class Builder {
        private final int[] kernel;
        private int[] stride;
        private int[] padding = {0};
        private boolean countIncludePad = true;
        private int divisorOverride;

        private Builder(int[] kernel) {
            this.kernel = kernel;
        }

        /** Defaults to the window size. */
        public Builder stride(int... stride) {
            F.pair("AvgPool2d", "stride", stride);
            this.stride = stride.clone();
            return this;
        }

        public Builder padding(int... padding) {
            F.pair("AvgPool2d", "padding", padding);
            this.padding = padding.clone();
            return this;
        }

        /** Whether padding zeros count in the divisor (default true). */
        public Builder countIncludePad(boolean countIncludePad) {
            this.countIncludePad = countIncludePad;
            return this;
        }

        /** Divides every window sum by this instead of the window size. */
        public Builder divisorOverride(int divisor) {
            this.divisorOverride = divisor;
            return this;
        }

        public AvgPool2d build() {
            return new AvgPool2d(this);
        }
    }
}
