package dev.kiln.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Multiplies each group's rate by {@code gamma} when the epoch reaches a milestone, as
 * {@code torch.optim.lr_scheduler.MultiStepLR}; a milestone listed twice applies gamma twice.
 */
public class MultiStepLR extends LRScheduler {

    private final TreeMap<Integer, Integer> milestones = new TreeMap<>();
    private double gamma;

    /** MultiStepLR with PyTorch's default gamma, 0.1. */
    public MultiStepLR(Optimizer optimizer, int[] milestones) {
        this(optimizer, milestones, 0.1);
    }

    public MultiStepLR(Optimizer optimizer, int[] milestones, double gamma) {
        super(optimizer);
        for (int m : milestones) {
            this.milestones.merge(m, 1, Integer::sum);
        }
        this.gamma = gamma;
        initialStep();
    }

    @Override
    protected List<Double> computeLr() {
        Integer count = milestones.get(lastEpoch);
        if (count == null) {
            return groupLrs();
        }
        return scaled(Math.pow(gamma, count));
    }

    @Override
    protected List<Double> closedFormLr() {
        int passed = 0;
        for (Map.Entry<Integer, Integer> e : milestones.headMap(lastEpoch, true).entrySet()) {
            passed += e.getValue();
        }
        double factor = Math.pow(gamma, passed);
        return fromBaseLrs(b -> b * factor);
    }

    /** The milestones, repeated ones repeated, ascending. */
    public int[] milestones() {
        return milestones.entrySet().stream()
                .flatMapToInt(e -> Arrays.stream(new int[e.getValue()]).map(x -> e.getKey()))
                .toArray();
    }

    @Override
    protected void saveState(Map<String, Object> m) {
        List<Long> ms = new ArrayList<>();
        for (int x : milestones()) {
            ms.add((long) x);
        }
        m.put("milestones", ms);
        m.put("gamma", gamma);
    }

    @Override
    protected void loadState(Map<String, Object> m) {
        milestones.clear();
        for (double x : doubles(m.get("milestones"))) {
            milestones.merge((int) x, 1, Integer::sum);
        }
        gamma = Options.toDouble(m.get("gamma"));
    }
}
