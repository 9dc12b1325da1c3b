package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamZ, from Ilia Zaznov, Atta Badii, Julian Kunkel and Alfonso Dufour, "AdamZ: An Enhanced
 * Optimisation Method for Neural Network Training" (arXiv:2411.15375, 2024). PyTorch has no AdamZ.
 *
 * <p>AdamZ is {@link Adam} whose learning rate reacts to the loss: give the loss of each step to
 * {@link #step(double)}. The optimizer keeps the last {@code patience} losses; once it holds that
 * many, before each update it
 * <ul>
 *   <li>detects <em>overshooting</em> when the new loss is at least the largest loss in that
 *       window, and multiplies every group's rate by {@code overshoot_factor} (&lt; 1);</li>
 *   <li>detects <em>stagnation</em> when the standard deviation of the last
 *       {@code stagnation_period} losses is below {@code stagnation_threshold} times the standard
 *       deviation of the whole window, and multiplies the rate by {@code stagnation_factor}
 *       (&gt; 1);</li>
 *   <li>clamps the rate to {@code [min_lr, max_lr]}.</li>
 * </ul>
 * Both checks run on every step, so both factors can apply at once. Standard deviations are
 * population ones (divided by n). Then it takes Adam's step (bias-corrected moments, optional
 * AMSGrad and L2 weight decay, eps added after the square root). {@link #step()} without a loss
 * takes the Adam step and leaves the rate alone.
 *
 * <table>
 *   <caption>Options (the paper's symbol in parentheses)</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr (alpha, the initial rate)</td><td>{@code lr}</td><td>1e-3</td></tr>
 *   <tr><td>betas (beta_1, beta_2)</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps (epsilon)</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>overshoot_factor (gamma_over)</td><td>{@code overshootFactor}</td><td>0.5, in (0, 1)</td></tr>
 *   <tr><td>stagnation_factor (gamma_stag)</td><td>{@code stagnationFactor}</td><td>1.2, &gt; 1</td></tr>
 *   <tr><td>stagnation_threshold (sigma_stag)</td><td>{@code stagnationThreshold}</td><td>0.2</td></tr>
 *   <tr><td>patience (p)</td><td>{@code patience}</td><td>100 steps</td></tr>
 *   <tr><td>stagnation_period (s)</td><td>{@code stagnationPeriod}</td><td>10 steps (at most patience)</td></tr>
 *   <tr><td>min_lr (alpha_min)</td><td>{@code minLr}</td><td>1e-7</td></tr>
 *   <tr><td>max_lr (alpha_max)</td><td>{@code maxLr}</td><td>1.0</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>amsgrad</td><td>{@code amsgrad}</td><td>false</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * The defaults are those of the authors' published implementation. The loss window (patience and
 * stagnation period) is the optimizer's, from its defaults; the factors and bounds may differ per
 * parameter group.
 *
 * <p>State per parameter: as {@link Adam}. The loss window is saved in the state dict's
 * {@code extra.loss_history}.
 */
public class AdamZ extends Optimizer {

    private final int patience;
    private final int stagnationPeriod;
    private final Deque<Double> losses = new ArrayDeque<>();

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = Adam.adamDefaults(1e-3, 0);
        d.put("overshoot_factor", 0.5);
        d.put("stagnation_factor", 1.2);
        d.put("stagnation_threshold", 0.2);
        d.put("patience", 100L);
        d.put("stagnation_period", 10L);
        d.put("min_lr", 1e-7);
        d.put("max_lr", 1.0);
        return d;
    }

    /** AdamZ with the default options. */
    public AdamZ(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** AdamZ with initial learning rate {@code lr}. */
    public AdamZ(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** AdamZ with options keyed by name (or camelCase); prefer {@link #builder}. */
    public AdamZ(Iterable<Tensor> params, Map<String, ?> options) {
        super("AdamZ", params, Options.merge("AdamZ", defaultOptions(), options));
        this.patience = (int) ((Number) defaults().get("patience")).longValue();
        this.stagnationPeriod = (int) Math.min(((Number) defaults().get("stagnation_period")).longValue(), patience);
    }

    /** A builder: {@code AdamZ.builder(params).lr(0.01).patience(50).stagnationPeriod(5).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        double over = Options.toDouble(o.get("overshoot_factor"));
        if (!(over > 0 && over < 1)) {
            throw new IllegalArgumentException("AdamZ: invalid overshoot_factor " + over + " (must be in (0, 1))");
        }
        double stag = Options.toDouble(o.get("stagnation_factor"));
        if (!(stag > 1)) {
            throw new IllegalArgumentException("AdamZ: invalid stagnation_factor " + stag + " (must be > 1)");
        }
        checkNonNegative(o, "stagnation_threshold");
        if (Options.toDouble(o.get("patience")) < 1 || Options.toDouble(o.get("stagnation_period")) < 1) {
            throw new IllegalArgumentException("AdamZ: patience and stagnation_period must be at least 1, got "
                    + o.get("patience") + " and " + o.get("stagnation_period"));
        }
        double min = Options.toDouble(o.get("min_lr"));
        double max = Options.toDouble(o.get("max_lr"));
        if (!(min > 0 && min <= max)) {
            throw new IllegalArgumentException("AdamZ: invalid learning rate bounds min_lr " + min + ", max_lr " + max
                    + " (need 0 < min_lr <= max_lr)");
        }
    }

    /**
     * Adjusts the learning rate from {@code loss} (the loss of the batch whose gradients are
     * about to be applied) and then takes the Adam step.
     */
    public void step(double loss) {
        adjustLearningRate(loss);
        step();
    }

    /** Calls the closure (which returns the loss after backward), adjusts the rate from it, then steps. */
    @Override
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public double step(java.util.function.DoubleSupplier closure) {
        double loss;
        try (var s = dev.kiln.Kiln.enableGrad()) {
            loss = closure.getAsDouble();
        }
        step(loss);
        return loss;
    }

    /** The overshoot and stagnation rules, applied to every group's {@code lr}. */
    void adjustLearningRate(double loss) {
        if (Double.isNaN(loss)) {
            throw new IllegalArgumentException("AdamZ.step: the loss is NaN");
        }
        losses.addLast(loss);
        while (losses.size() > patience) {
            losses.removeFirst();
        }
        if (losses.size() < patience) {
            return;
        }
        double[] window = losses.stream().mapToDouble(Double::doubleValue).toArray();
        double max = Double.NEGATIVE_INFINITY;
        for (double l : window) {
            max = Math.max(max, l);
        }
        boolean overshoot = loss >= max;
        double stdAll = std(window, 0);
        double stdRecent = std(window, window.length - stagnationPeriod);
        for (ParamGroup g : paramGroups()) {
            double lr = g.lr();
            if (overshoot) {
                lr *= g.getDouble("overshoot_factor");
            }
            if (stdRecent < g.getDouble("stagnation_threshold") * stdAll) {
                lr *= g.getDouble("stagnation_factor");
            }
            g.setLr(Math.max(g.getDouble("min_lr"), Math.min(lr, g.getDouble("max_lr"))));
        }
    }

    /** Population standard deviation of {@code a[from..]}. */
    private static double std(double[] a, int from) {
        int n = a.length - from;
        double mean = 0;
        for (int i = from; i < a.length; i++) {
            mean += a[i];
        }
        mean /= n;
        double ss = 0;
        for (int i = from; i < a.length; i++) {
            ss += (a[i] - mean) * (a[i] - mean);
        }
        return Math.sqrt(ss / n);
    }

    /** The losses in the current window, oldest first. */
    public List<Double> lossHistory() {
        return List.copyOf(losses);
    }

    @Override
    protected void update(ParamGroup group) {
        Adam.update(this, group, false);
    }

    @Override
    protected Map<String, Object> extraState() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loss_history", new ArrayList<>(losses));
        return m;
    }

    @Override
    protected void loadExtraState(Map<String, Object> extra) {
        losses.clear();
        Object h = extra.get("loss_history");
        if (h instanceof List<?> l) {
            for (Object o : l) {
                losses.addLast(Options.toDouble(o));
            }
        }
    }

    /** Builder for {@link AdamZ}. */
    public static final class Builder extends AmsgradBuilder<Builder, AdamZ> {
        Builder(Iterable<Tensor> params) {
            super(params, AdamZ::new);
        }

        /** gamma_over: the factor, in (0, 1), applied to the rate on overshooting. */
        public Builder overshootFactor(double factor) {
            return set("overshoot_factor", factor);
        }

        /** gamma_stag: the factor, &gt; 1, applied to the rate on stagnation. */
        public Builder stagnationFactor(double factor) {
            return set("stagnation_factor", factor);
        }

        /** sigma_stag: stagnation when std(recent) &lt; sigma_stag * std(window). */
        public Builder stagnationThreshold(double threshold) {
            return set("stagnation_threshold", threshold);
        }

        /** p: the number of losses in the window; no adjustment happens before it is full. */
        public Builder patience(int patience) {
            return set("patience", (long) patience);
        }

        /** s: the number of most recent losses whose spread is tested for stagnation. */
        public Builder stagnationPeriod(int period) {
            return set("stagnation_period", (long) period);
        }

        /** alpha_min: the smallest rate. */
        public Builder minLr(double minLr) {
            return set("min_lr", minLr);
        }

        /** alpha_max: the largest rate. */
        public Builder maxLr(double maxLr) {
            return set("max_lr", maxLr);
        }
    }
}
