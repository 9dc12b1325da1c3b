package dev.kiln.optim;

import java.util.List;
import java.util.Map;

/** Multiplies each group's rate by {@code gamma} every epoch, as {@code torch.optim.lr_scheduler.ExponentialLR}. */
public class ExponentialLR extends LRScheduler {

    private double gamma;

    public ExponentialLR(Optimizer optimizer, double gamma) {
        super(optimizer);
        this.gamma = gamma;
        initialStep();
    }

    @Override
    protected List<Double> computeLr() {
        if (lastEpoch == 0) {
            return groupLrs();
        }
        return scaled(gamma);
    }

    @Override
    protected List<Double> closedFormLr() {
        return fromBaseLrs(b -> b * Math.pow(gamma, lastEpoch));
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        m.put("gamma", gamma);
    }

    @Override
    protected void loadState(Map<String, Object> m) {
        gamma = Options.toDouble(m.get("gamma"));
    }
}
