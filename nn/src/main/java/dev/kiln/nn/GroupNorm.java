package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Group normalization of {@code [N, C, ...]}, as {@code torch.nn.GroupNorm}: channels split into
 * {@code numGroups} groups, each normalized over its channels and positions, then a per-channel
 * {@code weight} (ones) and {@code bias} (zeros).
 */
public class GroupNorm extends Module {

    private final int numGroups;
    private final int numChannels;
    private final double eps;
    private final Tensor weight;
    private final Tensor bias;

    /** {@code eps = 1e-5}, affine. */
    public GroupNorm(int numGroups, int numChannels) {
        this(numGroups, numChannels, 1e-5, true);
    }

    public GroupNorm(int numGroups, int numChannels, double eps, boolean affine) {
        if (numGroups <= 0 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException("GroupNorm: num_channels " + numChannels + " must be divisible by num_groups "
                    + numGroups);
        }
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        this.weight = affine ? registerParameter("weight", Tensor.ones(numChannels)) : null;
        this.bias = affine ? registerParameter("bias", Tensor.zeros(numChannels)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() < 2 || x.size(1) != numChannels) {
            throw new IllegalArgumentException("GroupNorm: expected an input [N, " + numChannels + ", ...], got "
                    + dev.kiln.Shapes.str(x.shape()));
        }
        return F.groupNorm(x, numGroups, weight, bias, eps);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    @Override
    public String extraRepr() {
        return numGroups + ", " + numChannels + ", eps=" + Repr.pyFloat(eps) + ", affine=" + Repr.bool(weight != null);
    }
}
