package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * A 1-D convolution over {@code [N, C, L]} (or {@code [C, L]}) inputs, as
 * {@code torch.nn.Conv1d}; weight {@code [out, in / groups, k]}.
 *
 * <pre>{@code
 * new Conv1d(2, 8, 3);
 * Conv1d.builder(2, 8, 3).stride(2).padding(2).dilation(2).build();
 * }</pre>
 */
public class Conv1d extends ConvBase {

    /** Kernel {@code k}, stride 1, no padding, with a bias. */
    public Conv1d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0);
    }

    /** Kernel {@code k} with the given stride and padding, with a bias. */
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(builder(inChannels, outChannels, kernelSize).stride(stride).padding(padding));
    }

    private Conv1d(Builder b) {
        super("Conv1d", b.in, b.out, new int[] {b.kernel}, new int[] {b.stride}, new int[] {b.padding},
                new int[] {b.dilation}, new int[1], b.groups, b.bias, false);
    }

    public static Builder builder(int inChannels, int outChannels, int kernelSize) {
        return new Builder(inChannels, outChannels, kernelSize);
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.conv1d(x, weight, bias, stride[0], padding[0], dilation[0], groups);
    }

    /** The options of a {@link Conv1d}: stride 1, padding 0, dilation 1, groups 1 and a bias unless set. */
    public static final class Builder {
        private final int in;
        private final int out;
        private final int kernel;
        private int stride = 1;
        private int padding;
        private int dilation = 1;
        private int groups = 1;
        private boolean bias = true;

        private Builder(int in, int out, int kernel) {
            this.in = in;
            this.out = out;
            this.kernel = kernel;
        }

        public Builder stride(int stride) {
            this.stride = stride;
            return this;
        }

        public Builder padding(int padding) {
            this.padding = padding;
            return this;
        }

        public Builder dilation(int dilation) {
            this.dilation = dilation;
            return this;
        }

        public Builder groups(int groups) {
            this.groups = groups;
            return this;
        }

        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        public Conv1d build() {
            return new Conv1d(this);
        }
    }
}
