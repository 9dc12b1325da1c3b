package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Json;
import dev.kiln.Safetensors;
import dev.kiln.Shapes;
import dev.kiln.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Loads the PyTorch fixture files and compares tensors against them. */
final class Fixtures {

    /** Relative tolerance, as the issue asks for float32. */
    static final double RTOL = 1e-5;
    /** Absolute floor for values that are zero up to float32 rounding. */
    static final double ATOL = 1e-6;

    private Fixtures() {
    }

    /** One case of a fixture file's metadata. */
    record Case(String name, String module, Map<String, Object> args, boolean train) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A loaded fixture file. */
    record File(Map<String, Tensor> tensors, List<Case> cases) {
        Tensor get(String key) {
            Tensor t = tensors.get(key);
            if (t == null) {
                fail("fixture tensor " + key + " is missing");
            }
            return t;
        }

        /** Tensors under {@code prefix}, keyed by the rest of their name. */
        Map<String, Tensor> under(String prefix) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                if (e.getKey().startsWith(prefix)) {
                    out.put(e.getKey().substring(prefix.length()), e.getValue());
                }
            }
            return out;
        }
    }

    @SuppressWarnings("unchecked")
    static File load(String resource) {
        try {
            Path path = Path.of(Fixtures.class.getResource("/fixtures/" + resource).toURI());
            Safetensors.Contents c = Safetensors.read(path, Device.cpu());
            List<Case> cases = new ArrayList<>();
            for (Object o : (List<Object>) Json.parse(c.metadata().get("cases"))) {
                Map<String, Object> m = (Map<String, Object>) o;
                cases.add(new Case((String) m.get("name"), (String) m.get("module"), (Map<String, Object>) m.get("args"),
                        Boolean.TRUE.equals(m.get("train"))));
            }
            return new File(c.tensors(), cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Asserts shape, dtype and values within {@code RTOL * |expected| + ATOL} (exact for integers). */
    static void assertClose(String what, Tensor expected, Tensor actual) {
        if (actual == null) {
            fail(what + ": expected a tensor of shape " + Shapes.str(expected.shape()) + ", got null");
        }
        assertArrayEquals(expected.shape(), actual.shape(), () -> what + ": shape " + Shapes.str(actual.shape())
                + " differs from PyTorch's " + Shapes.str(expected.shape()));
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        if (!expected.dtype().isFloatingPoint()) {
            assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what);
            return;
        }
        double[] e = expected.toDoubleArray();
        double[] a = actual.toDoubleArray();
        double tol = expected.dtype() == DType.FLOAT64 ? 1e-10 : RTOL;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]);
            if (!(err <= tol * Math.abs(e[i]) + ATOL) && !(Double.isNaN(e[i]) && Double.isNaN(a[i]))) {
                fail(what + ": element " + i + " is " + a[i] + ", PyTorch has " + e[i] + " (error " + err + ")");
            }
        }
    }

    /**
     * The arguments of one case, read by PyTorch keyword; {@link #done()} fails when an argument
     * was never read, so no option of a case goes unnoticed.
     */
    static final class Args {
        private final Map<String, Object> args;
        private final File file;
        private final Set<String> used = new HashSet<>();

        Args(Map<String, Object> args, File file) {
            this.args = args;
            this.file = file;
        }

        boolean has(String key) {
            return args.containsKey(key);
        }

        private Object get(String key) {
            used.add(key);
            return args.get(key);
        }

        int i(String key, int dflt) {
            Object v = get(key);
            return v == null ? dflt : ((Number) v).intValue();
        }

        long l(String key, long dflt) {
            Object v = get(key);
            return v == null ? dflt : ((Number) v).longValue();
        }

        double d(String key, double dflt) {
            Object v = get(key);
            return v == null ? dflt : ((Number) v).doubleValue();
        }

        boolean b(String key, boolean dflt) {
            Object v = get(key);
            return v == null ? dflt : (Boolean) v;
        }

        String s(String key, String dflt) {
            Object v = get(key);
            return v == null ? dflt : (String) v;
        }

        /** An int or a list of ints, as an array of length 1 or more; null when absent. */
        int[] ints(String key) {
            Object v = get(key);
            if (v == null) {
                return null;
            }
            if (v instanceof Number n) {
                return new int[] {n.intValue()};
            }
            List<?> list = (List<?>) v;
            int[] out = new int[list.size()];
            for (int k = 0; k < out.length; k++) {
                out[k] = ((Number) list.get(k)).intValue();
            }
            return out;
        }

        /** A tensor argument: {@code {"tensor": "NAME.buffer.weight"}}; null when absent. */
        @SuppressWarnings("unchecked")
        Tensor tensor(String key) {
            Object v = get(key);
            return v == null ? null : file.get((String) ((Map<String, Object>) v).get("tensor"));
        }

        Reduction reduction() {
            return Reduction.of(s("reduction", "mean"));
        }

        void done(String caseName) {
            Set<String> left = new HashSet<>(args.keySet());
            left.removeAll(used);
            if (!left.isEmpty()) {
                fail(caseName + ": the test does not map the arguments " + left);
            }
        }
    }
}
