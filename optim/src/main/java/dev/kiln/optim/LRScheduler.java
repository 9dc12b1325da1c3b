package dev.kiln.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;

/**
 * The base of the learning-rate schedulers, the counterpart of PyTorch 1.13's
 * {@code torch.optim.lr_scheduler._LRScheduler}.
 *
 * <p>A scheduler changes the {@code lr} of its optimizer's groups. Construction records each
 * group's {@code initial_lr} (its {@code lr} unless a scheduler set one before) and takes the
 * initial step, which sets the rate for the first epoch. Then call {@link #step()} once per epoch
 * (or per batch, for OneCycleLR) <em>after</em> {@code optimizer.step()}:
 * <pre>{@code
 * for (int epoch = 0; epoch < epochs; epoch++) {
 *     train(...);            // optimizer.step() inside
 *     scheduler.step();
 * }
 * }</pre>
 * Like PyTorch's, the schedulers are chainable: each step multiplies the current group rate, so
 * two schedulers on one optimizer compose.
 */
public abstract class LRScheduler {

    /** The optimizer whose rates this scheduler sets. */
    protected final Optimizer optimizer;
    /** The index of the last epoch stepped (-1 before the initial step). */
    protected int lastEpoch = -1;
    /** The number of {@code step} calls, the initial one included. */
    protected int stepCount;
    /** Each group's {@code initial_lr}. */
    protected List<Double> baseLrs;
    private List<Double> lastLr;

    protected LRScheduler(Optimizer optimizer) {
        if (optimizer == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": optimizer is null");
        }
        this.optimizer = optimizer;
        for (ParamGroup g : optimizer.paramGroups()) {
            if (!g.has("initial_lr")) {
                g.set("initial_lr", g.lr());
            }
        }
        readBaseLrs();
    }

    /** Sets {@link #baseLrs} from the groups' {@code initial_lr}. */
    protected final void readBaseLrs() {
        List<Double> b = new ArrayList<>();
        for (ParamGroup g : optimizer.paramGroups()) {
            b.add(g.getDouble("initial_lr"));
        }
        baseLrs = b;
    }

    /** The initial step, which subclasses call at the end of their constructors. */
    protected final void initialStep() {
        stepCount = 0;
        step();
    }

    /** Advances one epoch and sets the groups' rates. */
    public void step() {
        stepCount++;
        lastEpoch++;
        apply(computeLr());
    }

    /**
     * Jumps to {@code epoch}, using the closed form where the scheduler has one (as PyTorch's
     * deprecated {@code step(epoch)}); SequentialLR uses it to restart a scheduler at 0.
     */
    protected void stepTo(int epoch) {
        stepCount++;
        lastEpoch = epoch;
        List<Double> v = closedFormLr();
        apply(v != null ? v : computeLr());
    }

    private void apply(List<Double> values) {
        List<ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < groups.size(); i++) {
            groups.get(i).setLr(values.get(i));
        }
        lastLr = groupLrs();
    }

    /** The rates computed by the last step, one per group (as {@code get_last_lr()}). */
    public List<Double> getLastLr() {
        return lastLr;
    }

    /** Sets what {@link #getLastLr()} returns (for schedulers that delegate). */
    protected final void setLastLr(List<Double> lr) {
        lastLr = List.copyOf(lr);
    }

    /** The index of the last epoch stepped. */
    public int lastEpoch() {
        return lastEpoch;
    }

    /** The optimizer's current rates, one per group. */
    protected final List<Double> groupLrs() {
        List<Double> out = new ArrayList<>();
        for (ParamGroup g : optimizer.paramGroups()) {
            out.add(g.lr());
        }
        return List.copyOf(out);
    }

    /** The chainable form: the next rates from the current ones and {@link #lastEpoch}. */
    protected abstract List<Double> computeLr();

    /** The closed form at {@link #lastEpoch}, or null when the scheduler has none. */
    protected List<Double> closedFormLr() {
        return null;
    }

    /**
     * The scheduler's state with PyTorch's keys ({@code last_epoch}, {@code base_lrs},
     * {@code _step_count}, {@code _last_lr} and the hyperparameters), as JSON-ready values
     * ({@code Json.write} accepts it; non-finite numbers are the strings "Infinity", "-Infinity",
     * "NaN").
     */
    public Map<String, Object> stateDict() {
        Map<String, Object> m = new LinkedHashMap<>();
        saveState(m);
        m.put("base_lrs", new ArrayList<>(baseLrs));
        m.put("last_epoch", (long) lastEpoch);
        m.put("_step_count", (long) stepCount);
        m.put("_last_lr", lastLr == null ? null : new ArrayList<>(lastLr));
        return Options.toJsonMap(m);
    }

    /** Restores a {@link #stateDict()}; the optimizer's rates are not changed (load its state too). */
    public void loadStateDict(Map<String, Object> state) {
        Map<String, Object> m = Options.fromJsonMap(state);
        loadState(m);
        baseLrs = doubles(m.get("base_lrs"));
        lastEpoch = (int) Options.toDouble(m.get("last_epoch"));
        stepCount = (int) Options.toDouble(m.get("_step_count"));
        Object l = m.get("_last_lr");
        lastLr = l == null ? null : List.copyOf(doubles(l));
    }

    /** Adds the subclass's hyperparameters to a state dict. */
    protected void saveState(Map<String, Object> m) {
    }

    /** Reads what {@link #saveState} wrote. */
    protected void loadState(Map<String, Object> m) {
    }

    static List<Double> doubles(Object o) {
        if (!(o instanceof List<?> l)) {
            throw new IllegalArgumentException("expected a list of numbers, got " + o);
        }
        List<Double> out = new ArrayList<>();
        for (Object x : l) {
            out.add(Options.toDouble(x));
        }
        return out;
    }

    /**
     * A closed form evaluated for every group: {@code rate.applyAsDouble(base)} for each of
     * {@link #baseLrs}, in group order (what {@link #closedFormLr()} returns).
     */
    protected final List<Double> fromBaseLrs(DoubleUnaryOperator rate) {
        List<Double> out = new ArrayList<>();
        for (double base : baseLrs) {
            out.add(rate.applyAsDouble(base));
        }
        return out;
    }

    /** Multiplies every group's current rate by {@code factor}. */
    protected final List<Double> scaled(double factor) {
        List<Double> out = new ArrayList<>();
        for (double lr : groupLrs()) {
            out.add(lr * factor);
        }
        return out;
    }
}
