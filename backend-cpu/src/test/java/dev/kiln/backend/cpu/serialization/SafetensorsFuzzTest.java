package dev.kiln.backend.cpu.serialization;

import dev.kiln.Device;
import dev.kiln.Safetensors;
import dev.kiln.SafetensorsException;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutates and truncates valid files thousands of times (seeded, so any failure replays) and loads
 * each: the only acceptable outcomes are a successful load or {@link SafetensorsException}. No
 * other exception, no hang, and no load may allocate more than a small multiple of the input.
 */
class SafetensorsFuzzTest {

    private static final long SEED = 0x5AFE7E45L;
    private static final int ITERATIONS = 4000;
    /** Every how many iterations the input goes through a real file (the memory-map path) instead of bytes. */
    private static final int FILE_EVERY = 4;
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?");
    private static final String[] NUMBERS = {"-1", "0", "1", "7", "4294967296", "2147483647", "2147483648",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "99999999999999999999999999", "1e400", "-0", "1.5", "3e9"};
    private static final String[] DTYPES = {"F32", "F64", "F16", "BF16", "I64", "BOOL", "I32", "I16", "I8", "U8",
        "U16", "U32", "U64", "F8_E4M3", "Q4", "", "f32"};
    private static final byte[] INTERESTING = "\"{}[],:-9\\0 \u0000".getBytes(StandardCharsets.ISO_8859_1);

    private static List<byte[]> corpus() {
        List<byte[]> c = new ArrayList<>();
        c.add(Safetensors.toBytes(SafetensorsFormatTest.everything(), Map.of("format", "pt")));
        Map<String, Tensor> small = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            small.put("layer" + i + ".weight", Tensor.full(new long[] {2, i}, (double) i));
        }
        small.put("flag", Tensor.of(true));
        c.add(Safetensors.toBytes(small, Map.of("epoch", "3", "json", "{\"a\":[1,2]}")));
        c.add(Safetensors.toBytes(Map.of(), Map.of()));
        c.add(Safetensors.toBytes(Map.of("x", Tensor.arange(10)), Map.of()));
        return c;
    }

    @Test
    void mutatedAndTruncatedFilesOnlyEverThrowSafetensorsException(@TempDir Path dir) {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> run(dir), "a load hung");
    }

    private void run(Path dir) throws Exception {
        List<byte[]> corpus = corpus();
        Random rnd = new Random(SEED);
        com.sun.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean()
                instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported() ? t : null;
        Path f = dir.resolve("fuzz.safetensors");
        int loaded = 0;
        int rejected = 0;
        long slowest = 0;
        long start = System.nanoTime();
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] base = corpus.get(rnd.nextInt(corpus.size()));
            byte[] bytes = mutate(base, rnd);
            boolean viaFile = i % FILE_EVERY == 0;
            if (viaFile) {
                Files.write(f, bytes);
            }
            long allocatedBefore = threads == null ? 0 : threads.getCurrentThreadAllocatedBytes();
            long t0 = System.nanoTime();
            try {
                Safetensors.Contents c = viaFile ? Safetensors.read(f, Device.cpu()) : Safetensors.fromBytes(bytes, Device.cpu());
                loaded++;
                touch(c);
            } catch (SafetensorsException e) {
                rejected++;
                if (e.getMessage() == null || e.problem() == null || e.source() == null) {
                    fail("iteration " + i + ": exception without a message");
                }
            } catch (Throwable e) {
                throw new AssertionError("iteration " + i + " (seed " + SEED + "): " + e + " for input "
                        + preview(bytes), e);
            }
            long elapsed = System.nanoTime() - t0;
            slowest = Math.max(slowest, elapsed);
            if (threads != null) {
                long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
                // Tensors, maps and the parsed header: far below this unless something sized an
                // allocation from a number in the header instead of from the bytes present.
                long bound = (4L << 20) + 64L * bytes.length;
                if (allocated > bound) {
                    fail("iteration " + i + ": loading " + bytes.length + " bytes allocated " + allocated + " bytes: "
                            + preview(bytes));
                }
            }
        }
        long total = System.nanoTime() - start;
        System.out.printf("safetensors fuzz: %d inputs, %d loaded, %d rejected, %.1f s, slowest %.1f ms%n",
                ITERATIONS, loaded, rejected, total / 1e9, slowest / 1e6);
        assertTrue(rejected > ITERATIONS / 2, "the mutations should mostly break files: " + rejected + " rejected");
        assertTrue(loaded > 0, "some mutations (in data bytes) leave valid files");
    }

    /** Reads every loaded value, so that lazily mapped data is touched too. */
    private static void touch(Safetensors.Contents c) {
        for (Tensor t : c.tensors().values()) {
            if (t.numel() > 0 && t.dtype().isFloatingPoint()) {
                t.toDoubleArray();
            }
        }
    }

    private static byte[] mutate(byte[] base, Random rnd) {
        byte[] b = base.clone();
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            b = switch (rnd.nextInt(10)) {
                case 0 -> flipBits(b, rnd);
                case 1 -> Arrays.copyOf(b, b.length == 0 ? 0 : rnd.nextInt(b.length));
                case 2 -> setInteresting(b, rnd);
                case 3 -> setLength(b, rnd);
                case 4, 5 -> rewriteHeader(b, rnd, true);
                case 6 -> rewriteHeader(b, rnd, false);
                case 7 -> insertOrDelete(b, rnd);
                case 8 -> appendJunk(b, rnd);
                default -> flipBits(b, rnd);
            };
        }
        return b;
    }

    private static int headerEnd(byte[] b) {
        if (b.length < 8) {
            return b.length;
        }
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return (int) Math.max(8, Math.min(b.length, 8 + Math.max(0, n)));
    }

    /** A position, mostly in the header where the structure is. */
    private static int position(byte[] b, Random rnd) {
        int h = headerEnd(b);
        return rnd.nextInt(4) != 0 && h > 0 ? rnd.nextInt(h) : rnd.nextInt(b.length);
    }

    private static byte[] flipBits(byte[] b, Random rnd) {
        if (b.length == 0) {
            return b;
        }
        for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
            int p = position(b, rnd);
            b[p] ^= (byte) (1 << rnd.nextInt(8));
        }
        return b;
    }

    private static byte[] setInteresting(byte[] b, Random rnd) {
        if (b.length > 0) {
            b[position(b, rnd)] = INTERESTING[rnd.nextInt(INTERESTING.length)];
        }
        return b;
    }

    private static byte[] setLength(byte[] b, Random rnd) {
        if (b.length < 8) {
            return b;
        }
        long[] choices = {0, 1, 2, -1, Long.MIN_VALUE, Long.MAX_VALUE, b.length - 8, b.length - 7, b.length,
            100L << 20, (100L << 20) + 1, headerEnd(b) - 8 + rnd.nextInt(17) - 8};
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, choices[rnd.nextInt(choices.length)]);
        return b;
    }

    /**
     * Edits the JSON itself, then writes a consistent length (when {@code fixLength}), so that the
     * mutation gets past the framing checks to the semantic ones: numbers in shapes and offsets
     * become boundary values, dtypes change, tokens vanish or repeat.
     */
    private static byte[] rewriteHeader(byte[] b, Random rnd, boolean fixLength) {
        int h = headerEnd(b);
        if (h <= 8) {
            return b;
        }
        String json = new String(b, 8, h - 8, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(b, h, b.length);
        switch (rnd.nextInt(5)) {
            case 0, 1 -> {
                List<int[]> spans = new ArrayList<>();
                Matcher m = NUMBER.matcher(json);
                while (m.find()) {
                    spans.add(new int[] {m.start(), m.end()});
                }
                if (!spans.isEmpty()) {
                    int[] s = spans.get(rnd.nextInt(spans.size()));
                    String replacement = rnd.nextBoolean() ? NUMBERS[rnd.nextInt(NUMBERS.length)]
                            : Long.toString(Long.parseLong(json.substring(s[0], s[1]).replaceAll("[^0-9]", "0").substring(0,
                                    Math.min(18, s[1] - s[0]))) + rnd.nextInt(9) - 4);
                    json = json.substring(0, s[0]) + replacement + json.substring(s[1]);
                }
            }
            case 2 -> {
                int at = json.indexOf("\"dtype\":\"");
                if (at >= 0) {
                    int from = at + 9;
                    int to = json.indexOf('"', from);
                    json = json.substring(0, from) + DTYPES[rnd.nextInt(DTYPES.length)] + json.substring(to);
                }
            }
            case 3 -> {
                int a = rnd.nextInt(json.length());
                int len = rnd.nextInt(Math.min(40, json.length() - a) + 1);
                json = json.substring(0, a) + json.substring(a + len);
            }
            default -> {
                int a = rnd.nextInt(json.length());
                int len = rnd.nextInt(Math.min(60, json.length() - a) + 1);
                int at = rnd.nextInt(json.length());
                json = json.substring(0, at) + json.substring(a, a + len) + json.substring(at);
            }
        }
        byte[] head = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + head.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(fixLength ? head.length : h - 8).put(head).put(data);
        return out.array();
    }

    private static byte[] insertOrDelete(byte[] b, Random rnd) {
        if (b.length == 0) {
            return b;
        }
        int p = position(b, rnd);
        int n = 1 + rnd.nextInt(16);
        if (rnd.nextBoolean()) {
            byte[] out = new byte[b.length + n];
            System.arraycopy(b, 0, out, 0, p);
            for (int i = 0; i < n; i++) {
                out[p + i] = (byte) rnd.nextInt(256);
            }
            System.arraycopy(b, p, out, p + n, b.length - p);
            return out;
        }
        int m = Math.min(n, b.length - p);
        byte[] out = new byte[b.length - m];
        System.arraycopy(b, 0, out, 0, p);
        System.arraycopy(b, p + m, out, p, b.length - p - m);
        return out;
    }

    private static byte[] appendJunk(byte[] b, Random rnd) {
        byte[] out = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(64));
        for (int i = b.length; i < out.length; i++) {
            out[i] = (byte) rnd.nextInt(256);
        }
        return out;
    }

    private static String preview(byte[] b) {
        int h = headerEnd(b);
        String head = new String(b, Math.min(8, b.length), Math.max(0, Math.min(h, 8 + 400) - 8), StandardCharsets.UTF_8);
        return b.length + " bytes, header " + head;
    }
}
