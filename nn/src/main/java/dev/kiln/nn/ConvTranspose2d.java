package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * A transposed 2-D convolution (sometimes called deconvolution), as
 * {@code torch.nn.ConvTranspose2d}: the gradient of a {@link Conv2d} with respect to its input,
 * used to upsample. Weight {@code [in, out / groups, kH, kW]}; output height
 * {@code (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1}.
 *
 * <pre>{@code
 * new ConvTranspose2d(16, 8, 3);
 * ConvTranspose2d.builder(16, 8, 3).stride(2).padding(1).outputPadding(1).build();   // doubles H and W
 * }</pre>
 */
public class ConvTranspose2d extends ConvBase {

    /** Kernel {@code k x k}, stride 1, no padding, with a bias. */
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize) {
        this(builder(inChannels, outChannels, kernelSize));
    }

    private ConvTranspose2d(Builder b) {
        super("ConvTranspose2d", b.in, b.out, b.kernel, b.stride, b.padding, b.dilation, b.outputPadding, b.groups, b.bias,
                true);
    }

    public static Builder builder(int inChannels, int outChannels, int kernelSize) {
        return new Builder(inChannels, outChannels, new int[] {kernelSize, kernelSize});
    }

    public static Builder builder(int inChannels, int outChannels, int kernelH, int kernelW) {
        return new Builder(inChannels, outChannels, new int[] {kernelH, kernelW});
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.convTranspose2d(x, weight, bias, stride, padding, outputPadding, groups, dilation);
    }

    /** The options of a {@link ConvTranspose2d}; each geometric option takes one value for both axes or two. */
    public static final class Builder extends Conv2dLayerBuilder<Builder> {
        private int[] outputPadding = {0, 0};

        private Builder(int in, int out, int[] kernel) {
            super("ConvTranspose2d", in, out, kernel);
        }

        /** Extra rows and columns on one side of the output (smaller than the stride). */
        public Builder outputPadding(int... outputPadding) {
            this.outputPadding = geometry("output_padding", outputPadding);
            return this;
        }

        /** The layer, with PyTorch's default initialisation; throws on invalid options. */
        public ConvTranspose2d build() {
            return new ConvTranspose2d(this);
        }
    }
}
