package dev.kiln.nn;

import dev.kiln.Shapes;
import dev.kiln.Tensor;

/** Batch normalization of {@code [N, C, H, W]} inputs per channel, as {@code torch.nn.BatchNorm2d}. */
public class BatchNorm2d extends BatchNorm {

    /** {@code eps = 1e-5}, {@code momentum = 0.1}, affine, tracking running statistics. */
    public BatchNorm2d(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, true, true);
    }

    public BatchNorm2d(int numFeatures, double eps, double momentum) {
        this(numFeatures, eps, (Double) momentum, true, true);
    }

    /** All options; a null {@code momentum} keeps a cumulative average of the batch statistics. */
    public BatchNorm2d(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats) {
        super(numFeatures, eps, momentum, affine, trackRunningStats);
    }

    @Override
    protected void checkInput(Tensor x) {
        if (x.dim() != 4) {
            throw new IllegalArgumentException("BatchNorm2d: expected a 4D input [N, C, H, W], got " + Shapes.str(x.shape()));
        }
    }
}
