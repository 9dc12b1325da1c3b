package dev.kiln.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts the rate by {@code factor} when a metric stops improving for more than {@code patience}
 * epochs, as {@code torch.optim.lr_scheduler.ReduceLROnPlateau} in PyTorch 1.13. Call
 * {@link #step(double)} with the epoch's metric (validation loss, accuracy, ...).
 *
 * <p>Rules, as PyTorch: the first metric always improves on the initial best (plus or minus
 * infinity); in {@code "rel"} threshold mode an improvement must beat {@code best * (1 -
 * threshold)} ({@code "min"}) or {@code best * (1 + threshold)} ({@code "max"}), in {@code "abs"}
 * mode {@code best -/+ threshold}; after {@code patience} bad epochs the next bad one reduces each
 * group's rate to {@code max(lr * factor, minLr)}, skipped when that changes it by no more than
 * {@code eps}; then {@code cooldown} epochs are ignored. Defaults: min mode, factor 0.1, patience
 * 10, threshold 1e-4 relative, cooldown 0, minLr 0, eps 1e-8.
 *
 * <p>It is not an {@link LRScheduler} (nor is it in PyTorch): it never steps without a metric.
 */
public class ReduceLROnPlateau {

    private final Optimizer optimizer;
    private boolean maxMode;
    private double factor;
    private int patience;
    private double threshold;
    private boolean relative;
    private int cooldown;
    private List<Double> minLrs;
    private double eps;

    private double best;
    private int numBadEpochs;
    private int cooldownCounter;
    private int lastEpoch;
    private List<Double> lastLr;

    private ReduceLROnPlateau(Builder b) {
        this.optimizer = b.optimizer;
        if (!(b.factor < 1)) {
            throw new IllegalArgumentException("ReduceLROnPlateau: factor should be < 1.0, got " + b.factor);
        }
        if (!b.mode.equals("min") && !b.mode.equals("max")) {
            throw new IllegalArgumentException("ReduceLROnPlateau: mode " + b.mode + " is unknown (\"min\" or \"max\")");
        }
        if (!b.thresholdMode.equals("rel") && !b.thresholdMode.equals("abs")) {
            throw new IllegalArgumentException("ReduceLROnPlateau: threshold mode " + b.thresholdMode + " is unknown (\"rel\" or \"abs\")");
        }
        int n = optimizer.paramGroups().size();
        if (b.minLrs != null && b.minLrs.size() != n) {
            throw new IllegalArgumentException("ReduceLROnPlateau: expected " + n + " min_lrs, got " + b.minLrs.size());
        }
        this.maxMode = b.mode.equals("max");
        this.factor = b.factor;
        this.patience = b.patience;
        this.threshold = b.threshold;
        this.relative = b.thresholdMode.equals("rel");
        this.cooldown = b.cooldown;
        List<Double> m = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            m.add(b.minLrs != null ? b.minLrs.get(i) : b.minLr);
        }
        this.minLrs = m;
        this.eps = b.eps;
        reset();
    }

    /** ReduceLROnPlateau with PyTorch's defaults. */
    public ReduceLROnPlateau(Optimizer optimizer) {
        this(new Builder(optimizer));
    }

    /** A builder: {@code ReduceLROnPlateau.builder(opt).mode("max").patience(3).factor(0.5).build()}. */
    public static Builder builder(Optimizer optimizer) {
        return new Builder(optimizer);
    }

    private void reset() {
        best = maxMode ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        cooldownCounter = 0;
        numBadEpochs = 0;
    }

    private boolean isBetter(double a, double b) {
        if (!maxMode) {
            return relative ? a < b * (1 - threshold) : a < b - threshold;
        }
        return relative ? a > b * (threshold + 1) : a > b + threshold;
    }

    /** Records one epoch's metric and reduces the rates if it has stalled. */
    public void step(double metric) {
        lastEpoch++;
        if (isBetter(metric, best)) {
            best = metric;
            numBadEpochs = 0;
        } else {
            numBadEpochs++;
        }
        if (cooldownCounter > 0) {
            cooldownCounter--;
            numBadEpochs = 0; // bad epochs during the cooldown do not count
        }
        if (numBadEpochs > patience) {
            List<ParamGroup> groups = optimizer.paramGroups();
            for (int i = 0; i < groups.size(); i++) {
                double old = groups.get(i).lr();
                double updated = Math.max(old * factor, minLrs.get(i));
                if (old - updated > eps) {
                    groups.get(i).setLr(updated);
                }
            }
            cooldownCounter = cooldown;
            numBadEpochs = 0;
        }
        List<Double> l = new ArrayList<>();
        for (ParamGroup g : optimizer.paramGroups()) {
            l.add(g.lr());
        }
        lastLr = List.copyOf(l);
    }

    /** The groups' rates after the last step (null before the first). */
    public List<Double> getLastLr() {
        return lastLr;
    }

    /** The best metric so far. */
    public double best() {
        return best;
    }

    /** Epochs without improvement since the last improvement or reduction. */
    public int numBadEpochs() {
        return numBadEpochs;
    }

    /** State with PyTorch's keys, JSON-ready (an infinite {@code best} is the string "Infinity"). */
    public Map<String, Object> stateDict() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("factor", factor);
        m.put("min_lrs", new ArrayList<>(minLrs));
        m.put("patience", (long) patience);
        m.put("cooldown", (long) cooldown);
        m.put("cooldown_counter", (long) cooldownCounter);
        m.put("mode", maxMode ? "max" : "min");
        m.put("threshold", threshold);
        m.put("threshold_mode", relative ? "rel" : "abs");
        m.put("best", best);
        m.put("num_bad_epochs", (long) numBadEpochs);
        m.put("eps", eps);
        m.put("last_epoch", (long) lastEpoch);
        m.put("_last_lr", lastLr == null ? null : new ArrayList<>(lastLr));
        return Options.toJsonMap(m);
    }

    /** Restores a {@link #stateDict()}. */
    public void loadStateDict(Map<String, Object> state) {
        Map<String, Object> m = Options.fromJsonMap(state);
        factor = Options.toDouble(m.get("factor"));
        minLrs = LRScheduler.doubles(m.get("min_lrs"));
        patience = (int) Options.toDouble(m.get("patience"));
        cooldown = (int) Options.toDouble(m.get("cooldown"));
        cooldownCounter = (int) Options.toDouble(m.get("cooldown_counter"));
        maxMode = "max".equals(m.get("mode"));
        threshold = Options.toDouble(m.get("threshold"));
        relative = "rel".equals(m.get("threshold_mode"));
        best = Options.toDouble(m.get("best"));
        numBadEpochs = (int) Options.toDouble(m.get("num_bad_epochs"));
        eps = Options.toDouble(m.get("eps"));
        lastEpoch = (int) Options.toDouble(m.get("last_epoch"));
        Object l = m.get("_last_lr");
        lastLr = l == null ? null : List.copyOf(LRScheduler.doubles(l));
    }

    /** Builder for {@link ReduceLROnPlateau}; defaults as PyTorch. */
    public static final class Builder {
        private final Optimizer optimizer;
        private String mode = "min";
        private double factor = 0.1;
        private int patience = 10;
        private double threshold = 1e-4;
        private String thresholdMode = "rel";
        private int cooldown;
        private double minLr;
        private List<Double> minLrs;
        private double eps = 1e-8;

        Builder(Optimizer optimizer) {
            if (optimizer == null) {
                throw new IllegalArgumentException("ReduceLROnPlateau: optimizer is null");
            }
            this.optimizer = optimizer;
        }

        /** "min" (lower is better, the default) or "max". */
        public Builder mode(String mode) {
            this.mode = mode;
            return this;
        }

        /** The factor applied to the rate on a plateau (0.1). */
        public Builder factor(double factor) {
            this.factor = factor;
            return this;
        }

        /** Bad epochs tolerated before a reduction (10). */
        public Builder patience(int patience) {
            this.patience = patience;
            return this;
        }

        /** The smallest change that counts as an improvement (1e-4). */
        public Builder threshold(double threshold) {
            this.threshold = threshold;
            return this;
        }

        /** "rel" (default) or "abs". */
        public Builder thresholdMode(String thresholdMode) {
            this.thresholdMode = thresholdMode;
            return this;
        }

        /** Epochs ignored after a reduction (0). */
        public Builder cooldown(int cooldown) {
            this.cooldown = cooldown;
            return this;
        }

        /** A lower bound on every group's rate (0). */
        public Builder minLr(double minLr) {
            this.minLr = minLr;
            this.minLrs = null;
            return this;
        }

        /** One lower bound per group. */
        public Builder minLrs(List<Double> minLrs) {
            this.minLrs = List.copyOf(minLrs);
            return this;
        }

        /** Reductions smaller than this are skipped (1e-8). */
        public Builder eps(double eps) {
            this.eps = eps;
            return this;
        }

        public ReduceLROnPlateau build() {
            return new ReduceLROnPlateau(this);
        }
    }
}
