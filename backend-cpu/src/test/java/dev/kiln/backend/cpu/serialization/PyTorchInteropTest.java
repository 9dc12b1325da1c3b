package dev.kiln.backend.cpu.serialization;

import dev.kiln.conformance.PythonTorch;
import dev.kiln.DType;
import dev.kiln.Json;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Interop with PyTorch in both directions. A file PyTorch wrote (committed, made by
 * {@code tools/fixtures/interop.py write}) loads in Kiln with the values PyTorch recorded beside
 * it; and a file Kiln writes is read by the script's strict reader and compared with the values
 * Kiln recorded (skipped, with the reason printed, where {@code /usr/bin/python3} with torch is absent).
 */
class PyTorchInteropTest {

    private static final Map<String, DType> LOADS_AS = Map.of("F32", DType.FLOAT32, "F64", DType.FLOAT64,
            "F16", DType.FLOAT16, "BF16", DType.BFLOAT16, "I64", DType.INT64, "BOOL", DType.BOOL,
            "I32", DType.INT64, "I16", DType.INT64, "I8", DType.INT64, "U8", DType.INT64);

    private static Path resource(String name) throws Exception {
        return Path.of(PyTorchInteropTest.class.getResource("/interop/" + name).toURI());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFileWrittenByPyTorchLoadsWithEqualValues() throws Exception {
        Map<String, Object> expected = (Map<String, Object>) Json.parse(Files.readString(resource("pytorch_dtypes.json")));
        Safetensors.Contents c = Safetensors.read(resource("pytorch_dtypes.safetensors"));
        assertEquals(expected.get("metadata"), c.metadata());
        Map<String, Object> tensors = (Map<String, Object>) expected.get("tensors");
        assertEquals(new ArrayList<>(tensors.keySet()), new ArrayList<>(c.tensors().keySet()));
        for (Map.Entry<String, Object> e : tensors.entrySet()) {
            Map<String, Object> spec = (Map<String, Object>) e.getValue();
            Tensor t = c.tensors().get(e.getKey());
            String name = e.getKey();
            assertEquals(LOADS_AS.get((String) spec.get("dtype")), t.dtype(), name);
            assertArrayEquals(((List<Long>) spec.get("shape")).stream().mapToLong(Long::longValue).toArray(), t.shape(), name);
            List<Object> values = (List<Object>) spec.get("values");
            switch (t.dtype()) {
                case INT64 -> assertArrayEquals(values.stream().mapToLong(v -> (Long) v).toArray(), t.toLongArray(), name);
                case BOOL -> {
                    boolean[] got = t.toBooleanArray();
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(values.get(i), got[i], name + "[" + i + "]");
                    }
                }
                default -> {
                    double[] got = t.toDoubleArray();
                    assertEquals(values.size(), got.length, name);
                    for (int i = 0; i < got.length; i++) {
                        double want = decode(values.get(i));
                        if (Double.doubleToLongBits(want) != Double.doubleToLongBits(got[i])) {
                            fail(name + "[" + i + "]: Kiln loaded " + got[i] + ", PyTorch wrote " + want);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aFileWrittenByKilnReadsBackInPyTorchWithEqualValues(@TempDir Path dir) throws Exception {
        PythonTorch.assumeAvailable();
        Map<String, Tensor> tensors = SafetensorsFormatTest.everything();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("unicode", "Grüße, \u65e5\u672c, \uD83D\uDD25");
        Path file = dir.resolve("kiln.safetensors");
        Safetensors.save(tensors, metadata, file);
        Path expected = dir.resolve("kiln.json");
        Files.writeString(expected, Json.write(describe(tensors, metadata)));
        PythonTorch.Result r = PythonTorch.interop("check-values", file.toString(), expected.toString());
        assertEquals(0, r.exit(), "PyTorch read Kiln's file differently:\n" + r.output());
        assertTrue(r.output().contains("ok"), r.output());
    }

    /** The same JSON layout as the script's: values row-major, floats exact, non-finite as strings. */
    static Map<String, Object> describe(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Object> all = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            List<Object> values = new ArrayList<>();
            switch (t.dtype()) {
                case INT64 -> {
                    for (long v : t.toLongArray()) {
                        values.add(v);
                    }
                }
                case BOOL -> {
                    for (boolean v : t.toBooleanArray()) {
                        values.add(v);
                    }
                }
                default -> {
                    for (double v : t.toDoubleArray()) {
                        values.add(Double.isNaN(v) ? "nan" : Double.isInfinite(v) ? (v > 0 ? "inf" : "-inf") : (Object) v);
                    }
                }
            }
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("dtype", t.dtype().safetensorsName());
            spec.put("shape", t.shape());
            spec.put("values", values);
            all.put(e.getKey(), spec);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("metadata", metadata);
        root.put("tensors", all);
        return root;
    }

    private static double decode(Object v) {
        if (v instanceof String s) {
            return switch (s) {
                case "nan" -> Double.NaN;
                case "inf" -> Double.POSITIVE_INFINITY;
                case "-inf" -> Double.NEGATIVE_INFINITY;
                default -> throw new IllegalArgumentException("value " + s);
            };
        }
        return ((Number) v).doubleValue();
    }
}
