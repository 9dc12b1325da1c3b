package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * 2-D max pooling, as {@code torch.nn.MaxPool2d} (floor mode): the stride defaults to the window;
 * padding counts as minus infinity and may be at most half the window.
 *
 * <pre>{@code
 * new MaxPool2d(2);                                    // 2x2 windows, stride 2
 * new MaxPool2d(3, 2, 1);                              // 3x3, stride 2, padding 1
 * MaxPool2d.builder(2, 3).stride(1, 2).build();        // 2x3 windows
 * }</pre>
 */
public class MaxPool2d extends Module {

    private final int[] kernelSize;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;

    /** Square windows of {@code kernelSize}, stride {@code kernelSize}. */
    public MaxPool2d(int kernelSize) {
        this(builder(kernelSize));
    }

    public MaxPool2d(int kernelSize, int stride) {
        this(builder(kernelSize).stride(stride));
    }

    public MaxPool2d(int kernelSize, int stride, int padding) {
        this(builder(kernelSize).stride(stride).padding(padding));
    }

    private MaxPool2d(Builder b) {
        this.kernelSize = b.kernel;
        this.stride = b.stride == null ? b.kernel : b.stride;
        this.padding = b.padding;
        this.dilation = b.dilation;
        Layers.poolingWindow("MaxPool2d", kernelSize, stride, dilation, padding);
    }

    /** Options for square windows. */
    public static Builder builder(int kernelSize) {
        return new Builder(new int[] {kernelSize});
    }

    /** Options for {@code kH x kW} windows. */
    public static Builder builder(int kernelH, int kernelW) {
        return new Builder(new int[] {kernelH, kernelW});
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.maxPool2d(x, kernelSize, stride, padding, dilation);
    }

    @Override
    public String extraRepr() {
        return "kernel_size=" + Repr.intOrTuple(kernelSize.length == 1, kernelSize)
                + ", stride=" + Repr.intOrTuple(stride.length == 1, stride)
                + ", padding=" + Repr.intOrTuple(padding.length == 1, padding)
                + ", dilation=" + Repr.intOrTuple(dilation.length == 1, dilation) + ", ceil_mode=False";
    }

    /** The options of a {@link MaxPool2d}; each takes one value for both axes or two. */
    public static final class Builder extends Window2dBuilder<Builder> {
        private int[] dilation = {1};

        private Builder(int[] kernel) {
            super("MaxPool2d", kernel, false, null, new int[] {0});
        }

        /** Spacing between the taps of a window: one value for both axes, or {@code (dH, dW)}; default 1. */
        public Builder dilation(int... dilation) {
            this.dilation = geometry("dilation", dilation);
            return this;
        }

        /** The layer; throws on invalid options. */
        public MaxPool2d build() {
            return new MaxPool2d(this);
        }
    }
}
