package dev.kiln.integration;

import dev.kiln.conformance.PythonTorch;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;
import dev.kiln.nn.StateDictException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Weights move between PyTorch and Kiln modules through safetensors state dicts: a PyTorch
 * {@code nn.Module}'s state dict (committed fixture) loads strictly into the Kiln module of the same
 * architecture and gives PyTorch's outputs; a Kiln module's state dict loads strictly into the
 * PyTorch module and gives Kiln's outputs (checked by {@code tools/fixtures/interop.py}, skipped
 * with a printed reason where {@code /usr/bin/python3} with torch is absent).
 */
class PyTorchModuleInteropTest {

    private static Path resource(String name) throws Exception {
        return Path.of(PyTorchModuleInteropTest.class.getResource("/interop/" + name).toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn"})
    void aPyTorchStateDictLoadsIntoTheKilnModuleAndGivesTheSameOutputs(String kind) throws Exception {
        Map<String, Tensor> file = Safetensors.load(resource("pytorch_" + kind + ".safetensors"));
        Tensor input = file.remove("input");
        Tensor expected = file.remove("output");
        Module m = Models.of(kind);
        assertEquals(List.copyOf(m.stateDict().keySet()), List.copyOf(file.keySet()), "PyTorch's keys, in PyTorch's order");
        Module.IncompatibleKeys r = m.loadStateDict(file);
        assertTrue(r.isEmpty(), r.toString());
        m.eval();
        Tensor out;
        try (GradScope s = Kiln.noGrad()) {
            out = m.forward(input);
        }
        assertArrayEquals(expected.shape(), out.shape());
        double maxDiff = out.sub(expected).abs().max().item();
        assertTrue(out.allclose(expected, 1e-5, 1e-5), kind + ": max |Kiln - PyTorch| = " + maxDiff);
        if (kind.equals("cnn")) {
            assertEquals(file.get("1.num_batches_tracked").itemLong(), m.stateDict().get("1.num_batches_tracked").itemLong());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn"})
    void aKilnStateDictLoadsIntoThePyTorchModuleAndGivesTheSameOutputs(String kind, @TempDir Path dir) throws Exception {
        PythonTorch.assumeAvailable();
        Kiln.manualSeed(kind.hashCode());
        Module m = Models.of(kind);
        if (kind.equals("cnn")) {
            m.train();
            try (GradScope s = Kiln.noGrad()) {
                for (int i = 0; i < 3; i++) {
                    m.forward(Tensor.randn(Models.inputShape(kind)).mul(2.0).add(0.5)); // running statistics move
                }
            }
        }
        m.eval();
        Tensor x = Tensor.randn(Models.inputShape(kind));
        Tensor y;
        try (GradScope s = Kiln.noGrad()) {
            y = m.forward(x);
        }
        Map<String, Tensor> file = new LinkedHashMap<>(m.stateDict());
        file.put("input", x);
        file.put("output", y);
        Path f = dir.resolve("kiln_" + kind + ".safetensors");
        Safetensors.save(file, Map.of("format", "pt"), f);
        PythonTorch.Result r = PythonTorch.interop("check-module", kind, f.toString());
        assertEquals(0, r.exit(), "PyTorch disagrees with Kiln:\n" + r.output());
        assertTrue(r.output().contains("ok"), r.output());
    }

    @Test
    void loadStateDictListsEveryMismatchByKey() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>(Safetensors.load(resource("pytorch_cnn.safetensors")));
        sd.remove("input");
        sd.remove("output");
        sd.remove("0.bias");                                         // missing
        sd.put("9.weight", Tensor.zeros(2));                         // unexpected
        sd.put("5.weight", Tensor.zeros(5, 63));                     // wrong shape
        sd.put("1.num_batches_tracked", Tensor.scalar(3.0));         // wrong dtype (float for int64)
        Module m = Models.cnn();
        Map<String, Tensor> before = new LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> before.put(k, v.clone()));
        StateDictException e = assertThrows(StateDictException.class, () -> m.loadStateDict(sd));
        assertEquals(List.of("0.bias"), e.missingKeys());
        assertEquals(List.of("9.weight"), e.unexpectedKeys());
        assertEquals(2, e.mismatches().size(), e.getMessage());
        String msg = e.getMessage();
        for (String k : new String[] {"\"0.bias\"", "\"9.weight\"", "5.weight", "[5, 63]", "1.num_batches_tracked"}) {
            assertTrue(msg.contains(k), "expected " + k + " in: " + msg);
        }
        m.stateDict().forEach((k, v) -> assertTrue(v.equal(before.get(k)), k + " was changed by a failed load"));
    }
}
