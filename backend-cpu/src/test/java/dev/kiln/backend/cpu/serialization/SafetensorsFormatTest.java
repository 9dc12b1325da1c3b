package dev.kiln.backend.cpu.serialization;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Generator;
import dev.kiln.Json;
import dev.kiln.Kiln;
import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.kiln.backend.cpu.serialization.SerializationAssertions.assertSameTensor;
import static dev.kiln.backend.cpu.serialization.SerializationAssertions.assertSameTensors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What Kiln writes, and that it reads back exactly what it wrote, for every dtype and layout. */
class SafetensorsFormatTest {

    /** One of everything: every dtype, special values, and views that are not contiguous. */
    static Map<String, Tensor> everything() {
        Kiln.manualSeed(7);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("f32", Tensor.randn(3, 4));
        m.put("f32.transposed", Tensor.randn(4, 3).t());
        m.put("f32.sliced", Tensor.randn(6, 7).slice(0, 1, 6, 2).slice(1, 0, 7, 3));
        m.put("f32.expanded", Tensor.randn(3, 1).expand(3, 4));
        m.put("f32.selected", Tensor.randn(3, 5).select(1, 2));
        m.put("f32.permuted", Tensor.randn(2, 3, 4, 5).permute(3, 1, 0, 2));
        m.put("f32.narrowed", Tensor.arange(0.0, 20.0, 1.0).toFloat().narrow(0, 5, 10));
        m.put("f32.scalar", Tensor.scalar(3.5));
        m.put("f32.empty", Tensor.zeros(0, 3));
        m.put("f32.special", Tensor.of(0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE));
        m.put("f64.special", Tensor.of(0.0, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.MIN_VALUE,
                Double.MAX_VALUE, Math.PI));
        m.put("f64.transposed", Tensor.randn(3, 2).toDouble().t());
        m.put("f16", Tensor.of(1.5, -2.0, 65504.0, 6.103515625e-05, 5.960464477539063e-08, 0.1, -0.0).to(DType.FLOAT16));
        m.put("f16.transposed", Tensor.randn(3, 2).to(DType.FLOAT16).t());
        m.put("bf16", Tensor.of(1.5, -2.0, 3e38, 9.183549615799121e-41, 0.1, Double.NaN).to(DType.BFLOAT16));
        m.put("bf16.sliced", Tensor.randn(4, 4).to(DType.BFLOAT16).slice(1, 1, 4, 2));
        m.put("i64", Tensor.of(Long.MIN_VALUE, Long.MAX_VALUE, 0L, -1L, (1L << 53) + 1));
        m.put("i64.transposed", Tensor.arange(12).reshape(3, 4).t());
        m.put("bool", Tensor.of(true, false, true));
        m.put("bool.transposed", Tensor.of(true, false, false, true, true, false).reshape(2, 3).t());
        return m;
    }

    @Test
    void everyDtypeAndViewRoundTripsBitExactly(@TempDir Path dir) throws Exception {
        Map<String, Tensor> m = everything();
        assertFalse(m.get("f32.transposed").isContiguous());
        Path f = dir.resolve("all.safetensors");
        Map<String, String> md = Map.of("format", "pt", "note", "Grüße \uD83D\uDD25 \"quoted\"\n");
        Safetensors.save(m, md, f);
        Safetensors.Contents c = Safetensors.read(f, Device.cpu());
        assertSameTensors(m, c.tensors());
        assertEquals(md, c.metadata());
        for (Tensor t : c.tensors().values()) {
            assertTrue(t.isContiguous(), "loaded tensors are contiguous");
        }
        // The in-memory form is the file, byte for byte, and reads back the same.
        byte[] bytes = Safetensors.toBytes(m, new LinkedHashMap<>(md));
        Safetensors.save(m, new LinkedHashMap<>(md), f);
        assertArrayEquals(Files.readAllBytes(f), bytes, "toBytes and save write the same bytes");
        assertSameTensors(m, Safetensors.fromBytes(bytes, Device.cpu()).tensors());
        assertSameTensors(m, Kiln.load(f, Device.cpu()));
    }

    @Test
    void theFileHasTheReferenceLayout(@TempDir Path dir) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("b", Tensor.of(1f, -2f).reshape(2, 1));
        m.put("a", Tensor.of(true, false, true));
        m.put("c", Tensor.of(3L));
        Path f = dir.resolve("layout.safetensors");
        Safetensors.save(m, Map.of("k", "v"), f);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong();
        assertEquals(0, n % 8, "the header is padded so the data starts 8-byte aligned");
        String header = new String(b.array(), 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[8,11]},"
                + "\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[11,19]}}", header.stripTrailing());
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(ch -> ch == ' '), "padding is spaces");
        b.position(8 + (int) n);
        assertEquals(1f, b.getFloat());
        assertEquals(-2f, b.getFloat());
        assertEquals(1, b.get());
        assertEquals(0, b.get());
        assertEquals(1, b.get());
        assertEquals(3L, b.getLong());
        assertFalse(b.hasRemaining());
        assertEquals(List.of("b", "a", "c"), List.copyOf(Safetensors.load(f).keySet()), "header order is kept");
    }

    @Test
    void largeNonContiguousTensorsAreStreamedInChunks(@TempDir Path dir) throws Exception {
        Kiln.manualSeed(3);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("wide.transposed", Tensor.randn(1500, 1200).t());           // 7.2 MB, rows of 6 KB
        m.put("long.rows", Tensor.randn(1_100_000, 2).t());               // 2 rows of 4.4 MB, stride 2
        m.put("long.vector", Tensor.randn(1_300_000).slice(0, 0, 1_300_000, 1));
        m.put("f16.big", Tensor.randn(2100, 1100).to(DType.FLOAT16).t()); // 4.6 MB
        Path f = dir.resolve("big.safetensors");
        Safetensors.save(m, f);
        Map<String, Tensor> back = Safetensors.load(f);
        for (String k : m.keySet()) {
            assertSameTensor(m.get(k).contiguous(), back.get(k), k);
        }
    }

    @Test
    void theReaderLoadsOneTensorAtATimeFromTheMap(@TempDir Path dir) throws Exception {
        Map<String, Tensor> m = everything();
        Path f = dir.resolve("lazy.safetensors");
        Safetensors.save(m, Map.of("epoch", "3"), f);
        Tensor w;
        ByteBuffer raw;
        try (Safetensors.Reader r = Safetensors.open(f)) {
            assertEquals(List.copyOf(m.keySet()), r.keys());
            assertEquals("3", r.metadata().get("epoch"));
            Safetensors.TensorInfo info = r.info("f32.transposed");
            assertEquals("F32", info.fileDtype());
            assertEquals(DType.FLOAT32, info.dtype());
            assertArrayEquals(new long[] {3, 4}, info.shape());
            assertEquals(48, info.byteSize());
            assertTrue(r.contains("bool") && !r.contains("nope"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.info("nope"));
            assertTrue(e.getMessage().contains("\"nope\"") && e.getMessage().contains(f.toString()), e.getMessage());
            raw = r.bytes("f32.transposed");
            assertTrue(raw.isDirect() && raw.isReadOnly(), "a read-only view of the memory map");
            assertEquals(48, raw.remaining());
            w = r.tensor("f32.transposed");
        }
        // Loaded tensors and mapped views outlive the reader.
        assertSameTensor(m.get("f32.transposed"), w, "after close");
        assertEquals(m.get("f32.transposed").contiguous().toFloatArray()[1], raw.getFloat(4));
    }

    @Test
    void narrowIntegerTypesFromOtherWritersLoadWidenedToInt64(@TempDir Path dir) throws Exception {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(Integer.MIN_VALUE).putInt(-7);                      // I32 [0, 8)
        data.putShort(Short.MIN_VALUE).putShort((short) 300);           // I16 [8, 12)
        data.put((byte) -128).put((byte) 5);                            // I8 [12, 14)
        data.putInt(-1);                                                // U32 [14, 18)
        data.putShort((short) -1);                                      // U16 [18, 20)
        data.put((byte) 255).put((byte) 0);                             // U8 [20, 22)
        String header = "{\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[12,14]},"
                + "\"u32\":{\"dtype\":\"U32\",\"shape\":[],\"data_offsets\":[14,18]},"
                + "\"u16\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[18,20]},"
                + "\"u8\":{\"dtype\":\"U8\",\"shape\":[2,1],\"data_offsets\":[20,22]}}";
        Path f = dir.resolve("ints.safetensors");
        Files.write(f, file(header, Arrays.copyOf(data.array(), 22)));
        Map<String, Tensor> t = Safetensors.load(f);
        assertArrayEquals(new long[] {Integer.MIN_VALUE, -7}, t.get("i32").toLongArray());
        assertArrayEquals(new long[] {Short.MIN_VALUE, 300}, t.get("i16").toLongArray());
        assertArrayEquals(new long[] {-128, 5}, t.get("i8").toLongArray());
        assertArrayEquals(new long[] {0xFFFFFFFFL}, t.get("u32").toLongArray());
        assertEquals(0, t.get("u32").dim());
        assertArrayEquals(new long[] {65535}, t.get("u16").toLongArray());
        assertArrayEquals(new long[] {255, 0}, t.get("u8").toLongArray());
        assertArrayEquals(new long[] {2, 1}, t.get("u8").shape());
        for (Tensor x : t.values()) {
            assertEquals(DType.INT64, x.dtype());
        }
        try (Safetensors.Reader r = Safetensors.open(f)) {
            assertEquals("U8", r.info("u8").fileDtype());
        }
    }

    @Test
    void savingRefusesBadInputAndLeavesTheTargetAlone(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("keep.safetensors");
        Safetensors.save(Map.of("w", Tensor.ones(2)), f);
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> reserved = Map.of(Safetensors.METADATA, Tensor.ones(1));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Safetensors.save(reserved, f)).getMessage()
                .contains("reserved"));
        Map<String, Tensor> nullTensor = new LinkedHashMap<>();
        nullTensor.put("w", null);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Safetensors.save(nullTensor, f)).getMessage()
                .contains("\"w\""));
        Map<String, String> nullValue = new LinkedHashMap<>();
        nullValue.put("k", null);
        assertThrows(IllegalArgumentException.class, () -> Safetensors.save(Map.of("w", Tensor.ones(1)), nullValue, f));
        Map<String, Tensor> badName = Map.of("bad\uD800name", Tensor.ones(1));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.save(badName, f));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void savingReplacesTheFileWithDefaultPermissionsAndNoLeftovers(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("sub/dir/model.safetensors");
        Safetensors.save(Map.of("w", Tensor.ones(2)), f);
        Safetensors.save(Map.of("w", Tensor.zeros(3)), f);
        assertSameTensor(Tensor.zeros(3), Safetensors.load(f).get("w"), "replaced");
        try (Stream<Path> files = Files.list(f.getParent())) {
            assertEquals(List.of(f), files.toList());
        }
        PosixFileAttributeView view = Files.getFileAttributeView(f, PosixFileAttributeView.class);
        assumeTrue(view != null, "POSIX permissions not supported here");
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f),
                "a saved file gets the same permissions as any new file, not a temporary file's owner-only ones");
    }

    @Test
    void savingAndLoadingDrawNoRandomNumbers(@TempDir Path dir) throws Exception {
        Kiln.manualSeed(5);
        Tensor t = Tensor.randn(4);
        long[] state = Generator.defaultGenerator().getState();
        Path f = dir.resolve("rng.safetensors");
        Safetensors.save(Map.of("t", t), f);
        Safetensors.load(f);
        assertArrayEquals(state, Generator.defaultGenerator().getState());
    }

    @Test
    void emptyFilesAndTensorsThatRequireGrad(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("empty.safetensors");
        Safetensors.save(Map.of(), Map.of("only", "metadata"), f);
        Safetensors.Contents c = Safetensors.read(f);
        assertTrue(c.tensors().isEmpty());
        assertEquals(Map.of("only", "metadata"), c.metadata());
        Safetensors.save(Map.of(), f);
        assertTrue(Safetensors.load(f).isEmpty());
        assertEquals(16, Files.size(f), "8-byte length and \"{}\" padded to 8");

        Tensor p = Tensor.randn(3).requiresGrad_();
        Tensor y = p.mul(2.0);
        Safetensors.save(Map.of("p", p, "y", y), f);
        Map<String, Tensor> back = Safetensors.load(f);
        assertSameTensor(p.detach(), back.get("p"), "p");
        assertSameTensor(y.detach(), back.get("y"), "y");
        assertFalse(back.get("p").requiresGrad(), "loaded tensors are plain leaves");
    }

    @Test
    void headerJsonIsStrict() {
        for (String bad : new String[] {"01", "1.", ".5", "+1", "-", "1e", "NaN", "[1,]", "{\"a\":1,}", "\"\\u12G4\"",
                "\"\\u0661\\u0662\"x", "{\"a\":1,\"a\":2}", "tru", "[1 2]"}) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
        assertEquals(List.of(0L, -0.0, 1.5e300, -12L), Json.parse("[0, -0.0, 1.5e300, -12]"));
        assertEquals(1.8446744073709552E19, Json.parse("18446744073709551616"), "beyond a long: a double, never wrapped");
        assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(Double.NaN)));
        assertEquals("[\"a\\\"\\u0001\"]", Json.write(List.of("a\"\u0001")));
    }

    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }
}
