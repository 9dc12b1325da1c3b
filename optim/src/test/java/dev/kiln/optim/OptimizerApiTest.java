package dev.kiln.optim;

import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptimizerApiTest {

    static Function<List<Tensor>, Optimizer> factory(String name) {
        return switch (name) {
            case "SGD" -> p -> SGD.builder(p).lr(0.1).momentum(0.9).build();
            case "Adam" -> p -> new Adam(p, 0.1);
            case "AdamW" -> p -> new AdamW(p, 0.1);
            case "Adamax" -> p -> new Adamax(p, 0.1);
            case "NAdam" -> p -> new NAdam(p, 0.1);
            case "RAdam" -> p -> new RAdam(p, 0.1);
            case "RMSprop" -> p -> new RMSprop(p, 0.05);
            case "Adagrad" -> p -> new Adagrad(p, 0.5);
            case "AdamX" -> p -> AdamX.builder(p).lr(0.3).sqrtDecay(false).build();
            case "AdamZ" -> p -> new AdamZ(p, 0.1);
            default -> throw new AssertionError(name);
        };
    }

    /** With autograd: 60 steps on (x - 3)^2 summed; every optimizer must bring the loss well down. */
    @ParameterizedTest
    @ValueSource(strings = {"SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "AdamX", "AdamZ"})
    void everyOptimizerMinimizesAQuadratic(String name) {
        Tensor x = Tensor.of(0f, 1f, 5f, -2f).requiresGrad(true);
        Optimizer opt = factory(name).apply(List.of(x));
        double first = Double.NaN;
        double last = Double.NaN;
        for (int i = 0; i < 60; i++) {
            Tensor loss = x.sub(3).square().sum();
            opt.zeroGrad();
            loss.backward();
            last = loss.item();
            if (i == 0) {
                first = last;
            }
            if (opt instanceof AdamZ z) {
                z.step(last);
            } else {
                opt.step();
            }
        }
        assertTrue(last < 0.1 * first, name + ": loss " + first + " -> " + last);
        assertTrue(x.isLeaf() && x.requiresGrad(), "the parameter stays a leaf that requires grad");
    }

    @Test
    void contractConstructors() {
        List<Tensor> params = List.of(Tensor.zeros(2).requiresGrad(true));
        assertEquals(0.01, new SGD(params, 0.01).paramGroups().get(0).lr());
        Adam adam = new Adam(params, 0.01);
        assertEquals(0.01, adam.paramGroups().get(0).lr());
        assertArrayEquals(new double[] {0.9, 0.999}, adam.paramGroups().get(0).getDoubles("betas"));
        assertEquals(0.01, new AdamW(params).paramGroups().get(0).getDouble("weight_decay"), "PyTorch's AdamW default");
        assertEquals(0.002, new Adamax(params).paramGroups().get(0).lr());
        assertEquals(0.002, new NAdam(params).paramGroups().get(0).lr());
        assertEquals(1e-10, new Adagrad(params).paramGroups().get(0).getDouble("eps"));
    }

    @Test
    void builderSetsEveryOption() {
        List<Tensor> params = List.of(Tensor.zeros(2).requiresGrad(true));
        Adam a = Adam.builder(params).lr(1e-3).betas(0.8, 0.99).eps(1e-6).weightDecay(0.1).amsgrad(true).maximize(true).build();
        Map<String, Object> o = a.paramGroups().get(0).options();
        assertEquals(List.of(0.8, 0.99), o.get("betas"));
        assertEquals(1e-6, o.get("eps"));
        assertEquals(0.1, o.get("weight_decay"));
        assertEquals(true, o.get("amsgrad"));
        assertEquals(true, o.get("maximize"));
    }

    @Test
    void paramGroupsOverrideDefaults() {
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(2).requiresGrad(true);
        SGD opt = new SGD(List.of(a), 0.1);
        opt.addParamGroup(List.of(b), Map.of("lr", 0.5, "weightDecay", 1.0));
        assertEquals(2, opt.paramGroups().size());
        assertEquals(0.0, opt.paramGroups().get(0).getDouble("weight_decay"));
        assertEquals(1.0, opt.paramGroups().get(1).getDouble("weight_decay"));
        a.setGrad(Tensor.ones(2));
        b.setGrad(Tensor.ones(2));
        opt.step();
        assertArrayEquals(new float[] {0.9f, 0.9f}, a.toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {0f, 0f}, b.toFloatArray(), 1e-7f); // 1 - 0.5 * (1 + 1 * 1)
        opt.paramGroups().get(0).setLr(0.2);
        opt.step();
        assertArrayEquals(new float[] {0.7f, 0.7f}, a.toFloatArray(), 1e-6f);
    }

    @Test
    void badOptionsAreRefusedByName() {
        List<Tensor> params = List.of(Tensor.zeros(2).requiresGrad(true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SGD(params, 0.1).addParamGroup(List.of(Tensor.zeros(1).requiresGrad(true)), Map.of("betas", 0.9)));
        assertTrue(e.getMessage().contains("unknown option 'betas'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Adam(params, -1));
        assertTrue(e.getMessage().contains("lr"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Adam.builder(params).betas(1.0, 0.9).build());
        assertTrue(e.getMessage().contains("beta parameter at index 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SGD.builder(params).lr(0.1).nesterov(true).build());
        assertTrue(e.getMessage().contains("Nesterov"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SGD.builder(params).build());
        assertTrue(e.getMessage().contains("learning rate is required"), e.getMessage());
    }

    @Test
    void aTensorBelongsToOneGroupAndMustBeALeaf() {
        Tensor a = Tensor.zeros(2).requiresGrad(true);
        SGD opt = new SGD(List.of(a), 0.1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.addParamGroup(List.of(a), Map.of()));
        assertTrue(e.getMessage().contains("more than one parameter group"), e.getMessage());
        Tensor computed = a.mul(2);
        e = assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(computed), 0.1));
        assertTrue(e.getMessage().contains("non-leaf"), e.getMessage());
    }

    @Test
    void zeroGradSetsToNullOrZeroesInPlace() {
        Tensor a = Tensor.zeros(2).requiresGrad(true);
        SGD opt = new SGD(List.of(a), 0.1);
        Tensor g = Tensor.of(1f, 2f);
        a.setGrad(g);
        opt.zeroGrad(false);
        assertSame(g, a.grad());
        assertArrayEquals(new float[] {0, 0}, g.toFloatArray(), 0f);
        opt.zeroGrad();
        assertNull(a.grad());
    }

    @Test
    void tensorsWithoutGradientsAreSkipped() {
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(2).requiresGrad(true);
        Adam opt = new Adam(List.of(a, b), 0.1);
        a.setGrad(Tensor.ones(2));
        opt.step();
        assertArrayEquals(new float[] {1, 1}, b.toFloatArray(), 0f);
        assertEquals(1, opt.stateDict().state().size());
    }

    @Test
    @SuppressWarnings("try") // the scope object only restores grad mode when closed
    void stepRunsUnderNoGradAndClosureRunsWithGrad() {
        Tensor x = Tensor.of(2f).requiresGrad(true);
        SGD opt = new SGD(List.of(x), 0.25);
        double loss = opt.step(() -> {
            assertTrue(Kiln.isGradEnabled());
            opt.zeroGrad();
            Tensor l = x.square().sum();
            l.backward();
            return l.item();
        });
        assertEquals(4.0, loss);
        assertArrayEquals(new float[] {1f}, x.toFloatArray(), 0f); // 2 - 0.25 * 4
        try (var s = Kiln.noGrad()) {
            x.setGrad(Tensor.of(1f));
            opt.step(); // works inside a no-grad scope too
        }
        assertTrue(Kiln.isGradEnabled());
    }

    @Test
    void maximizeClimbs() {
        Tensor x = Tensor.of(0f).requiresGrad(true);
        SGD opt = SGD.builder(List.of(x)).lr(0.5).maximize(true).build();
        x.setGrad(Tensor.of(1f));
        opt.step();
        assertArrayEquals(new float[] {0.5f}, x.toFloatArray(), 0f);
    }
}
