package dev.kiln.backend.cpu.serialization;

import dev.kiln.Device;
import dev.kiln.Safetensors;
import dev.kiln.SafetensorsException;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.backend.cpu.serialization.SafetensorsFormatTest.file;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every rule that loading checks, one bad file each: the exception is always
 * {@link SafetensorsException}, and its message names the file, the tensor at fault and the problem.
 */
class SafetensorsValidationTest {

    /** A bad file, the tensor the message must name (null: none), and words the message must hold. */
    private record Case(String what, byte[] bytes, String tensor, String... words) {
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private static byte[] headerOnly(String header, int dataBytes) {
        return file(header, new byte[dataBytes]);
    }

    private static byte[] withLength(long length, int totalBytes) {
        ByteBuffer b = ByteBuffer.allocate(totalBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length);
        return b.array();
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        String ok = entry("w", "F32", "[2,2]", 0, 16);
        c.add(new Case("empty file", new byte[0], null, "0 bytes", "too short"));
        c.add(new Case("7 bytes", new byte[7], null, "7 bytes", "too short"));
        c.add(new Case("header length past the end", withLength(1000, 64), null, "header length 1000", "end of the file"));
        c.add(new Case("header length 2^64-1", withLength(-1, 64), null, "18446744073709551615", "end of the file"));
        c.add(new Case("header length 0", withLength(0, 64), null, "header length 0", "too short"));
        byte[] latin1 = file("{\"xx\":{}}", new byte[0]);
        latin1[10] = (byte) 0xC3;
        latin1[11] = (byte) 0x28;
        c.add(new Case("invalid UTF-8 sequence", latin1, null, "UTF-8"));
        c.add(new Case("truncated JSON", headerOnly("{\"w\": [", 16), null, "not valid JSON"));
        c.add(new Case("JSON with trailing garbage", headerOnly("{" + ok + "}x", 16), null, "not valid JSON", "trailing"));
        c.add(new Case("duplicate key", headerOnly("{" + ok + "," + ok + "}", 16), null, "not valid JSON", "duplicate"));
        c.add(new Case("deep nesting", headerOnly("[".repeat(5000), 0), null, "not valid JSON", "nested"));
        c.add(new Case("array at top", headerOnly("[1,2]", 0), null, "not a JSON object"));
        c.add(new Case("metadata not an object", headerOnly("{\"__metadata__\":[],\"w\":{}}", 0), null, "__metadata__"));
        c.add(new Case("metadata value not a string", headerOnly("{\"__metadata__\":{\"epoch\":3}}", 0), null,
                "\"epoch\"", "not a string"));
        c.add(new Case("entry not an object", headerOnly("{\"w\":5}", 0), "w", "not an object"));
        c.add(new Case("missing dtype", headerOnly("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "w", "dtype"));
        c.add(new Case("unknown dtype", headerOnly("{" + entry("w", "Q8", "[4]", 0, 16) + "}", 16), "w", "unknown dtype", "Q8"));
        c.add(new Case("dtype Kiln cannot hold", headerOnly("{" + entry("w", "U64", "[2]", 0, 16) + "}", 16), "w",
                "U64", "not supported"));
        c.add(new Case("shape not a list", headerOnly("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16),
                "w", "\"shape\"", "list"));
        c.add(new Case("negative dimension", headerOnly("{" + entry("w", "F32", "[-4]", 0, 16) + "}", 16), "w", "-4",
                "non-negative"));
        c.add(new Case("fractional dimension", headerOnly("{" + entry("w", "F32", "[4.0]", 0, 16) + "}", 16), "w", "4.0"));
        c.add(new Case("dimension beyond a long", headerOnly("{" + entry("w", "F32", "[18446744073709551617]", 0, 16) + "}", 16),
                "w", "shape"));
        c.add(new Case("rank 65", headerOnly("{" + entry("w", "F32", "[" + "1,".repeat(64) + "1]", 0, 4) + "}", 4), "w",
                "at most 64"));
        c.add(new Case("one offset", headerOnly("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4), "w",
                "data_offsets", "2 integers"));
        c.add(new Case("offsets reversed", headerOnly("{" + entry("w", "F32", "[1]", 8, 4) + "}", 8), "w", "[8, 4]",
                "end before"));
        c.add(new Case("offsets past the data", headerOnly("{" + entry("w", "F32", "[4]", 0, 16) + "}", 12), "w", "[0, 16]",
                "past the end", "12 bytes"));
        c.add(new Case("shape and offsets disagree", headerOnly("{" + entry("w", "F32", "[5]", 0, 16) + "}", 16), "w",
                "[5]", "needs 20 bytes", "[0, 16]"));
        c.add(new Case("element count overflows", headerOnly("{" + entry("w", "F32",
                "[4294967296,4294967296,4294967296]", 0, 16) + "}", 16), "w", "more than 2^63"));
        c.add(new Case("byte count overflows", headerOnly("{" + entry("w", "F64", "[2305843009213693952]", 0, 16) + "}", 16),
                "w", "more than 2^63"));
        c.add(new Case("absurd size claimed, tiny file", headerOnly("{" + entry("w", "F32", "[1000000000000]", 0,
                4000000000000L) + "}", 16), "w", "past the end"));
        c.add(new Case("overlapping tensors", headerOnly("{" + entry("a", "F32", "[4]", 0, 16) + ","
                + entry("b", "F32", "[2]", 8, 16) + "}", 16), "b", "overlap", "\"a\""));
        c.add(new Case("gap between tensors", headerOnly("{" + entry("a", "F32", "[2]", 0, 8) + ","
                + entry("b", "F32", "[1]", 12, 16) + "}", 16), "b", "gap of 4"));
        c.add(new Case("data does not start at 0", headerOnly("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8), "a", "gap"));
        c.add(new Case("trailing bytes", headerOnly("{" + ok + "}", 20), null, "cover 16 bytes", "20 bytes"));
        c.add(new Case("truncated data", headerOnly("{" + ok + "}", 15), "w", "past the end"));
        return c;
    }

    @Test
    void everyViolationThrowsOneExceptionNamingFileTensorAndProblem(@TempDir Path dir) throws Exception {
        int i = 0;
        for (Case c : cases()) {
            Path f = dir.resolve("case" + (i++) + ".safetensors");
            Files.write(f, c.bytes());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.load(f), c.what());
            String msg = e.getMessage();
            assertTrue(msg.startsWith(f.toString() + ": "), c.what() + ": names the file: " + msg);
            if (c.tensor() == null) {
                assertNull(e.tensor(), c.what() + ": " + msg);
            } else {
                assertEquals(c.tensor(), e.tensor(), c.what() + ": " + msg);
                assertTrue(msg.contains("tensor \"" + c.tensor() + "\""), c.what() + ": names the tensor: " + msg);
            }
            for (String w : c.words()) {
                assertTrue(msg.contains(w), c.what() + ": expected \"" + w + "\" in: " + msg);
            }
            assertEquals(f.toString(), e.source());
            // The same file through the other entry points fails the same way.
            assertEquals(msg, assertThrows(SafetensorsException.class, () -> Safetensors.metadata(f)).getMessage());
            assertEquals(msg, assertThrows(SafetensorsException.class, () -> Safetensors.open(f)).getMessage());
            SafetensorsException fromBytes = assertThrows(SafetensorsException.class,
                    () -> Safetensors.fromBytes(c.bytes(), Device.cpu()));
            assertEquals(msg.substring(f.toString().length()), fromBytes.getMessage().substring("<bytes>".length()));
        }
    }

    @Test
    void aHeaderOverTheLimitIsRefusedBeforeItIsRead(@TempDir Path dir) throws Exception {
        // A sparse file of 200 MiB whose header claims all of it: refused without reading or allocating it.
        Path f = dir.resolve("huge-header.safetensors");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.write(withLength(200L << 20, 8));
            raf.setLength(8 + (200L << 20));
        }
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.load(f));
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
        Files.delete(f);
    }

    @Test
    void longNamesAreAbbreviatedInMessages(@TempDir Path dir) throws Exception {
        String name = "n".repeat(100_000);
        Path f = dir.resolve("long.safetensors");
        Files.write(f, headerOnly("{" + entry(name, "F32", "[5]", 0, 16) + "}", 16));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.load(f));
        assertTrue(e.getMessage().length() < 1000, "message of " + e.getMessage().length() + " characters");
        assertTrue(e.getMessage().contains("100000 characters"));
        assertEquals(name, e.tensor());
    }

    @Test
    void filesWithoutPaddingOrWithExtraEntryFieldsStillLoad(@TempDir Path dir) throws Exception {
        // Other writers do not always pad the header, and may add fields of their own.
        Path f = dir.resolve("lenient.safetensors");
        ByteBuffer data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f);
        Files.write(f, file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":true}} \t\n",
                data.array()));
        assertEquals(List.of(1.5, -2.0), toList(Safetensors.load(f).get("w").toDoubleArray()));
        Files.write(f, file("{}", new byte[0]));
        assertEquals(Map.of(), Safetensors.load(f));
    }

    private static List<Double> toList(double[] a) {
        List<Double> l = new ArrayList<>();
        for (double d : a) {
            l.add(d);
        }
        return l;
    }

    @Test
    void zeroSizedTensorsMayShareAnOffset(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("zeros.safetensors");
        Files.write(f, headerOnly("{" + entry("a", "F32", "[0]", 0, 0) + "," + entry("b", "F32", "[0,3]", 0, 0) + ","
                + entry("c", "F32", "[1]", 0, 4) + "}", 4));
        Map<String, Tensor> t = Safetensors.load(f);
        assertEquals(0, t.get("a").numel());
        assertEquals(1, t.get("c").numel());
    }
}
