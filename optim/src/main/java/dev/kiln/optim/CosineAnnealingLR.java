package dev.kiln.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Cosine annealing from each group's base rate down to {@code etaMin} over {@code tMax} epochs, as
 * {@code torch.optim.lr_scheduler.CosineAnnealingLR} in PyTorch 1.13, in its recursive
 * (chainable) form: {@code lr_t = etaMin + (lr_{t-1} - etaMin) (1 + cos(pi t / T)) / (1 + cos(pi
 * (t-1) / T))}. Past {@code tMax} it does not stop: the rate climbs back to the base rate and the
 * cycle repeats with period {@code 2 tMax}, exactly as PyTorch's.
 */
public class CosineAnnealingLR extends LRScheduler {

    private int tMax;
    private double etaMin;

    /** CosineAnnealingLR down to 0. */
    public CosineAnnealingLR(Optimizer optimizer, int tMax) {
        this(optimizer, tMax, 0);
    }

    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin) {
        super(optimizer);
        if (tMax <= 0) {
            throw new IllegalArgumentException("CosineAnnealingLR: tMax must be positive, got " + tMax);
        }
        this.tMax = tMax;
        this.etaMin = etaMin;
        initialStep();
    }

    @Override
    protected List<Double> computeLr() {
        List<Double> lrs = groupLrs();
        List<Double> out = new ArrayList<>();
        if (lastEpoch == 0) {
            return lrs;
        }
        for (int i = 0; i < lrs.size(); i++) {
            double base = baseLrs.get(i);
            double lr = lrs.get(i);
            if (stepCount == 1 && lastEpoch > 0) {
                out.add(etaMin + (base - etaMin) * (1 + Math.cos(lastEpoch * Math.PI / tMax)) / 2);
            } else if (Math.floorMod(lastEpoch - 1 - tMax, 2 * tMax) == 0) {
                // At the bottom of a cycle the recursive ratio is 0/0; PyTorch steps up explicitly.
                out.add(lr + (base - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2);
            } else {
                out.add((1 + Math.cos(Math.PI * lastEpoch / tMax)) / (1 + Math.cos(Math.PI * (lastEpoch - 1) / tMax))
                        * (lr - etaMin) + etaMin);
            }
        }
        return out;
    }

    @Override
    protected List<Double> closedFormLr() {
        return fromBaseLrs(base -> etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * lastEpoch / tMax)) / 2);
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        m.put("T_max", (long) tMax);
        m.put("eta_min", etaMin);
    }

    @Override
    protected void loadState(Map<String, Object> m) {
        tMax = (int) Options.toDouble(m.get("T_max"));
        etaMin = Options.toDouble(m.get("eta_min"));
    }
}
