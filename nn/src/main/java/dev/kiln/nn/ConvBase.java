package dev.kiln.nn;

import dev.kiln.Tensor;

/** The state shared by the convolution layers: channels, geometry per spatial axis, groups, weight and bias. */
abstract class ConvBase extends Module {

    final int inChannels;
    final int outChannels;
    final int[] kernelSize;
    final int[] stride;
    final int[] padding;
    final int[] dilation;
    final int[] outputPadding;
    final int groups;
    final boolean transposed;
    final Tensor weight;
    final Tensor bias;

    ConvBase(String layer, int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation,
             int[] outputPadding, int groups, boolean bias, boolean transposed) {
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0) {
            throw new IllegalArgumentException(layer + ": in_channels, out_channels and groups must be positive, got "
                    + inChannels + ", " + outChannels + ", " + groups);
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException(layer + ": in_channels " + inChannels + " and out_channels " + outChannels
                    + " must both be divisible by groups " + groups);
        }
        Layers.positive(layer, "kernel_size", kernelSize);
        Layers.positive(layer, "stride", stride);
        Layers.positive(layer, "dilation", dilation);
        for (int i = 0; i < padding.length; i++) {
            if (padding[i] < 0 || outputPadding[i] < 0) {
                throw new IllegalArgumentException(layer + ": padding must be non-negative, got " + Repr.tuple(padding));
            }
            if (transposed && outputPadding[i] >= stride[i]) {
                throw new IllegalArgumentException(layer + ": output_padding " + Repr.tuple(outputPadding)
                        + " must be smaller than the stride " + Repr.tuple(stride));
            }
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize.clone();
        this.stride = stride.clone();
        this.padding = padding.clone();
        this.dilation = dilation.clone();
        this.outputPadding = outputPadding.clone();
        this.groups = groups;
        this.transposed = transposed;
        long[] shape = new long[2 + kernelSize.length];
        shape[0] = transposed ? inChannels : outChannels;
        shape[1] = transposed ? outChannels / groups : inChannels / groups;
        for (int i = 0; i < kernelSize.length; i++) {
            shape[2 + i] = kernelSize[i];
        }
        this.weight = registerParameter("weight", Tensor.empty(shape));
        this.bias = bias ? registerParameter("bias", Tensor.empty(outChannels)) : null;
        resetParameters();
    }

    /** Re-draws the weights and bias with PyTorch's default initialisation. */
    public void resetParameters() {
        Layers.defaultInit(weight, bias);
    }

    /** The weight: {@code [out, in / groups, k...]}, or {@code [in, out / groups, k...]} when transposed. */
    public Tensor weight() {
        return weight;
    }

    /** The bias {@code [out]}, or null for a layer built without one. */
    public Tensor bias() {
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    public int groups() {
        return groups;
    }

    public int[] kernelSize() {
        return kernelSize.clone();
    }

    public int[] stride() {
        return stride.clone();
    }

    public int[] padding() {
        return padding.clone();
    }

    public int[] dilation() {
        return dilation.clone();
    }

    private static boolean all(int[] v, int x) {
        for (int e : v) {
            if (e != x) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String extraRepr() {
        StringBuilder sb = new StringBuilder();
        sb.append(inChannels).append(", ").append(outChannels).append(", kernel_size=").append(Repr.tuple(kernelSize))
                .append(", stride=").append(Repr.tuple(stride));
        if (!all(padding, 0)) {
            sb.append(", padding=").append(Repr.tuple(padding));
        }
        if (!all(dilation, 1)) {
            sb.append(", dilation=").append(Repr.tuple(dilation));
        }
        if (!all(outputPadding, 0)) {
            sb.append(", output_padding=").append(Repr.tuple(outputPadding));
        }
        if (groups != 1) {
            sb.append(", groups=").append(groups);
        }
        if (bias == null) {
            sb.append(", bias=False");
        }
        return sb.toString();
    }
}
