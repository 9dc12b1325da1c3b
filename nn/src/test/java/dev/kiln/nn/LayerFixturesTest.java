package dev.kiln.nn;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import static dev.kiln.nn.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every layer case of {@code layers.safetensors} (written by PyTorch 1.13): load PyTorch's
 * parameters and buffers into a fresh module through {@code loadStateDict}, run forward, compare the
 * output, backpropagate PyTorch's {@code grad_output}, compare the input and parameter gradients and
 * the buffers after the step.
 */
class LayerFixturesTest {

    private static final Fixtures.File FILE = Fixtures.load("layers.safetensors");

    /** How to build each fixture module from PyTorch's keyword arguments. */
    private static final Map<String, Function<Fixtures.Args, Module>> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("Linear", a -> new Linear(a.l("in_features", -1), a.l("out_features", -1), a.b("bias", true)));
        FACTORIES.put("Conv1d", a -> {
            int[] k = a.ints("kernel_size");
            return Conv1d.builder(a.i("in_channels", -1), a.i("out_channels", -1), k[0]).stride(a.i("stride", 1))
                    .padding(a.i("padding", 0)).dilation(a.i("dilation", 1)).groups(a.i("groups", 1))
                    .bias(a.b("bias", true)).build();
        });
        FACTORIES.put("Conv2d", a -> {
            int[] k = a.ints("kernel_size");
            Conv2d.Builder b = k.length == 1 ? Conv2d.builder(a.i("in_channels", -1), a.i("out_channels", -1), k[0])
                    : Conv2d.builder(a.i("in_channels", -1), a.i("out_channels", -1), k[0], k[1]);
            return b.stride(or(a.ints("stride"), 1)).padding(or(a.ints("padding"), 0)).dilation(or(a.ints("dilation"), 1))
                    .groups(a.i("groups", 1)).bias(a.b("bias", true)).build();
        });
        FACTORIES.put("ConvTranspose2d", a -> {
            int[] k = a.ints("kernel_size");
            ConvTranspose2d.Builder b = k.length == 1
                    ? ConvTranspose2d.builder(a.i("in_channels", -1), a.i("out_channels", -1), k[0])
                    : ConvTranspose2d.builder(a.i("in_channels", -1), a.i("out_channels", -1), k[0], k[1]);
            return b.stride(or(a.ints("stride"), 1)).padding(or(a.ints("padding"), 0))
                    .outputPadding(or(a.ints("output_padding"), 0)).dilation(or(a.ints("dilation"), 1))
                    .groups(a.i("groups", 1)).bias(a.b("bias", true)).build();
        });
        FACTORIES.put("MaxPool2d", a -> {
            int[] k = a.ints("kernel_size");
            MaxPool2d.Builder b = k.length == 1 ? MaxPool2d.builder(k[0]) : MaxPool2d.builder(k[0], k[1]);
            int[] s = a.ints("stride");
            if (s != null) {
                b.stride(s);
            }
            return b.padding(or(a.ints("padding"), 0)).build();
        });
        FACTORIES.put("AvgPool2d", a -> {
            int[] k = a.ints("kernel_size");
            AvgPool2d.Builder b = k.length == 1 ? AvgPool2d.builder(k[0]) : AvgPool2d.builder(k[0], k[1]);
            int[] s = a.ints("stride");
            if (s != null) {
                b.stride(s);
            }
            return b.padding(or(a.ints("padding"), 0)).countIncludePad(a.b("count_include_pad", true)).build();
        });
        FACTORIES.put("AdaptiveAvgPool2d", a -> {
            int[] o = a.ints("output_size");
            return o.length == 1 ? new AdaptiveAvgPool2d(o[0]) : new AdaptiveAvgPool2d(o[0], o[1]);
        });
        FACTORIES.put("BatchNorm1d", a -> new BatchNorm1d(a.i("num_features", -1), a.d("eps", 1e-5), a.d("momentum", 0.1),
                a.b("affine", true), a.b("track_running_stats", true)));
        FACTORIES.put("BatchNorm2d", a -> new BatchNorm2d(a.i("num_features", -1), a.d("eps", 1e-5), a.d("momentum", 0.1),
                a.b("affine", true), a.b("track_running_stats", true)));
        FACTORIES.put("LayerNorm", a -> {
            int[] s = a.ints("normalized_shape");
            long[] shape = new long[s.length];
            for (int i = 0; i < s.length; i++) {
                shape[i] = s[i];
            }
            return new LayerNorm(shape, a.d("eps", 1e-5), a.b("elementwise_affine", true));
        });
        FACTORIES.put("GroupNorm", a -> new GroupNorm(a.i("num_groups", -1), a.i("num_channels", -1), a.d("eps", 1e-5),
                a.b("affine", true)));
        FACTORIES.put("Embedding", a -> a.has("padding_idx")
                ? new Embedding(a.l("num_embeddings", -1), a.l("embedding_dim", -1), a.l("padding_idx", 0))
                : new Embedding(a.l("num_embeddings", -1), a.l("embedding_dim", -1)));
        FACTORIES.put("Dropout", a -> new Dropout(a.d("p", 0.5)));
        FACTORIES.put("Flatten", a -> new Flatten(a.i("start_dim", 1), a.i("end_dim", -1)));
        FACTORIES.put("ReLU", a -> new ReLU());
        FACTORIES.put("LeakyReLU", a -> new LeakyReLU(a.d("negative_slope", 0.01)));
        FACTORIES.put("ELU", a -> new ELU(a.d("alpha", 1.0)));
        FACTORIES.put("GELU", a -> new GELU(a.s("approximate", "none")));
        FACTORIES.put("SiLU", a -> new SiLU());
        FACTORIES.put("Sigmoid", a -> new Sigmoid());
        FACTORIES.put("Tanh", a -> new Tanh());
        FACTORIES.put("Softmax", a -> new Softmax(a.i("dim", -1)));
        FACTORIES.put("LogSoftmax", a -> new LogSoftmax(a.i("dim", -1)));
    }

    private static int[] or(int[] v, int dflt) {
        return v == null ? new int[] {dflt} : v;
    }

    static List<Fixtures.Case> cases() {
        return FILE.cases();
    }

    private static Module build(Fixtures.Case c) {
        Function<Fixtures.Args, Module> f = FACTORIES.get(c.module());
        if (f == null) {
            fail("no factory for fixture module " + c.module() + " (case " + c.name() + ")");
        }
        Fixtures.Args args = new Fixtures.Args(c.args(), FILE);
        Module m = f.apply(args);
        args.done(c.name());
        return m;
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
        Module m = build(c);
        m.train(c.train());
        Map<String, Tensor> state = new LinkedHashMap<>(FILE.under(n + ".param."));
        state.putAll(FILE.under(n + ".buffer."));
        m.loadStateDict(state);

        Tensor x = FILE.get(n + ".input").clone();
        if (x.dtype().isFloatingPoint()) {
            x.requiresGrad(true);
        }
        Tensor out = m.forward(x);
        assertClose(n + " output", FILE.get(n + ".output"), out);

        out.backward(FILE.get(n + ".grad_output"));
        Tensor gradInput = FILE.tensors().get(n + ".grad.input");
        if (gradInput != null) {
            assertClose(n + " input gradient", gradInput, x.grad());
        } else {
            assertNull(x.grad(), n + ": PyTorch has no input gradient");
        }
        Map<String, Tensor> params = m.namedParameters();
        Map<String, Tensor> grads = FILE.under(n + ".grad.param.");
        assertEquals(new TreeSet<>(grads.keySet()), new TreeSet<>(params.keySet()), n + ": parameter names");
        for (Map.Entry<String, Tensor> g : grads.entrySet()) {
            assertClose(n + " gradient of " + g.getKey(), g.getValue(), params.get(g.getKey()).grad());
        }
        Map<String, Tensor> after = FILE.under(n + ".buffer_after.");
        Map<String, Tensor> buffers = m.namedBuffers();
        assertEquals(new TreeSet<>(after.keySet()), new TreeSet<>(buffers.keySet()), n + ": buffer names");
        for (Map.Entry<String, Tensor> b : after.entrySet()) {
            assertClose(n + " buffer " + b.getKey() + " after forward", b.getValue(), buffers.get(b.getKey()));
        }
        List<String> keys = new ArrayList<>(m.stateDict().keySet());
        assertEquals(new TreeSet<>(state.keySet()), new TreeSet<>(keys), n + ": state-dict keys");
    }
}
