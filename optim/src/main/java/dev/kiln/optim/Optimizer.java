package dev.kiln.optim;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * The base of every optimizer, the counterpart of {@code torch.optim.Optimizer}.
 *
 * <p>An optimizer holds {@link ParamGroup parameter groups}: tensors with their options, where a
 * group's options override the optimizer's {@link #defaults()}. {@link #step()} updates every
 * tensor that has a gradient, in place and under {@link Kiln#noGrad()}, with Tensor operations
 * only, so it runs on any backend. Per-parameter state (moment buffers, step counters) is created
 * on a parameter's first step and keyed by the tensor object, so a module's {@code to(device)}
 * (which keeps its parameter objects) does not lose it; create the optimizer after moving the
 * model, as in PyTorch, so that the buffers are made on the right device.
 *
 * <p>Typical use:
 * <pre>{@code
 * Adam opt = new Adam(model.parameters(), 1e-3);
 * for (...) {
 *     Tensor loss = lossFn.forward(model.forward(x), y);
 *     opt.zeroGrad();
 *     loss.backward();
 *     opt.step();
 * }
 * }</pre>
 */
public abstract class Optimizer {

    private final String name;
    private final Map<String, Object> defaults;
    private final List<ParamGroup> groups = new ArrayList<>();
    private final Map<Tensor, Map<String, Tensor>> state = new IdentityHashMap<>();

    /**
     * @param name     the optimizer's name for messages ("Adam")
     * @param params   the tensors to optimize, e.g. {@code module.parameters()}
     * @param defaults every option with its default value, keyed by PyTorch's names
     */
    protected Optimizer(String name, Iterable<Tensor> params, Map<String, Object> defaults) {
        this.name = name;
        Map<String, Object> d = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : defaults.entrySet()) {
            d.put(e.getKey(), Options.normalizeValue(e.getKey(), e.getValue()));
        }
        this.defaults = Collections.unmodifiableMap(d);
        addParamGroup(params, Map.of());
    }

    /** The default options, keyed by PyTorch's names. */
    public Map<String, Object> defaults() {
        return defaults;
    }

    /** The parameter groups (live: set a group's {@code lr} to change it). */
    public List<ParamGroup> paramGroups() {
        return Collections.unmodifiableList(groups);
    }

    /**
     * Adds a group of tensors whose {@code options} override the defaults, as
     * {@code optimizer.add_param_group({"params": ..., "lr": ...})}. Keys are PyTorch's names
     * ({@code "weight_decay"}) or their camelCase form ({@code "weightDecay"}); unknown keys are
     * refused. A tensor may belong to one group only.
     */
    public final void addParamGroup(Iterable<Tensor> params, Map<String, ?> options) {
        if (params == null) {
            throw new IllegalArgumentException(name + ": params is null");
        }
        List<Tensor> list = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ParamGroup g : groups) {
            seen.addAll(g.params());
        }
        Set<Tensor> mine = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : params) {
            if (t == null) {
                throw new IllegalArgumentException(name + ": a parameter is null");
            }
            if (!t.isLeaf()) {
                throw new IllegalArgumentException(name + ": can't optimize a non-leaf tensor (" + t.dtype() + " "
                        + java.util.Arrays.toString(t.shape()) + ", computed by " + t.gradFn().name()
                        + "); optimize the leaf it was computed from");
            }
            if (!t.dtype().isFloatingPoint()) {
                throw new IllegalArgumentException(name + ": can only optimize floating-point tensors, got "
                        + t.dtype() + " " + java.util.Arrays.toString(t.shape()));
            }
            if (!mine.add(t)) {
                continue; // PyTorch warns and keeps one copy of a repeated tensor
            }
            if (seen.contains(t)) {
                throw new IllegalArgumentException(name + ": some parameters appear in more than one parameter group");
            }
            list.add(t);
        }
        Map<String, Object> merged = Options.merge(name, defaults, options);
        validate(merged);
        groups.add(new ParamGroup(list, merged));
    }

    /**
     * Checks a group's options; throws {@link IllegalArgumentException} naming the option. This
     * base checks the options that mean the same in every optimizer: {@code lr} is required and
     * non-negative and, where the optimizer has them, {@code weight_decay} and {@code eps} are
     * non-negative and {@code betas} are two values in [0, 1). Subclasses add the checks of their
     * own options.
     */
    protected void validate(Map<String, Object> options) {
        Object lr = options.get("lr");
        if (lr == null) {
            throw new IllegalArgumentException(name + ": a learning rate is required (lr)");
        }
        checkNonNegative(options, "lr");
        checkNonNegative(options, "eps");
        checkNonNegative(options, "weight_decay");
        if (options.containsKey("betas")) {
            checkBetas(options);
        }
    }

    /** Throws unless the numeric option {@code key} is {@code >= 0}. */
    protected final void checkNonNegative(Map<String, Object> options, String key) {
        Object v = options.get(key);
        if (v != null && !(Options.toDouble(v) >= 0)) {
            throw new IllegalArgumentException(name + ": invalid " + key + " " + v + " (must be >= 0)");
        }
    }

    /** Throws unless {@code betas} has two values in [0, 1). */
    protected final void checkBetas(Map<String, Object> options) {
        Object v = options.get("betas");
        if (!(v instanceof List<?> l) || l.size() != 2) {
            throw new IllegalArgumentException(name + ": betas must be two numbers, got " + v);
        }
        for (int i = 0; i < 2; i++) {
            double b = Options.toDouble(l.get(i));
            if (!(b >= 0 && b < 1)) {
                throw new IllegalArgumentException(name + ": invalid beta parameter at index " + i + ": " + b
                        + " (must be in [0, 1))");
            }
        }
    }

    /**
     * Clears the gradients of all optimized tensors: sets them to null, as PyTorch 2 does by
     * default, which saves memory and lets {@code step} skip tensors that got no gradient.
     */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /**
     * Clears the gradients: {@code setToNone} true sets them to null, false fills the existing
     * gradient tensors with zeros in place (detaching them first if they have a history).
     */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public void zeroGrad(boolean setToNone) {
        try (GradScope s = Kiln.noGrad()) {
            for (ParamGroup g : groups) {
                for (Tensor p : g.params()) {
                    Tensor grad = p.grad();
                    if (grad == null) {
                        continue;
                    }
                    if (setToNone) {
                        p.setGrad(null);
                    } else {
                        if (grad.gradFn() != null) {
                            grad = grad.detach();
                            p.setGrad(grad);
                        }
                        grad.zero_();
                    }
                }
            }
        }
    }

    /** Performs one optimization step on every tensor that has a gradient. */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public void step() {
        try (GradScope s = Kiln.noGrad()) {
            for (ParamGroup g : groups) {
                update(g);
            }
        }
    }

    /**
     * Calls {@code closure} (which should clear the gradients, compute the loss, call
     * {@code backward} and return the loss) with grad mode on, then steps; returns the loss.
     */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public double step(DoubleSupplier closure) {
        double loss;
        try (GradScope s = Kiln.enableGrad()) {
            loss = closure.getAsDouble();
        }
        step();
        return loss;
    }

    /** Updates the tensors of one group; called under no-grad. */
    protected abstract void update(ParamGroup group);

    /** The state of one parameter, created empty on first use (insertion-ordered). */
    protected final Map<String, Tensor> state(Tensor param) {
        return state.computeIfAbsent(param, p -> new LinkedHashMap<>());
    }

    /** A 0-dim float32 CPU tensor holding {@code value}: how step counters are kept, as in PyTorch. */
    protected static Tensor cpuScalar(double value) {
        return Tensor.scalar(value, DType.FLOAT32, Device.cpu());
    }

    /** Adds one to a step counter and returns the new count. */
    protected static double increment(Tensor step) {
        step.add_(1);
        return step.item();
    }

    /** The gradient of {@code p}, negated when {@code maximize}, or null when it has none. */
    protected static Tensor gradOf(Tensor p, boolean maximize) {
        Tensor g = p.grad();
        if (g == null) {
            return null;
        }
        return maximize ? g.neg() : g;
    }

    /**
     * {@code g + weightDecay * p}, PyTorch's L2 penalty added to the gradient, or {@code g}
     * itself (no new tensor) when {@code weightDecay} is 0.
     */
    protected static Tensor withWeightDecay(Tensor g, Tensor p, double weightDecay) {
        return weightDecay != 0 ? g.add(p, weightDecay) : g;
    }

    /**
     * State keys that hold 0-dim bookkeeping scalars (step counters) kept as saved on load,
     * instead of being moved to the parameter's device and dtype.
     */
    protected Set<String> scalarStateKeys() {
        return Set.of("step");
    }

    /** Optimizer-wide non-tensor state for the state dict (none by default). */
    protected Map<String, Object> extraState() {
        return Map.of();
    }

    /** Restores what {@link #extraState()} returned. */
    protected void loadExtraState(Map<String, Object> extra) {
    }

    /** Every optimized tensor, group by group: index i of the state dict is element i. */
    private List<Tensor> allParams() {
        List<Tensor> out = new ArrayList<>();
        for (ParamGroup g : groups) {
            out.addAll(g.params());
        }
        return out;
    }

    /**
     * The state dict: per-parameter state by index and each group's options. The tensors are the
     * live buffers (as in PyTorch); see {@link OptimizerState} for the file layout.
     */
    public OptimizerState stateDict() {
        Map<Tensor, Integer> index = new IdentityHashMap<>();
        List<Map<String, Object>> groupsOut = new ArrayList<>();
        int next = 0;
        for (ParamGroup g : groups) {
            Map<String, Object> m = new LinkedHashMap<>(g.options());
            List<Long> ids = new ArrayList<>();
            for (Tensor p : g.params()) {
                index.put(p, next);
                ids.add((long) next);
                next++;
            }
            m.put("params", ids);
            groupsOut.add(m);
        }
        Map<Integer, Map<String, Tensor>> st = new LinkedHashMap<>();
        for (Tensor p : allParams()) {
            Map<String, Tensor> s = state.get(p);
            if (s != null && !s.isEmpty()) {
                st.put(index.get(p), s);
            }
        }
        return new OptimizerState(getClass().getSimpleName(), st, groupsOut, extraState());
    }

    /**
     * Restores a state dict from {@link #stateDict()} (of an optimizer over tensors of the same
     * shapes, grouped the same way): groups' options are replaced by the saved ones, and the saved
     * buffers are copied, moved to each parameter's device and, for floating-point buffers, dtype.
     * The optimizer then continues exactly as the one that was saved.
     */
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    public void loadStateDict(OptimizerState sd) {
        List<Map<String, Object>> saved = sd.paramGroups();
        if (saved.size() != groups.size()) {
            throw new IllegalArgumentException(name + ".loadStateDict: the state dict has " + saved.size()
                    + " parameter groups, this optimizer has " + groups.size());
        }
        List<Tensor> params = allParams();
        for (int gi = 0; gi < groups.size(); gi++) {
            Object ids = saved.get(gi).get("params");
            int n = groups.get(gi).params().size();
            if (!(ids instanceof List<?> l) || l.size() != n) {
                throw new IllegalArgumentException(name + ".loadStateDict: parameter group " + gi + " has " + n
                        + " tensors but the saved group lists " + (ids instanceof List<?> l2 ? l2.size() + " indices" : ids));
            }
        }
        // Check shapes before changing anything, so a failed load leaves the optimizer as it was.
        for (Map.Entry<Integer, Map<String, Tensor>> e : sd.state().entrySet()) {
            int i = e.getKey();
            if (i < 0 || i >= params.size()) {
                throw new IllegalArgumentException(name + ".loadStateDict: state for parameter " + i + " but there are "
                        + params.size() + " parameters");
            }
            Tensor p = params.get(i);
            for (Map.Entry<String, Tensor> t : e.getValue().entrySet()) {
                if (!scalarStateKeys().contains(t.getKey()) && !java.util.Arrays.equals(t.getValue().shape(), p.shape())) {
                    throw new IllegalArgumentException(name + ".loadStateDict: state." + i + "." + t.getKey() + " has shape "
                            + java.util.Arrays.toString(t.getValue().shape()) + " but parameter " + i + " has shape "
                            + java.util.Arrays.toString(p.shape()));
                }
            }
        }
        for (int gi = 0; gi < groups.size(); gi++) {
            Map<String, Object> opts = new LinkedHashMap<>(saved.get(gi));
            opts.remove("params");
            groups.get(gi).replaceOptions(opts);
        }
        state.clear();
        try (GradScope s = Kiln.noGrad()) {
            for (Map.Entry<Integer, Map<String, Tensor>> e : sd.state().entrySet()) {
                Tensor p = params.get(e.getKey());
                Map<String, Tensor> ps = state(p);
                for (Map.Entry<String, Tensor> t : e.getValue().entrySet()) {
                    Tensor v = t.getValue();
                    if (!scalarStateKeys().contains(t.getKey())) {
                        v = v.to(p.device());
                        if (v.dtype().isFloatingPoint()) {
                            v = v.to(p.dtype());
                        }
                    }
                    // A copy, so that the loaded map and this optimizer never share buffers.
                    ps.put(t.getKey(), v.detach().clone());
                }
            }
        }
        loadExtraState(sd.extra());
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append(" (");
        for (int i = 0; i < groups.size(); i++) {
            sb.append("\nParameter Group ").append(i);
            for (Map.Entry<String, Object> e : groups.get(i).options().entrySet()) {
                sb.append("\n    ").append(e.getKey()).append(": ").append(e.getValue());
            }
        }
        return sb.append("\n)").toString();
    }
}
