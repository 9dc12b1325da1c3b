package dev.kiln.optim;

import dev.kiln.Device;
import dev.kiln.Generator;
import dev.kiln.Json;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * State dicts: an optimizer saved to a safetensors file (tensors plus the JSON string as metadata)
 * and restored into a fresh optimizer continues bit for bit like the original.
 */
class StateDictTest {

    @TempDir
    Path dir;

    static Function<List<Tensor>, Optimizer> factory(String name) {
        return switch (name) {
            case "SGD" -> p -> SGD.builder(p).lr(0.05).momentum(0.9).nesterov(true).weightDecay(0.01).build();
            case "Adam" -> p -> Adam.builder(p).lr(0.05).amsgrad(true).weightDecay(0.1).build();
            case "AdamW" -> p -> AdamW.builder(p).lr(0.05).build();
            case "Adamax" -> p -> new Adamax(p, 0.05);
            case "NAdam" -> p -> NAdam.builder(p).lr(0.05).momentumDecay(0.01).build();
            case "RAdam" -> p -> new RAdam(p, 0.05);
            case "RMSprop" -> p -> RMSprop.builder(p).lr(0.01).momentum(0.5).centered(true).build();
            case "Adagrad" -> p -> Adagrad.builder(p).lr(0.1).lrDecay(0.05).initialAccumulatorValue(0.1).build();
            case "AdamX" -> p -> AdamX.builder(p).lr(0.05).beta1Decay(0.9).build();
            case "AdamZ" -> p -> AdamZ.builder(p).lr(0.05).patience(3).stagnationPeriod(2).build();
            default -> throw new AssertionError(name);
        };
    }

    static List<Tensor> params(long seed) {
        Generator g = new Generator(seed);
        return List.of(Tensor.randn(new long[] {3, 4}, g).requiresGrad(true), Tensor.randn(new long[] {4}, g).requiresGrad(true));
    }

    static void step(Optimizer opt, List<Tensor> params, int s) {
        Generator g = new Generator(1000 + s);
        for (Tensor p : params) {
            p.setGrad(Tensor.randn(p.shape(), g));
        }
        if (opt instanceof AdamZ z) {
            z.step(1.0 + 0.3 * Math.sin(s)); // a loss that moves, so the rate is adjusted
        } else {
            opt.step();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "AdamX", "AdamZ"})
    void restoredOptimizerContinuesBitIdentically(String name) throws Exception {
        List<Tensor> a = params(7);
        Optimizer optA = factory(name).apply(a);
        for (int s = 0; s < 5; s++) {
            step(optA, a, s);
        }
        OptimizerState sd = optA.stateDict();
        Path file = dir.resolve(name + ".safetensors");
        Safetensors.save(sd.tensors(), Map.of("optimizer", sd.json()), file);

        List<Tensor> b = new ArrayList<>();
        for (Tensor p : a) {
            b.add(p.detach().clone().requiresGrad(true));
        }
        Optimizer optB = factory(name).apply(b);
        Safetensors.Contents loaded = Safetensors.read(file, Device.cpu());
        optB.loadStateDict(OptimizerState.of(loaded.tensors(), loaded.metadata().get("optimizer")));
        assertEquals(optA.paramGroups().get(0).lr(), optB.paramGroups().get(0).lr(), 0);

        for (int s = 5; s < 10; s++) {
            step(optA, a, s);
            step(optB, b, s);
            for (int k = 0; k < a.size(); k++) {
                assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), 0f, name + " p" + k + " after step " + s);
            }
        }
        assertEquals(optA.paramGroups().get(0).lr(), optB.paramGroups().get(0).lr(), 0);
    }

    @Test
    void layoutFollowsPyTorch() {
        List<Tensor> p = params(1);
        Adam opt = Adam.builder(List.of(p.get(0))).lr(0.01).amsgrad(true).build();
        opt.addParamGroup(List.of(p.get(1)), Map.of("lr", 0.1));
        for (Tensor t : p) {
            t.setGrad(t.onesLike());
        }
        opt.step();
        OptimizerState sd = opt.stateDict();
        assertEquals(List.of("state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"), new ArrayList<>(sd.tensors().keySet()));
        assertEquals(0, sd.tensors().get("state.0.step").dim());
        assertEquals(1.0, sd.tensors().get("state.0.step").item());
        assertEquals(List.of(0L), sd.paramGroups().get(0).get("params"));
        assertEquals(List.of(1L), sd.paramGroups().get(1).get("params"));
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) Json.parse(sd.json());
        assertEquals("Adam", json.get("optimizer"));
        @SuppressWarnings("unchecked")
        Map<String, Object> g1 = (Map<String, Object>) ((List<Object>) json.get("param_groups")).get(1);
        assertEquals(0.1, g1.get("lr"));
        assertEquals(List.of(0.9, 0.999), g1.get("betas"));
        assertEquals(true, g1.get("amsgrad"));
    }

    @Test
    void loadCopiesTheBuffers() {
        List<Tensor> p = params(2);
        SGD a = SGD.builder(p).lr(0.1).momentum(0.9).build();
        p.get(0).setGrad(p.get(0).onesLike());
        a.step();
        OptimizerState sd = a.stateDict();
        SGD b = SGD.builder(p).lr(0.1).momentum(0.9).build();
        b.loadStateDict(sd);
        assertNotSame(sd.state().get(0).get("momentum_buffer"), b.stateDict().state().get(0).get("momentum_buffer"));
        assertTrue(b.stateDict().state().containsKey(0));
        assertTrue(!b.stateDict().state().containsKey(1), "a parameter that never had a gradient has no state");
    }

    @Test
    void mismatchedStateIsRefused() {
        List<Tensor> p = params(3);
        Adam a = new Adam(p, 0.1);
        for (Tensor t : p) {
            t.setGrad(t.onesLike());
        }
        a.step();
        Adam one = new Adam(List.of(p.get(0)), 0.1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> one.loadStateDict(a.stateDict()));
        assertTrue(e.getMessage().contains("group 0 has 1 tensors"), e.getMessage());
        Adam swapped = new Adam(List.of(p.get(1), p.get(0)), 0.1);
        e = assertThrows(IllegalArgumentException.class, () -> swapped.loadStateDict(a.stateDict()));
        assertTrue(e.getMessage().contains("has shape"), e.getMessage());
    }

    @Test
    void schedulerStateRoundTripsThroughJson() {
        List<Tensor> p = params(4);
        SGD opt = new SGD(p, 0.1);
        StepLR s = new StepLR(opt, 2, 0.5);
        for (int e = 0; e < 3; e++) {
            opt.step();
            s.step();
        }
        String json = Json.write(s.stateDict());
        SGD opt2 = new SGD(p, 0.1);
        opt2.loadStateDict(opt.stateDict());
        StepLR s2 = new StepLR(opt2, 7, 0.9);
        @SuppressWarnings("unchecked")
        Map<String, Object> parsed = (Map<String, Object>) Json.parse(json);
        s2.loadStateDict(parsed);
        for (int e = 3; e < 9; e++) {
            s.step();
            s2.step();
            assertEquals(s.getLastLr(), s2.getLastLr(), "epoch " + e);
        }
    }

    @Test
    void plateauStateWithInfiniteBestIsValidJson() {
        SGD opt = new SGD(params(5), 0.1);
        ReduceLROnPlateau r = ReduceLROnPlateau.builder(opt).patience(1).build();
        String json = Json.write(r.stateDict());
        assertTrue(json.contains("\"best\":\"Infinity\""), json);
        ReduceLROnPlateau r2 = new ReduceLROnPlateau(opt);
        @SuppressWarnings("unchecked")
        Map<String, Object> parsed = (Map<String, Object>) Json.parse(json);
        r2.loadStateDict(parsed);
        assertEquals(Double.POSITIVE_INFINITY, r2.best());
        r2.step(1.0);
        r2.step(1.0);
        r2.step(1.0);
        assertEquals(0.01, opt.paramGroups().get(0).lr(), 1e-15);
    }

    @Test
    void sequentialStateRoundTrips() {
        SGD opt = new SGD(params(6), 0.1);
        SequentialLR s = new SequentialLR(opt, List.of(new LinearLR(opt, 0.1, 1.0, 3), new ExponentialLR(opt, 0.9)), new int[] {4});
        for (int e = 0; e < 6; e++) {
            s.step();
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> state = (Map<String, Object>) Json.parse(Json.write(s.stateDict()));
        SGD opt2 = new SGD(params(6), 0.1);
        opt2.paramGroups().get(0).setLr(opt.paramGroups().get(0).lr());
        SequentialLR s2 = new SequentialLR(opt2, List.of(new LinearLR(opt2, 0.1, 1.0, 3), new ExponentialLR(opt2, 0.9)), new int[] {4});
        opt2.paramGroups().get(0).setLr(opt.paramGroups().get(0).lr());
        s2.loadStateDict(state);
        for (int e = 6; e < 10; e++) {
            s.step();
            s2.step();
            assertEquals(s.getLastLr().get(0), s2.getLastLr().get(0), 1e-15, "epoch " + e);
        }
    }
}
