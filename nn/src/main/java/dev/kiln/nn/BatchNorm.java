package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Shapes;
import dev.kiln.Tensor;

/**
 * The batch normalization layers' common part, as PyTorch's {@code _BatchNorm}: per-channel
 * {@code weight} (ones) and {@code bias} (zeros) when affine, and buffers {@code running_mean}
 * (zeros), {@code running_var} (ones) and {@code num_batches_tracked} (int64, 0-dim) when
 * tracking running statistics.
 *
 * <p>In training it normalizes with the batch mean and biased variance and updates
 * {@code running = (1 - momentum) * running + momentum * batch} (with the unbiased variance) and
 * {@code num_batches_tracked += 1}; a null momentum means a cumulative average. In evaluation it
 * uses the running statistics.
 */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
public abstract class BatchNorm extends Module {

    private final int numFeatures;
    private final double eps;
    private final Double momentum;
    private final boolean affine;
    private final boolean trackRunningStats;
    private final Tensor weight;
    private final Tensor bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor numBatchesTracked;

    protected BatchNorm(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats) {
        if (numFeatures <= 0) {
            throw new IllegalArgumentException(typeName() + ": num_features must be positive, got " + numFeatures);
        }
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.trackRunningStats = trackRunningStats;
        this.weight = affine ? registerParameter("weight", Tensor.ones(numFeatures)) : null;
        this.bias = affine ? registerParameter("bias", Tensor.zeros(numFeatures)) : null;
        if (trackRunningStats) {
            runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
            runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
            numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.zeros(new long[0], DType.INT64));
        } else {
            runningMean = null;
            runningVar = null;
            numBatchesTracked = null;
        }
    }

    /** Checks the input's rank; the message names the layer and the shape. */
    protected abstract void checkInput(Tensor x);

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x);
        if (x.size(1) != numFeatures) {
            throw new IllegalArgumentException(typeName() + ": expected " + numFeatures + " channels in dim 1, got input "
                    + Shapes.str(x.shape()));
        }
        double factor = momentum == null ? 0 : momentum;
        if (isTraining() && trackRunningStats) {
            try (GradScope s = Kiln.noGrad()) {
                numBatchesTracked.add_(1);
            }
            if (momentum == null) {
                factor = 1.0 / numBatchesTracked.item();
            }
        }
        boolean useRunning = !isTraining() || trackRunningStats;
        return F.batchNorm(x, useRunning ? runningMean : null, useRunning ? runningVar : null, weight, bias,
                isTraining() || runningMean == null, factor, eps);
    }

    /** Resets the running statistics to zeros, ones and a count of 0. */
    public void resetRunningStats() {
        if (trackRunningStats) {
            try (GradScope s = Kiln.noGrad()) {
                runningMean.zero_();
                runningVar.fill_(1);
                numBatchesTracked.zero_();
            }
        }
    }

    public int numFeatures() {
        return numFeatures;
    }

    /** The scale, or null when not affine. */
    public Tensor weight() {
        return weight;
    }

    /** The shift, or null when not affine. */
    public Tensor bias() {
        return bias;
    }

    /** The running mean, or null when not tracking running statistics. */
    public Tensor runningMean() {
        return runningMean;
    }

    /** The running (unbiased) variance, or null when not tracking running statistics. */
    public Tensor runningVar() {
        return runningVar;
    }

    /** The number of training batches seen, or null when not tracking running statistics. */
    public Tensor numBatchesTracked() {
        return numBatchesTracked;
    }

    @Override
    public String extraRepr() {
        return numFeatures + ", eps=" + Repr.pyFloat(eps) + ", momentum=" + (momentum == null ? "None" : Repr.pyFloat(momentum))
                + ", affine=" + Repr.bool(affine) + ", track_running_stats=" + Repr.bool(trackRunningStats);
    }
}
