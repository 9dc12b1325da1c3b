package dev.kiln.optim;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Json;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/** Loads the PyTorch 1.13 fixtures and compares values against them. */
final class OptimFixtures {

    private OptimFixtures() {
    }

    static Path resource(String name) {
        try {
            return Path.of(OptimFixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The optimizer fixture file: tensors and the parsed case list. */
    record OptimizerFile(Map<String, Tensor> tensors, List<Map<String, Object>> cases) {
        Tensor get(String key) {
            Tensor t = tensors.get(key);
            if (t == null) {
                fail("fixture tensor " + key + " is missing");
            }
            return t;
        }

        Map<String, Object> byName(String name) {
            for (Map<String, Object> c : cases) {
                if (name.equals(c.get("name"))) {
                    return c;
                }
            }
            throw new AssertionError("no fixture case " + name);
        }
    }

    private static OptimizerFile optimizers;
    private static Map<String, Object> schedulers;

    @SuppressWarnings("unchecked")
    static synchronized OptimizerFile optimizers() {
        if (optimizers == null) {
            try {
                Safetensors.Contents c = Safetensors.read(resource("optimizers.safetensors"), Device.cpu());
                optimizers = new OptimizerFile(c.tensors(), (List<Map<String, Object>>) Json.parse(c.metadata().get("cases")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return optimizers;
    }

    @SuppressWarnings("unchecked")
    static synchronized Map<String, Object> schedulers() {
        if (schedulers == null) {
            try {
                schedulers = (Map<String, Object>) Json.parse(Files.readString(resource("schedulers.json")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return schedulers;
    }

    /**
     * The largest violation ratio |a - e| / (atol + rtol |e|) over all elements (at most 1 passes),
     * with the worst element described in {@code worst[0]}.
     */
    static double violation(Tensor actual, Tensor expected, double rtol, double atol, String[] worst) {
        double[] a = actual.toDoubleArray();
        double[] e = expected.toDoubleArray();
        if (a.length != e.length) {
            throw new AssertionError("size " + a.length + " vs " + e.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double r = Math.abs(a[i] - e[i]) / (atol + rtol * Math.abs(e[i]));
            if (!(r <= max)) {
                max = Double.isNaN(r) ? Double.POSITIVE_INFINITY : r;
                worst[0] = "element " + i + ": got " + a[i] + ", expected " + e[i];
            }
        }
        return max;
    }

    /** A copy of a fixture tensor, as a parameter that requires grad. */
    static Tensor param(Tensor init) {
        Tensor p = init.clone();
        return p.requiresGrad(true);
    }

    static DType dtypeOf(Object name) {
        return "F64".equals(name) ? DType.FLOAT64 : DType.FLOAT32;
    }
}
