package dev.kiln.backend.cpu.serialization;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large files load through a memory map and save in chunks: a JVM whose heap holds the tensor once
 * but not twice loads a 64 MiB tensor and saves it again, while a loader that first reads the file
 * into a byte array (the control) runs out of memory under the same limit.
 */
class MemoryMapTest {

    private static final long N = 16L << 20; // 16 Mi float32 elements = 64 MiB
    /** Serial GC's old generation is two thirds of the heap: room for one 64 MiB array, not two. */
    private static final List<String> HEAP = List.of("-Xmx120m", "-XX:+UseSerialGC");

    @Test
    void aLargeFileLoadsAndSavesInAHeapThatHoldsItOnlyOnce(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("big.safetensors");
        writeBigFile(in);
        Result kiln = run(in, dir.resolve("copy.safetensors"), "kiln");
        assertEquals(0, kiln.exit, "Kiln's loader under a tight heap:\n" + kiln.output);
        assertTrue(kiln.output.contains("ok"), kiln.output);
        Result naive = run(in, dir.resolve("naive.safetensors"), "naive");
        assertNotEquals(0, naive.exit, "the control should run out of memory:\n" + naive.output);
        assertTrue(naive.output.contains("OutOfMemoryError"), naive.output);
    }

    private record Result(int exit, String output) {
    }

    private static Result run(Path in, Path out, String mode) throws Exception {
        Process p = ChildJvm.builder(MappedLoadMain.class, HEAP, in.toString(), out.toString(), Long.toString(N), mode)
                .redirectErrorStream(true).start();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream s = p.getInputStream()) {
            s.transferTo(buf);
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish");
        return new Result(p.exitValue(), buf.toString(StandardCharsets.UTF_8));
    }

    /** Written directly, so that the test JVM itself never holds the tensor. */
    private static void writeBigFile(Path f) throws Exception {
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + N + "],\"data_offsets\":[0," + 4 * N + "]}}";
        byte[] h = (header + " ".repeat((8 - header.length() % 8) % 8)).getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).flip();
            ch.write(head);
            ByteBuffer chunk = ByteBuffer.allocate(4 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < N; ) {
                chunk.clear();
                while (chunk.hasRemaining() && i < N) {
                    chunk.putFloat(i % 1000);
                    i++;
                }
                chunk.flip();
                while (chunk.hasRemaining()) {
                    ch.write(chunk);
                }
            }
        }
    }
}
