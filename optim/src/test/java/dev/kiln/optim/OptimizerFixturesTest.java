package dev.kiln.optim;

import dev.kiln.DType;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every optimizer configuration of the PyTorch 1.13 fixtures: feed the recorded gradients to a
 * fresh Kiln optimizer and compare the parameters after each of the 20 steps.
 */
class OptimizerFixturesTest {

    /** float32: relative 1e-5 with an absolute floor for values near zero. */
    static final double RTOL32 = 1e-5;
    static final double ATOL32 = 1e-6;
    /** float64: much tighter. */
    static final double RTOL64 = 1e-10;
    static final double ATOL64 = 1e-12;

    /** How each fixture optimizer is built in Kiln from PyTorch's keyword arguments, through the builders. */
    static final Map<String, BiFunction<List<Tensor>, Map<String, Object>, Optimizer>> FACTORIES = Map.of(
            "SGD", OptimizerFixturesTest::sgd,
            "Adam", (p, a) -> adamLike(p, a, false),
            "AdamW", (p, a) -> adamLike(p, a, true),
            "Adamax", OptimizerFixturesTest::adamax,
            "NAdam", OptimizerFixturesTest::nadam,
            "RAdam", OptimizerFixturesTest::radam,
            "RMSprop", OptimizerFixturesTest::rmsprop,
            "Adagrad", OptimizerFixturesTest::adagrad);

    static double d(Object o) {
        return ((Number) o).doubleValue();
    }

    static double[] pair(Object o) {
        List<?> l = (List<?>) o;
        return new double[] {d(l.get(0)), d(l.get(1))};
    }

    static Optimizer sgd(List<Tensor> params, Map<String, Object> args) {
        SGD.Builder b = SGD.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "momentum" -> b.momentum(d(v));
                case "dampening" -> b.dampening(d(v));
                case "nesterov" -> b.nesterov((Boolean) v);
                case "weight_decay" -> b.weightDecay(d(v));
                case "maximize" -> b.maximize((Boolean) v);
                default -> fail("SGD: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer adamLike(List<Tensor> params, Map<String, Object> args, boolean decoupled) {
        if (decoupled) {
            AdamW.Builder b = AdamW.builder(params);
            args.forEach((k, v) -> {
                switch (k) {
                    case "lr" -> b.lr(d(v));
                    case "betas" -> b.betas(pair(v)[0], pair(v)[1]);
                    case "eps" -> b.eps(d(v));
                    case "weight_decay" -> b.weightDecay(d(v));
                    case "amsgrad" -> b.amsgrad((Boolean) v);
                    case "maximize" -> b.maximize((Boolean) v);
                    default -> fail("AdamW: no mapping for argument " + k);
                }
            });
            return b.build();
        }
        Adam.Builder b = Adam.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "betas" -> b.betas(pair(v)[0], pair(v)[1]);
                case "eps" -> b.eps(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                case "amsgrad" -> b.amsgrad((Boolean) v);
                case "maximize" -> b.maximize((Boolean) v);
                default -> fail("Adam: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer adamax(List<Tensor> params, Map<String, Object> args) {
        Adamax.Builder b = Adamax.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "betas" -> b.betas(pair(v)[0], pair(v)[1]);
                case "eps" -> b.eps(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                case "maximize" -> b.maximize((Boolean) v);
                default -> fail("Adamax: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer nadam(List<Tensor> params, Map<String, Object> args) {
        NAdam.Builder b = NAdam.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "betas" -> b.betas(pair(v)[0], pair(v)[1]);
                case "eps" -> b.eps(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                case "momentum_decay" -> b.momentumDecay(d(v));
                default -> fail("NAdam: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer radam(List<Tensor> params, Map<String, Object> args) {
        RAdam.Builder b = RAdam.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "betas" -> b.betas(pair(v)[0], pair(v)[1]);
                case "eps" -> b.eps(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                default -> fail("RAdam: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer rmsprop(List<Tensor> params, Map<String, Object> args) {
        RMSprop.Builder b = RMSprop.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "alpha" -> b.alpha(d(v));
                case "eps" -> b.eps(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                case "momentum" -> b.momentum(d(v));
                case "centered" -> b.centered((Boolean) v);
                case "maximize" -> b.maximize((Boolean) v);
                default -> fail("RMSprop: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Optimizer adagrad(List<Tensor> params, Map<String, Object> args) {
        Adagrad.Builder b = Adagrad.builder(params);
        args.forEach((k, v) -> {
            switch (k) {
                case "lr" -> b.lr(d(v));
                case "lr_decay" -> b.lrDecay(d(v));
                case "weight_decay" -> b.weightDecay(d(v));
                case "initial_accumulator_value" -> b.initialAccumulatorValue(d(v));
                case "eps" -> b.eps(d(v));
                case "maximize" -> b.maximize((Boolean) v);
                default -> fail("Adagrad: no mapping for argument " + k);
            }
        });
        return b.build();
    }

    static Stream<String> cases() {
        return OptimFixtures.optimizers().cases().stream().map(c -> (String) c.get("name"));
    }

    /** Builds the case's optimizer over fresh copies of its initial parameters. */
    @SuppressWarnings("unchecked")
    static Optimizer build(Map<String, Object> c, List<Tensor> params) {
        var factory = FACTORIES.get((String) c.get("optimizer"));
        if (factory == null) {
            fail("fixture case " + c.get("name") + ": no Kiln mapping for optimizer " + c.get("optimizer"));
        }
        return factory.apply(params, (Map<String, Object>) c.get("args"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void trajectoryMatchesPyTorch(String name) {
        var fx = OptimFixtures.optimizers();
        Map<String, Object> c = fx.byName(name);
        DType dtype = OptimFixtures.dtypeOf(c.get("dtype"));
        double rtol = dtype == DType.FLOAT64 ? RTOL64 : RTOL32;
        double atol = dtype == DType.FLOAT64 ? ATOL64 : ATOL32;
        List<Tensor> params = List.of(OptimFixtures.param(fx.get(name + ".p0.init")), OptimFixtures.param(fx.get(name + ".p1.init")));
        assertEquals(dtype, params.get(0).dtype());
        Optimizer opt = build(c, params);
        int steps = ((Number) c.get("steps")).intValue();
        for (int s = 0; s < steps; s++) {
            for (int k = 0; k < 2; k++) {
                params.get(k).setGrad(fx.get(name + ".p" + k + ".grad." + s));
            }
            opt.step();
            for (int k = 0; k < 2; k++) {
                String[] worst = new String[1];
                double v = OptimFixtures.violation(params.get(k), fx.get(name + ".p" + k + ".step." + s), rtol, atol, worst);
                if (v > 1) {
                    fail(name + ": p" + k + " after step " + s + " differs from PyTorch: " + worst[0]
                            + " (rtol " + rtol + ", atol " + atol + ")");
                }
            }
        }
    }

    @Test
    void everyFixtureCaseHasAMapping() {
        List<String> missing = new ArrayList<>();
        for (Map<String, Object> c : OptimFixtures.optimizers().cases()) {
            if (!FACTORIES.containsKey((String) c.get("optimizer"))) {
                missing.add(c.get("name") + " (" + c.get("optimizer") + ")");
            }
        }
        assertTrue(missing.isEmpty(), "fixture cases without a Kiln optimizer: " + missing);
        assertEquals(29, OptimFixtures.optimizers().cases().size(), "the fixture's case count changed; review the mapping");
    }
}
