package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Safetensors;
import dev.kiln.SafetensorsException;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorBehaviourTest {

    @Test
    void printsAsPyTorchDoes() {
        assertEquals("tensor([[ 0.1000, -1.5000],\n        [ 2.0000,  3.2500]])",
                Tensor.of(new float[][] {{0.1f, -1.5f}, {2f, 3.25f}}).toString());
        assertEquals("tensor([1., 2., 3.], requires_grad=True)", Tensor.of(1.0, 2.0, 3.0).requiresGrad_().toString());
        assertEquals("tensor([0, 1, 2])", Tensor.arange(3).toString());
        assertEquals("tensor([ True, False])", Tensor.of(true, false).toString());
        assertEquals("tensor(2.5000)", Tensor.scalar(2.5).toString());
        assertEquals("tensor([1.0000e-05, 1.0000e+00])", Tensor.of(1e-5, 1.0).toString());
        assertEquals("tensor([], size=(0, 3))", Tensor.zeros(0, 3).toString());
        assertEquals("tensor([1., 2.], dtype=torch.float64)", Tensor.of(1.0, 2.0).toDouble().toString());
        assertTrue(Tensor.of(1.0).requiresGrad_().mul(2.0).toString().endsWith("grad_fn=<MulBackward>)"));
        String big = Tensor.arange(2000).toString();
        assertEquals("tensor([   0,    1,    2,  ..., 1997, 1998, 1999])", big);
        // Wrapped at 80 columns: 8 elements of width 7 per line, as PyTorch prints torch.randn(2, 10).
        String wrapped = Tensor.full(new long[] {2, 10}, -0.5).toString();
        assertEquals("tensor([[-0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000,\n"
                + "         -0.5000, -0.5000],\n"
                + "        [-0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000, -0.5000,\n"
                + "         -0.5000, -0.5000]])", wrapped);
        String bigMatrix = Tensor.zeros(100, 100).toString();
        assertTrue(bigMatrix.contains("...") && bigMatrix.split("\n").length == 7, bigMatrix);
    }

    @Test
    void viewsShareStorageAndCopiesDoNot() {
        Tensor t = Tensor.arange(12).reshape(3, 4);
        Tensor v = t.transpose(0, 1);
        assertTrue(v.sharesStorageWith(t));
        assertFalse(v.isContiguous());
        assertTrue(t.select(1, 2).sharesStorageWith(t));
        assertTrue(t.narrow(0, 1, 2).sharesStorageWith(t));
        assertTrue(Tensor.ones(3).expand(2, 3).sharesStorageWith(Tensor.ones(3)) == false);
        Tensor c = v.contiguous();
        assertFalse(c.sharesStorageWith(t));
        assertArrayEquals(new long[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, c.toLongArray());
        t.select(0, 0).fill_(7);
        assertEquals(7, v.getDouble(3, 0));
        assertEquals(1, t.version());
    }

    @Test
    void reshapeOfExpandedIsViewWhenStridesAllow() {
        Tensor base = Tensor.ones(1, 4);
        Tensor e = base.expand(3, 4);
        assertArrayEquals(new long[] {0, 1}, e.stride());
        Tensor r = e.reshape(12);
        assertFalse(r.sharesStorageWith(base));
        Tensor merged = Tensor.ones(3).expand(2, 5, 3).reshape(10, 3);
        assertArrayEquals(new long[] {0, 1}, merged.stride());
    }

    @Test
    void seedingMakesRunsReproducible() {
        Kiln.manualSeed(7);
        float[] a = Tensor.randn(1000).toFloatArray();
        float[] u = Tensor.rand(10).toFloatArray();
        Kiln.manualSeed(7);
        assertArrayEquals(a, Tensor.randn(1000).toFloatArray());
        assertArrayEquals(u, Tensor.rand(10).toFloatArray());
        assertNotEquals(Tensor.randn(5).toString(), Tensor.randn(5).toString());
        Generator g = new Generator(1);
        long[] state = g.getState();
        float[] first = Tensor.rand(new long[] {5}, g).toFloatArray();
        g.setState(state);
        assertArrayEquals(first, Tensor.rand(new long[] {5}, g).toFloatArray());
    }

    @Test
    void randomNumbersHaveTheRightDistribution() {
        Kiln.manualSeed(0);
        Tensor n = Tensor.randn(200_000);
        assertEquals(0, n.mean().item(), 0.01);
        assertEquals(1, n.std().item(), 0.01);
        Tensor u = Tensor.rand(200_000);
        assertEquals(0.5, u.mean().item(), 0.01);
        assertTrue(u.min().item() >= 0 && u.max().item() < 1);
        Tensor ints = Tensor.randint(3, 7, 10_000);
        assertEquals(DType.INT64, ints.dtype());
        assertEquals(3, ints.min().item());
        assertEquals(6, ints.max().item());
        long[] perm = Tensor.randperm(50).toLongArray();
        assertEquals(50 * 49 / 2, java.util.Arrays.stream(perm).sum());
        assertEquals(50, java.util.Arrays.stream(perm).distinct().count());
    }

    @Test
    void devicesParseAndFallBack() {
        assertEquals(Device.cpu(), Device.parse("cpu"));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertEquals("cuda:0", Device.parse("CUDA").toString());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:x"));
        // No CUDA backend is on this module's class path: the CPU is chosen, and nothing throws.
        assertEquals(Device.cpu(), Device.cudaIfAvailable());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(2).to(Device.cuda(0)));
        assertTrue(e.getMessage().contains("kiln-backend-cuda"), e.getMessage());
    }

    @Test
    void cpuMemoryIsTheGarbageCollectors() {
        assertEquals(0, Kiln.memoryStats(Device.cpu()).allocated());
        Kiln.emptyCache(Device.cpu());
    }

    @Test
    void closedTensorsRefuseUse() {
        Tensor t = Tensor.ones(3);
        Tensor view = t.narrow(0, 0, 2);
        t.close();
        assertEquals(2, view.sum().item());
        view.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, view::sum);
        assertTrue(e.getMessage().contains("closed"));
    }

    @Test
    void safetensorsRoundTripsEveryDtypeAndViews(@TempDir Path dir) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("f32", Tensor.randn(3, 4).t());
        m.put("f64", Tensor.randn(5).toDouble());
        m.put("i64", Tensor.arange(6).reshape(2, 3));
        m.put("bool", Tensor.of(true, false, true));
        m.put("f16", Tensor.of(1.5, -2.0, 65504.0).to(DType.FLOAT16));
        m.put("bf16", Tensor.of(1.5, -2.0, 3e38).to(DType.BFLOAT16));
        m.put("scalar", Tensor.scalar(3.5));
        m.put("empty", Tensor.zeros(0, 2));
        Path f = dir.resolve("t.safetensors");
        Safetensors.save(m, Map.of("format", "pt"), f);
        Safetensors.Contents c = Safetensors.read(f, Device.cpu());
        assertEquals(m.keySet(), c.tensors().keySet());
        assertEquals("pt", c.metadata().get("format"));
        for (String k : m.keySet()) {
            Tensor a = m.get(k);
            Tensor b = c.tensors().get(k);
            assertEquals(a.dtype(), b.dtype(), k);
            assertArrayEquals(a.shape(), b.shape(), k);
            assertArrayEquals(a.toDoubleArray(), b.toDoubleArray(), k);
        }
        assertEquals(65504.0, c.tensors().get("f16").toDoubleArray()[2]);
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void safetensorsRejectsBadFilesNamingTheProblem(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertTrue(assertThrows(SafetensorsException.class, () -> Safetensors.load(f)).getMessage().contains("too short"));
        Path g = dir.resolve("ok.safetensors");
        Safetensors.save(Map.of("w", Tensor.ones(4)), g);
        byte[] bytes = Files.readAllBytes(g);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 2));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("bytes"), e.getMessage());
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,16]}}";
        Files.write(f, withHeader(header, 16));
        e = assertThrows(SafetensorsException.class, () -> Safetensors.load(f));
        assertTrue(e.getMessage().contains("\"w\"") && e.getMessage().contains("[5]"), e.getMessage());
        Files.write(f, withHeader("{\"w\":{\"dtype\":\"Q8\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16));
        assertTrue(assertThrows(SafetensorsException.class, () -> Safetensors.load(f)).getMessage().contains("Q8"));
        Files.write(f, withHeader("{\"w\": [", 16));
        assertTrue(assertThrows(SafetensorsException.class, () -> Safetensors.load(f)).getMessage().contains("JSON"));
    }

    private static byte[] withHeader(String json, int dataBytes) {
        byte[] h = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    @Test
    void largeOpsRunInParallelWithTheSameResult() {
        Kiln.manualSeed(1);
        Tensor a = Tensor.randn(1000, 300);
        Tensor b = Tensor.randn(300);
        double viaBig = a.add(b).sum().item();
        double viaRows = 0;
        for (int i = 0; i < 1000; i++) {
            viaRows += a.select(0, i).add(b).sum().item();
        }
        assertEquals(viaRows, viaBig, 1e-2);
    }
}
