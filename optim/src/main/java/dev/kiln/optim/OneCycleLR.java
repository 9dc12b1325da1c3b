package dev.kiln.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The 1cycle policy (Smith and Topin, 2017), as {@code torch.optim.lr_scheduler.OneCycleLR} in
 * PyTorch 1.13; step it after every batch.
 *
 * <p>The rate starts at {@code maxLr / divFactor}, rises to {@code maxLr} over the first
 * {@code pctStart} of {@code totalSteps} and anneals to {@code initial / finalDivFactor}; with
 * {@code threePhase} it comes back down to the initial rate symmetrically before the final
 * anneal. Momentum (SGD's {@code momentum}, or {@code beta1} for Adam-like optimizers) cycles the
 * other way, between {@code maxMomentum} and {@code baseMomentum}; construction already sets it to
 * {@code maxMomentum}. The groups get PyTorch's extra keys {@code initial_lr}, {@code max_lr},
 * {@code min_lr}, {@code max_momentum}, {@code base_momentum}.
 *
 * <p>As PyTorch 1.13, the {@code totalSteps}-th {@code step()} is still accepted (it extrapolates
 * the last phase past its end); one more throws.
 */
public class OneCycleLR extends LRScheduler {

    private final int totalSteps;
    private final double[][] phases; // {endStep, startLrKey, endLrKey, startMomKey, endMomKey} as indices
    private final boolean cosine;
    private final boolean cycleMomentum;
    private final boolean useBeta1;

    private static final String[] KEYS = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"};

    private OneCycleLR(Builder b) {
        super(b.optimizer);
        if (b.totalSteps <= 0) {
            throw new IllegalArgumentException("OneCycleLR: expected a positive number of total steps, got " + b.totalSteps);
        }
        if (!(b.pctStart >= 0 && b.pctStart <= 1)) {
            throw new IllegalArgumentException("OneCycleLR: pctStart must be in [0, 1], got " + b.pctStart);
        }
        if (!b.annealStrategy.equals("cos") && !b.annealStrategy.equals("linear")) {
            throw new IllegalArgumentException("OneCycleLR: annealStrategy must be \"cos\" or \"linear\", got \"" + b.annealStrategy + "\"");
        }
        this.totalSteps = b.totalSteps;
        this.cosine = b.annealStrategy.equals("cos");
        // Key indices into KEYS: 0 initial_lr, 1 max_lr, 2 min_lr, 3 max_momentum, 4 base_momentum.
        if (b.threePhase) {
            phases = new double[][] {
                    {b.pctStart * totalSteps - 1, 0, 1, 3, 4},
                    {2 * b.pctStart * totalSteps - 2, 1, 0, 4, 3},
                    {totalSteps - 1, 0, 2, 3, 3}};
        } else {
            phases = new double[][] {
                    {b.pctStart * totalSteps - 1, 0, 1, 3, 4},
                    {totalSteps - 1, 1, 2, 4, 3}};
        }
        for (ParamGroup g : optimizer.paramGroups()) {
            double initial = b.maxLr / b.divFactor;
            g.set("initial_lr", initial);
            g.set("max_lr", b.maxLr);
            g.set("min_lr", initial / b.finalDivFactor);
        }
        readBaseLrs();
        this.cycleMomentum = b.cycleMomentum;
        Map<String, Object> defaults = optimizer.defaults();
        this.useBeta1 = defaults.containsKey("betas");
        if (cycleMomentum) {
            if (!defaults.containsKey("momentum") && !useBeta1) {
                throw new IllegalArgumentException("OneCycleLR: optimizer must support momentum with cycleMomentum enabled");
            }
            for (ParamGroup g : optimizer.paramGroups()) {
                setMomentum(g, b.maxMomentum);
                g.set("max_momentum", b.maxMomentum);
                g.set("base_momentum", b.baseMomentum);
            }
        }
        initialStep();
    }

    /** A builder: {@code OneCycleLR.builder(opt, 0.1, 1000).pctStart(0.25).build()}. */
    public static Builder builder(Optimizer optimizer, double maxLr, int totalSteps) {
        return new Builder(optimizer, maxLr, totalSteps);
    }

    private void setMomentum(ParamGroup g, double m) {
        if (useBeta1) {
            double[] betas = g.getDoubles("betas");
            g.set("betas", List.of(m, betas[1]));
        } else {
            g.set("momentum", m);
        }
    }

    private double anneal(double start, double end, double pct) {
        if (cosine) {
            double cosOut = Math.cos(Math.PI * pct) + 1;
            return end + (start - end) / 2.0 * cosOut;
        }
        return (end - start) * pct + start;
    }

    @Override
    protected List<Double> computeLr() {
        int stepNum = lastEpoch;
        if (stepNum > totalSteps) {
            throw new IllegalStateException("OneCycleLR: tried to step " + (stepNum + 1) + " times; the total number of steps is "
                    + totalSteps);
        }
        List<Double> lrs = new ArrayList<>();
        for (ParamGroup g : optimizer.paramGroups()) {
            double startStep = 0;
            double lr = 0;
            double momentum = 0;
            for (int i = 0; i < phases.length; i++) {
                double[] ph = phases[i];
                double endStep = ph[0];
                if (stepNum <= endStep || i == phases.length - 1) {
                    double pct = (stepNum - startStep) / (endStep - startStep);
                    lr = anneal(g.getDouble(KEYS[(int) ph[1]]), g.getDouble(KEYS[(int) ph[2]]), pct);
                    if (cycleMomentum) {
                        momentum = anneal(g.getDouble(KEYS[(int) ph[3]]), g.getDouble(KEYS[(int) ph[4]]), pct);
                    }
                    break;
                }
                startStep = endStep;
            }
            lrs.add(lr);
            if (cycleMomentum) {
                setMomentum(g, momentum);
            }
        }
        return lrs;
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        m.put("total_steps", (long) totalSteps);
        m.put("anneal_strategy", cosine ? "cos" : "linear");
        m.put("cycle_momentum", cycleMomentum);
        m.put("use_beta1", useBeta1);
    }

    /** Builder for {@link OneCycleLR}; defaults as PyTorch. */
    public static final class Builder {
        private final Optimizer optimizer;
        private final double maxLr;
        private final int totalSteps;
        private double pctStart = 0.3;
        private String annealStrategy = "cos";
        private boolean cycleMomentum = true;
        private double baseMomentum = 0.85;
        private double maxMomentum = 0.95;
        private double divFactor = 25;
        private double finalDivFactor = 1e4;
        private boolean threePhase;

        Builder(Optimizer optimizer, double maxLr, int totalSteps) {
            this.optimizer = optimizer;
            this.maxLr = maxLr;
            this.totalSteps = totalSteps;
        }

        /** Fraction of the steps spent raising the rate (0.3). */
        public Builder pctStart(double pctStart) {
            this.pctStart = pctStart;
            return this;
        }

        /** "cos" (default) or "linear". */
        public Builder annealStrategy(String strategy) {
            this.annealStrategy = strategy;
            return this;
        }

        /** Whether to cycle momentum inversely to the rate (true). */
        public Builder cycleMomentum(boolean cycle) {
            this.cycleMomentum = cycle;
            return this;
        }

        /** The lower momentum, reached at the peak rate (0.85). */
        public Builder baseMomentum(double m) {
            this.baseMomentum = m;
            return this;
        }

        /** The upper momentum, at the start and the end (0.95). */
        public Builder maxMomentum(double m) {
            this.maxMomentum = m;
            return this;
        }

        /** initial rate = maxLr / divFactor (25). */
        public Builder divFactor(double f) {
            this.divFactor = f;
            return this;
        }

        /** final rate = initial rate / finalDivFactor (1e4). */
        public Builder finalDivFactor(double f) {
            this.finalDivFactor = f;
            return this;
        }

        /** Go back down to the initial rate before the final anneal (false). */
        public Builder threePhase(boolean threePhase) {
            this.threePhase = threePhase;
            return this;
        }

        public OneCycleLR build() {
            return new OneCycleLR(this);
        }
    }
}
