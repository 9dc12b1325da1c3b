package dev.kiln.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs schedulers one after another, switching at the milestones, as
 * {@code torch.optim.lr_scheduler.SequentialLR} in PyTorch 1.13: e.g. a {@link LinearLR} warm-up
 * for 5 epochs, then {@link ExponentialLR}.
 *
 * <p>Build the child schedulers on the same optimizer first. As in PyTorch, construction resets
 * the rates to {@code initial_lr}, undoes the children's initial steps and redoes only the first
 * child's; at a milestone the next child restarts from epoch 0 (for ExponentialLR that is the base
 * rate, whatever the previous child left).
 */
public class SequentialLR extends LRScheduler {

    private final List<LRScheduler> schedulers;
    private final int[] milestones;

    public SequentialLR(Optimizer optimizer, List<LRScheduler> schedulers, int[] milestones) {
        super(optimizer);
        if (schedulers.isEmpty()) {
            throw new IllegalArgumentException("SequentialLR: no schedulers");
        }
        for (int i = 0; i < schedulers.size(); i++) {
            if (schedulers.get(i).optimizer != optimizer) {
                throw new IllegalArgumentException("SequentialLR: all schedulers must belong to the same optimizer, but the one at index "
                        + i + " has another");
            }
        }
        if (milestones.length != schedulers.size() - 1) {
            throw new IllegalArgumentException("SequentialLR: expected " + (schedulers.size() - 1) + " milestones for "
                    + schedulers.size() + " schedulers, got " + milestones.length);
        }
        this.schedulers = List.copyOf(schedulers);
        this.milestones = milestones.clone();
        this.lastEpoch = 0;
        for (ParamGroup g : optimizer.paramGroups()) {
            g.setLr(g.getDouble("initial_lr"));
        }
        for (LRScheduler s : this.schedulers) {
            s.lastEpoch -= 1;
        }
        this.schedulers.get(0).initialStep();
        setLastLr(this.schedulers.get(0).getLastLr());
    }

    @Override
    public void step() {
        lastEpoch++;
        int idx = upperBound(milestones, lastEpoch);
        LRScheduler s = schedulers.get(idx);
        if (idx > 0 && milestones[idx - 1] == lastEpoch) {
            s.stepTo(0);
        } else {
            s.step();
        }
        setLastLr(s.getLastLr());
    }

    /** The number of milestones {@code <= x} (Python's bisect_right). */
    private static int upperBound(int[] a, int x) {
        int n = 0;
        while (n < a.length && a[n] <= x) {
            n++;
        }
        return n;
    }

    @Override
    protected List<Double> computeLr() {
        throw new UnsupportedOperationException("SequentialLR delegates to its schedulers");
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        List<Long> ms = new ArrayList<>();
        for (int x : milestones) {
            ms.add((long) x);
        }
        m.put("_milestones", ms);
        List<Object> children = new ArrayList<>();
        for (LRScheduler s : schedulers) {
            children.add(s.stateDict());
        }
        m.put("_schedulers", children);
    }

    @Override
    @SuppressWarnings("unchecked")
    protected void loadState(Map<String, Object> m) {
        Object c = m.get("_schedulers");
        if (!(c instanceof List<?> l) || l.size() != schedulers.size()) {
            throw new IllegalArgumentException("SequentialLR.loadStateDict: expected " + schedulers.size() + " child states, got " + c);
        }
        for (int i = 0; i < schedulers.size(); i++) {
            schedulers.get(i).loadStateDict((Map<String, Object>) l.get(i));
        }
    }
}
