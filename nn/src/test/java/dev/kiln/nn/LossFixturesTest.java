package dev.kiln.nn;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import static dev.kiln.nn.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every loss case of {@code losses.safetensors} (written by PyTorch 1.13): output and input
 * gradient for each option set and reduction, including large logits and saturated probabilities.
 */
class LossFixturesTest {

    private static final Fixtures.File FILE = Fixtures.load("losses.safetensors");

    private static final Map<String, Function<Fixtures.Args, Loss>> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("MSELoss", a -> new MSELoss(a.reduction()));
        FACTORIES.put("L1Loss", a -> new L1Loss(a.reduction()));
        FACTORIES.put("SmoothL1Loss", a -> new SmoothL1Loss(a.reduction(), a.d("beta", 1.0)));
        FACTORIES.put("HuberLoss", a -> new HuberLoss(a.reduction(), a.d("delta", 1.0)));
        FACTORIES.put("CrossEntropyLoss", a -> CrossEntropyLoss.builder().reduction(a.reduction()).weight(a.tensor("weight"))
                .ignoreIndex(a.l("ignore_index", -100)).labelSmoothing(a.d("label_smoothing", 0)).build());
        FACTORIES.put("NLLLoss", a -> new NLLLoss(a.tensor("weight"), a.l("ignore_index", -100), a.reduction()));
        FACTORIES.put("BCELoss", a -> new BCELoss(a.tensor("weight"), a.reduction()));
        FACTORIES.put("BCEWithLogitsLoss", a -> BCEWithLogitsLoss.builder().reduction(a.reduction())
                .weight(a.tensor("weight")).posWeight(a.tensor("pos_weight")).build());
        FACTORIES.put("KLDivLoss", a -> new KLDivLoss(a.reduction(), a.b("log_target", false)));
    }

    static List<Fixtures.Case> cases() {
        return FILE.cases();
    }

    private static Loss build(Fixtures.Case c) {
        Function<Fixtures.Args, Loss> f = FACTORIES.get(c.module());
        if (f == null) {
            fail("no factory for fixture loss " + c.module() + " (case " + c.name() + ")");
        }
        Fixtures.Args args = new Fixtures.Args(c.args(), FILE);
        Loss loss = f.apply(args);
        args.done(c.name());
        return loss;
    }

    @Test
    void everyCaseIsMapped() {
        Set<String> unmapped = new TreeSet<>();
        for (Fixtures.Case c : cases()) {
            if (!FACTORIES.containsKey(c.module())) {
                unmapped.add(c.module() + " (" + c.name() + ")");
            } else {
                build(c);
            }
        }
        assertEquals(Set.of(), unmapped, "fixture cases without a mapping");
        assertFalse(cases().isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Fixtures.Case c) {
        String n = c.name();
        Loss loss = build(c);
        assertEquals(new TreeSet<>(FILE.under(n + ".buffer.").keySet()), new TreeSet<>(loss.stateDict().keySet()),
                n + ": buffer names");
        Tensor x = FILE.get(n + ".input").clone().requiresGrad(true);
        Tensor target = FILE.get(n + ".target");
        Tensor out = loss.forward(x, target);
        assertClose(n + " output", FILE.get(n + ".output"), out);
        out.backward(FILE.get(n + ".grad_output"));
        assertClose(n + " input gradient", FILE.get(n + ".grad.input"), x.grad());
    }
}
