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
        Layers.poolingWindow("AvgPool2d", kernelSize, stride, null, padding);
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

    /** The options of an {@link AvgPool2d}; the geometric ones take one value for both axes or two. */
    public static final class Builder extends Window2dBuilder<Builder> {
        private boolean countIncludePad = true;
        private int divisorOverride;

        private Builder(int[] kernel) {
            super("AvgPool2d", kernel, false, null, new int[] {0});
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

        /** The layer; throws on invalid options. */
        public AvgPool2d build() {
            return new AvgPool2d(this);
        }
    }
}
