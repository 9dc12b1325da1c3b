package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One parameter group of an {@link Optimizer}: its tensors and its options, the counterpart of an
 * entry of PyTorch's {@code optimizer.param_groups}.
 *
 * <p>Options are keyed by PyTorch's names ({@code "lr"}, {@code "betas"}, {@code "weight_decay"},
 * {@code "momentum"}, ...), so that a state dict reads like PyTorch's. Schedulers change
 * {@link #lr()} and may add their own keys ({@code "initial_lr"}, {@code "max_lr"}, ...), as in
 * PyTorch. Numbers are stored as {@link Double} or {@link Long}, flags as {@link Boolean},
 * {@code betas} as a two-element {@code List<Double>}.
 */
public final class ParamGroup {

    private final List<Tensor> params;
    private final Map<String, Object> options;

    ParamGroup(List<Tensor> params, Map<String, Object> options) {
        this.params = List.copyOf(params);
        this.options = new LinkedHashMap<>(options);
    }

    /** The tensors of this group, in the order they were given. */
    public List<Tensor> params() {
        return params;
    }

    /** A read-only view of the options. */
    public Map<String, Object> options() {
        return Collections.unmodifiableMap(options);
    }

    /** The learning rate. */
    public double lr() {
        return getDouble("lr");
    }

    /** Sets the learning rate (what schedulers do). */
    public void setLr(double lr) {
        // Negative rates stay legal: OneCycleLR extrapolates below zero past its last step, as PyTorch does.
        if (Double.isNaN(lr)) {
            throw new IllegalArgumentException("setLr: the learning rate is NaN");
        }
        options.put("lr", lr);
    }

    /** Whether an option is set. */
    public boolean has(String key) {
        return options.containsKey(key);
    }

    /** The raw value of an option, or null. */
    public Object get(String key) {
        return options.get(key);
    }

    /** Sets an option (numbers as given, lists copied). */
    public void set(String key, Object value) {
        options.put(key, Options.normalizeValue(key, value));
    }

    /** A numeric option as a double; throws when absent. */
    public double getDouble(String key) {
        Object v = require(key);
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalStateException("param group option '" + key + "' is not a number: " + v);
    }

    /** An integral option as a long; throws when absent. */
    public long getLong(String key) {
        Object v = require(key);
        if (v instanceof Number n) {
            return n.longValue();
        }
        throw new IllegalStateException("param group option '" + key + "' is not a number: " + v);
    }

    /** A flag option; throws when absent. */
    public boolean getBoolean(String key) {
        Object v = require(key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalStateException("param group option '" + key + "' is not a boolean: " + v);
    }

    /** A list option such as {@code betas} as doubles; throws when absent. */
    public double[] getDoubles(String key) {
        Object v = require(key);
        if (v instanceof List<?> l) {
            double[] out = new double[l.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Number) l.get(i)).doubleValue();
            }
            return out;
        }
        throw new IllegalStateException("param group option '" + key + "' is not a list: " + v);
    }

    private Object require(String key) {
        Object v = options.get(key);
        if (v == null) {
            throw new IllegalStateException("param group has no option '" + key + "' (it has " + options.keySet() + ")");
        }
        return v;
    }

    /** Replaces all options (used by loadStateDict). */
    void replaceOptions(Map<String, Object> newOptions) {
        options.clear();
        for (Map.Entry<String, Object> e : newOptions.entrySet()) {
            options.put(e.getKey(), Options.normalizeValue(e.getKey(), e.getValue()));
        }
    }

    @Override
    public String toString() {
        return "ParamGroup(" + params.size() + " tensors, " + options + ")";
    }
}
