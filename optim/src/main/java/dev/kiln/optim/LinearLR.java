package dev.kiln.optim;

import java.util.List;
import java.util.Map;

/**
 * Scales each group's base rate by a factor that moves linearly from {@code startFactor} to
 * {@code endFactor} over {@code totalIters} epochs, then stays, as
 * {@code torch.optim.lr_scheduler.LinearLR} (a warm-up when start &lt; end). Defaults as PyTorch:
 * start 1/3, end 1, 5 iterations.
 */
public class LinearLR extends LRScheduler {

    private double startFactor;
    private double endFactor;
    private int totalIters;

    /** LinearLR with PyTorch's defaults: from 1/3 of the rate to all of it over 5 epochs. */
    public LinearLR(Optimizer optimizer) {
        this(optimizer, 1.0 / 3, 1.0, 5);
    }

    public LinearLR(Optimizer optimizer, double startFactor, double endFactor, int totalIters) {
        super(optimizer);
        if (startFactor > 1 || startFactor <= 0) {
            // PyTorch 1.13 accepts 0 and then divides by it on the next step; Kiln refuses it.
            throw new IllegalArgumentException("LinearLR: startFactor must be in (0, 1], got " + startFactor);
        }
        if (endFactor > 1 || endFactor < 0) {
            throw new IllegalArgumentException("LinearLR: endFactor must be in [0, 1], got " + endFactor);
        }
        if (totalIters <= 0) {
            throw new IllegalArgumentException("LinearLR: totalIters must be positive, got " + totalIters);
        }
        this.startFactor = startFactor;
        this.endFactor = endFactor;
        this.totalIters = totalIters;
        initialStep();
    }

    @Override
    protected List<Double> computeLr() {
        if (lastEpoch == 0) {
            return scaled(startFactor);
        }
        if (lastEpoch > totalIters) {
            return groupLrs();
        }
        return scaled(1.0 + (endFactor - startFactor)
                / (totalIters * startFactor + (lastEpoch - 1) * (endFactor - startFactor)));
    }

    @Override
    protected List<Double> closedFormLr() {
        return fromBaseLrs(b -> b * (startFactor + (endFactor - startFactor) * Math.min(totalIters, lastEpoch) / totalIters));
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        m.put("start_factor", startFactor);
        m.put("end_factor", endFactor);
        m.put("total_iters", (long) totalIters);
    }

    @Override
    protected void loadState(Map<String, Object> m) {
        startFactor = Options.toDouble(m.get("start_factor"));
        endFactor = Options.toDouble(m.get("end_factor"));
        totalIters = (int) Options.toDouble(m.get("total_iters"));
    }
}
