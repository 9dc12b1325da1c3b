package dev.kiln.optim;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared builder hierarchy and the typed per-group reader of the moment-based optimizers. */
class SharedOptionsTest {

    private static final List<Tensor> PARAMS = List.of(Tensor.zeros(3).requiresGrad(true));

    /** The shared setters, through each optimizer's own Builder type (so they chain into its own setters). */
    private static Optimizer viaBuilder(String name) {
        return switch (name) {
            case "Adam" -> Adam.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5)
                    .amsgrad(true).build();
            case "AdamW" -> AdamW.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5)
                    .amsgrad(true).build();
            case "AdamZ" -> AdamZ.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5)
                    .amsgrad(true).patience(7).build();
            case "AdamX" -> AdamX.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5)
                    .beta1Decay(0.9).build();
            case "NAdam" -> NAdam.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5)
                    .momentumDecay(0.01).build();
            case "RAdam" -> RAdam.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5).build();
            case "Adamax" -> Adamax.builder(PARAMS).betas(0.8, 0.9).eps(1e-6).weightDecay(0.25).maximize(true).lr(0.5).build();
            default -> throw new AssertionError(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"Adam", "AdamW", "AdamZ", "AdamX", "NAdam", "RAdam", "Adamax"})
    void sharedSettersReachTheGroupAndTheTypedReader(String name) {
        Optimizer opt = viaBuilder(name);
        assertEquals(name, opt.getClass().getSimpleName());
        ParamGroup g = opt.paramGroups().get(0);
        MomentOptions o = MomentOptions.of(g);
        assertEquals(new MomentOptions(0.5, 0.8, 0.9, 1e-6, 0.25, true), o);
        assertEquals(List.of(0.8, 0.9), g.get("betas"));
    }

    @Test
    void defaultsKeepPyTorchsKeyOrder() {
        assertEquals(List.of("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
                List.copyOf(new Adam(PARAMS).defaults().keySet()));
        assertEquals(List.of("lr", "betas", "eps", "weight_decay", "momentum_decay", "maximize"),
                List.copyOf(new NAdam(PARAMS).defaults().keySet()));
        assertEquals(List.of("lr", "betas", "eps", "weight_decay", "maximize"),
                List.copyOf(new RAdam(PARAMS).defaults().keySet()));
        assertEquals(List.of("lr", "betas", "eps", "weight_decay", "maximize"),
                List.copyOf(new Adamax(PARAMS).defaults().keySet()));
        Map<String, Object> w = new AdamW(PARAMS).defaults();
        assertEquals(0.01, w.get("weight_decay"));
        assertEquals(2e-3, new NAdam(PARAMS).defaults().get("lr"));
    }

    @Test
    void sharedChecksNameTheOptimizer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RAdam.builder(PARAMS).eps(-1).build());
        assertTrue(e.getMessage().startsWith("RAdam: invalid eps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NAdam.builder(PARAMS).betas(0.9, 1.0).build());
        assertTrue(e.getMessage().startsWith("NAdam: invalid beta parameter at index 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Adamax.builder(PARAMS).weightDecay(-0.5).build());
        assertTrue(e.getMessage().startsWith("Adamax: invalid weight_decay"), e.getMessage());
    }

    @Test
    void weightDecayHelperAddsThePenaltyOrReturnsTheGradient() {
        Tensor g = Tensor.of(1f, 2f);
        Tensor p = Tensor.of(10f, -10f);
        assertSame(g, Optimizer.withWeightDecay(g, p, 0));
        Tensor d = Optimizer.withWeightDecay(g, p, 0.5);
        assertEquals(6.0, d.getDouble(0), 0);
        assertEquals(-3.0, d.getDouble(1), 0);
    }
}
