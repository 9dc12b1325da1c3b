package dev.kiln.optim;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Every scheduler case of the PyTorch 1.13 fixtures: 30 epochs of learning rates (and OneCycle's momentum). */
class SchedulerFixturesTest {

    /** Both sides compute in double with the same formulas; only cos/pow may differ by an ulp. */
    static final double RTOL = 1e-12;
    static final double ATOL = 1e-15;

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> fixtureCases() {
        return (List<Map<String, Object>>) OptimFixtures.schedulers().get("cases");
    }

    static Stream<String> cases() {
        return fixtureCases().stream().map(c -> (String) c.get("name"));
    }

    static Map<String, Object> byName(String name) {
        return fixtureCases().stream().filter(c -> name.equals(c.get("name"))).findFirst().orElseThrow();
    }

    static double d(Object o) {
        return ((Number) o).doubleValue();
    }

    static int i(Object o) {
        return ((Number) o).intValue();
    }

    static int[] ints(Object o) {
        return ((List<?>) o).stream().mapToInt(SchedulerFixturesTest::i).toArray();
    }

    /** Builds a Kiln scheduler from the fixture's name and PyTorch keyword arguments (not ReduceLROnPlateau). */
    @SuppressWarnings("unchecked")
    static LRScheduler scheduler(Optimizer opt, String kind, Map<String, Object> args) {
        for (String k : args.keySet()) {
            if (!known(kind).contains(k)) {
                fail(kind + ": no mapping for argument " + k);
            }
        }
        switch (kind) {
            case "StepLR":
                return args.containsKey("gamma") ? new StepLR(opt, i(args.get("step_size")), d(args.get("gamma")))
                        : new StepLR(opt, i(args.get("step_size")));
            case "MultiStepLR":
                return args.containsKey("gamma") ? new MultiStepLR(opt, ints(args.get("milestones")), d(args.get("gamma")))
                        : new MultiStepLR(opt, ints(args.get("milestones")));
            case "ExponentialLR":
                return new ExponentialLR(opt, d(args.get("gamma")));
            case "CosineAnnealingLR":
                return new CosineAnnealingLR(opt, i(args.get("T_max")), args.containsKey("eta_min") ? d(args.get("eta_min")) : 0);
            case "LinearLR":
                return args.isEmpty() ? new LinearLR(opt)
                        : new LinearLR(opt, d(args.getOrDefault("start_factor", 1.0 / 3)),
                                d(args.getOrDefault("end_factor", 1.0)), i(args.getOrDefault("total_iters", 5L)));
            case "OneCycleLR": {
                OneCycleLR.Builder b = OneCycleLR.builder(opt, d(args.get("max_lr")), i(args.get("total_steps")));
                if (args.containsKey("anneal_strategy")) {
                    b.annealStrategy((String) args.get("anneal_strategy"));
                }
                if (args.containsKey("pct_start")) {
                    b.pctStart(d(args.get("pct_start")));
                }
                if (args.containsKey("div_factor")) {
                    b.divFactor(d(args.get("div_factor")));
                }
                if (args.containsKey("final_div_factor")) {
                    b.finalDivFactor(d(args.get("final_div_factor")));
                }
                if (args.containsKey("three_phase")) {
                    b.threePhase((Boolean) args.get("three_phase"));
                }
                return b.build();
            }
            case "SequentialLR": {
                List<LRScheduler> children = new ArrayList<>();
                for (Object o : (List<Object>) args.get("schedulers")) {
                    Map<String, Object> child = (Map<String, Object>) o;
                    children.add(scheduler(opt, (String) child.get("scheduler"), (Map<String, Object>) child.get("args")));
                }
                return new SequentialLR(opt, children, ints(args.get("milestones")));
            }
            default:
                fail("no Kiln mapping for scheduler " + kind);
                return null;
        }
    }

    static List<String> known(String kind) {
        return switch (kind) {
            case "StepLR" -> List.of("step_size", "gamma");
            case "MultiStepLR" -> List.of("milestones", "gamma");
            case "ExponentialLR" -> List.of("gamma");
            case "CosineAnnealingLR" -> List.of("T_max", "eta_min");
            case "LinearLR" -> List.of("start_factor", "end_factor", "total_iters");
            case "OneCycleLR" -> List.of("max_lr", "total_steps", "anneal_strategy", "pct_start", "div_factor",
                    "final_div_factor", "three_phase");
            case "SequentialLR" -> List.of("schedulers", "milestones");
            case "ReduceLROnPlateau" -> List.of("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                    "min_lr", "eps");
            default -> List.of();
        };
    }

    static ReduceLROnPlateau plateau(Optimizer opt, Map<String, Object> args) {
        ReduceLROnPlateau.Builder b = ReduceLROnPlateau.builder(opt);
        args.forEach((k, v) -> {
            switch (k) {
                case "mode" -> b.mode((String) v);
                case "factor" -> b.factor(d(v));
                case "patience" -> b.patience(i(v));
                case "threshold" -> b.threshold(d(v));
                case "threshold_mode" -> b.thresholdMode((String) v);
                case "cooldown" -> b.cooldown(i(v));
                case "min_lr" -> b.minLr(d(v));
                case "eps" -> b.eps(d(v));
                default -> fail("ReduceLROnPlateau: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static void close(double expected, double actual, String what) {
        if (!(Math.abs(actual - expected) <= ATOL + RTOL * Math.abs(expected))) {
            fail(what + ": expected " + expected + ", got " + actual);
        }
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void learningRatesMatchPyTorch(String name) {
        Map<String, Object> c = byName(name);
        Map<String, Object> o = (Map<String, Object>) c.get("optimizer");
        assertEquals("SGD", o.get("name"));
        Tensor p = Tensor.zeros(1).requiresGrad(true);
        SGD opt = SGD.builder(List.of(p)).lr(d(o.get("lr"))).momentum(d(o.get("momentum"))).build();
        String kind = (String) c.get("scheduler");
        Map<String, Object> args = (Map<String, Object>) c.get("args");
        List<Object> lrs = (List<Object>) c.get("lrs");
        ParamGroup group = opt.paramGroups().get(0);
        if (kind.equals("ReduceLROnPlateau")) {
            ReduceLROnPlateau s = plateau(opt, args);
            close(d(c.get("initial_lr")), group.lr(), name + " initial lr");
            List<Object> metrics = (List<Object>) c.get("metrics");
            for (int e = 0; e < lrs.size(); e++) {
                opt.step();
                s.step(d(metrics.get(e)));
                close(d(lrs.get(e)), group.lr(), name + " lr after epoch " + e);
                close(d(lrs.get(e)), s.getLastLr().get(0), name + " getLastLr after epoch " + e);
            }
            return;
        }
        LRScheduler s = scheduler(opt, kind, args);
        close(d(c.get("initial_lr")), group.lr(), name + " initial lr");
        if (c.containsKey("initial_momentum")) {
            close(d(c.get("initial_momentum")), group.getDouble("momentum"), name + " initial momentum");
        }
        List<Object> momentums = (List<Object>) c.get("momentums");
        for (int e = 0; e < lrs.size(); e++) {
            opt.step();
            s.step();
            close(d(lrs.get(e)), s.getLastLr().get(0), name + " getLastLr after epoch " + e);
            close(d(lrs.get(e)), group.lr(), name + " group lr after epoch " + e);
            if (momentums != null) {
                close(d(momentums.get(e)), group.getDouble("momentum"), name + " momentum after epoch " + e);
            }
        }
    }

    @Test
    void everyFixtureSchedulerHasAMapping() {
        List<String> missing = new ArrayList<>();
        for (Map<String, Object> c : fixtureCases()) {
            if (known((String) c.get("scheduler")).isEmpty()) {
                missing.add((String) c.get("name"));
            }
        }
        assertTrue(missing.isEmpty(), "fixture schedulers without a Kiln mapping: " + missing);
    }

    @Test
    void oneCycleRefusesAStepPastTheExtrapolatedOne() {
        Tensor p = Tensor.zeros(1).requiresGrad(true);
        SGD opt = SGD.builder(List.of(p)).lr(0.1).momentum(0.9).build();
        OneCycleLR s = OneCycleLR.builder(opt, 0.1, 5).build();
        for (int e = 0; e < 5; e++) {
            s.step(); // the fifth is PyTorch 1.13's accepted extrapolation
        }
        IllegalStateException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, s::step);
        assertTrue(ex.getMessage().contains("tried to step 7 times"), ex.getMessage());
    }
}
