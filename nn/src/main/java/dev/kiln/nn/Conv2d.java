package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * A 2-D convolution over {@code [N, C, H, W]} (or {@code [C, H, W]}) inputs, as
 * {@code torch.nn.Conv2d}; weight {@code [out, in / groups, kH, kW]}. The short constructors cover
 * the common cases; {@link #builder} sets everything, with one value for both axes or two:
 *
 * <pre>{@code
 * new Conv2d(3, 16, 3);                                  // kernel 3, stride 1, no padding
 * new Conv2d(3, 16, 3, 2, 1);                            // stride 2, padding 1
 * Conv2d.builder(16, 32, 3).padding(1).groups(4).bias(false).build();
 * Conv2d.builder(2, 2, 2, 3).stride(2, 1).padding(1, 0).build();   // a 2x3 kernel
 * }</pre>
 */
public class Conv2d extends ConvBase {

    /** Kernel {@code k x k}, stride 1, no padding, with a bias. */
    public Conv2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0);
    }

    /** Kernel {@code k x k} with square stride and padding, with a bias. */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(builder(inChannels, outChannels, kernelSize).stride(stride).padding(padding));
    }

    private Conv2d(Builder b) {
        super("Conv2d", b.in, b.out, b.kernel, b.stride, b.padding, b.dilation, new int[2], b.groups, b.bias, false);
    }

    /** Options for a {@code k x k} kernel. */
    public static Builder builder(int inChannels, int outChannels, int kernelSize) {
        return new Builder(inChannels, outChannels, new int[] {kernelSize, kernelSize});
    }

    /** Options for a {@code kH x kW} kernel. */
    public static Builder builder(int inChannels, int outChannels, int kernelH, int kernelW) {
        return new Builder(inChannels, outChannels, new int[] {kernelH, kernelW});
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups);
    }

    /** The options of a {@link Conv2d}: stride 1, padding 0, dilation 1, groups 1 and a bias unless set. */
    public static final class Builder extends Conv2dLayerBuilder<Builder> {

        private Builder(int in, int out, int[] kernel) {
            super("Conv2d", in, out, kernel);
        }

        /** The layer, with PyTorch's default initialisation; throws on invalid options. */
        public Conv2d build() {
            return new Conv2d(this);
        }
    }
}
