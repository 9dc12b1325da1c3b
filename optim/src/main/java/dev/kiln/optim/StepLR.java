package dev.kiln.optim;

import java.util.List;
import java.util.Map;

/**
 * Multiplies each group's rate by {@code gamma} every {@code stepSize} epochs, as
 * {@code torch.optim.lr_scheduler.StepLR}: with base rate 0.1, step size 30 and gamma 0.1 the
 * rate is 0.1 for epochs 0-29, 0.01 for 30-59, and so on.
 */
public class StepLR extends LRScheduler {

    private int stepSize;
    private double gamma;

    /** StepLR with PyTorch's default gamma, 0.1. */
    public StepLR(Optimizer optimizer, int stepSize) {
        this(optimizer, stepSize, 0.1);
    }

    public StepLR(Optimizer optimizer, int stepSize, double gamma) {
        super(optimizer);
        if (stepSize <= 0) {
            throw new IllegalArgumentException("StepLR: stepSize must be positive, got " + stepSize);
        }
        this.stepSize = stepSize;
        this.gamma = gamma;
        initialStep();
    }

    @Override
    protected List<Double> computeLr() {
        if (lastEpoch == 0 || lastEpoch % stepSize != 0) {
            return groupLrs();
        }
        return scaled(gamma);
    }

    @Override
    protected List<Double> closedFormLr() {
        return fromBaseLrs(b -> b * Math.pow(gamma, Math.floorDiv(lastEpoch, stepSize)));
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        m.put("step_size", (long) stepSize);
        m.put("gamma", gamma);
    }

    @Override
    protected void loadState(Map<String, Object> m) {
        stepSize = (int) Options.toDouble(m.get("step_size"));
        gamma = Options.toDouble(m.get("gamma"));
    }
}
