package dev.kiln.conformance;

import dev.kiln.Device;
import dev.kiln.Json;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The reference results written by PyTorch ({@code tools/fixtures/make_fixtures.py}): for each case
 * its PyTorch expression, inputs and outputs, loaded from {@code fixtures/ops.safetensors} on the
 * class path.
 */
public final class OpFixtures {

    /** One reference case. */
    public record Case(String name, String expr, List<Tensor> inputs, List<Tensor> outputs) {
        @Override
        public String toString() {
            return name + ": " + expr;
        }
    }

    private OpFixtures() {
    }

    /** Every case, in the order the generator wrote them, with tensors on the CPU. */
    public static List<Case> load() {
        try (InputStream in = OpFixtures.class.getResourceAsStream("/fixtures/ops.safetensors")) {
            if (in == null) {
                throw new IllegalStateException("fixtures/ops.safetensors is missing from the class path");
            }
            Path tmp = Files.createTempFile("kiln-ops", ".safetensors");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Safetensors.Contents c = Safetensors.read(tmp, Device.cpu());
                Map<String, Tensor> t = c.tensors();
                List<Case> cases = new ArrayList<>();
                for (Object o : (List<?>) Json.parse(c.metadata().get("cases"))) {
                    Map<?, ?> m = (Map<?, ?>) o;
                    String name = (String) m.get("name");
                    List<Tensor> inputs = new ArrayList<>();
                    for (long i = 0; i < (Long) m.get("inputs"); i++) {
                        inputs.add(t.get(name + ".in" + i));
                    }
                    List<Tensor> outputs = new ArrayList<>();
                    for (long i = 0; i < (Long) m.get("outputs"); i++) {
                        outputs.add(t.get(name + ".out" + i));
                    }
                    cases.add(new Case(name, (String) m.get("expr"), inputs, outputs));
                }
                return cases;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
