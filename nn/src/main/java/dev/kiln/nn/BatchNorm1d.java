package dev.kiln.nn;

import dev.kiln.Shapes;
import dev.kiln.Tensor;

/** Batch normalization of {@code [N, C]} or {@code [N, C, L]} inputs over all but the channel dim, as {@code torch.nn.BatchNorm1d}. */
public class BatchNorm1d extends BatchNorm {

    /** {@code eps = 1e-5}, {@code momentum = 0.1}, affine, tracking running statistics. */
    public BatchNorm1d(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, true, true);
    }

    public BatchNorm1d(int numFeatures, double eps, double momentum) {
        this(numFeatures, eps, (Double) momentum, true, true);
    }

    /** All options; a null {@code momentum} keeps a cumulative average of the batch statistics. */
    public BatchNorm1d(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats) {
        super(numFeatures, eps, momentum, affine, trackRunningStats);
    }

    @Override
    protected void checkInput(Tensor x) {
        if (x.dim() != 2 && x.dim() != 3) {
            throw new IllegalArgumentException("BatchNorm1d: expected a 2D or 3D input [N, C] or [N, C, L], got "
                    + Shapes.str(x.shape()));
        }
    }
}
