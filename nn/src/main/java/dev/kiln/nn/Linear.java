package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * A fully connected layer {@code y = x W^T + b}, as {@code torch.nn.Linear}: {@code weight} is
 * {@code [outFeatures, inFeatures]}, {@code bias} {@code [outFeatures]}. Input {@code [..., in]},
 * output {@code [..., out]}. Weights start Kaiming-uniform with {@code a = sqrt(5)} and the bias
 * {@code U(-1/sqrt(in), 1/sqrt(in))}, as PyTorch.
 */
public class Linear extends Module {

    private final long inFeatures;
    private final long outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    /** A layer with a bias. */
    public Linear(long inFeatures, long outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    public Linear(long inFeatures, long outFeatures, boolean bias) {
        if (inFeatures < 0 || outFeatures < 0) {
            throw new IllegalArgumentException("Linear: feature counts must be non-negative, got in_features=" + inFeatures
                    + ", out_features=" + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Tensor.empty(outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Tensor.empty(outFeatures)) : null;
        resetParameters();
    }

    /** Re-draws the weights and bias with PyTorch's default initialisation. */
    public void resetParameters() {
        Layers.defaultInit(weight, bias);
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.linear(x, weight, bias);
    }

    public Tensor weight() {
        return weight;
    }

    /** The bias, or null for a layer built without one. */
    public Tensor bias() {
        return bias;
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    @Override
    public String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + Repr.bool(bias != null);
    }
}
