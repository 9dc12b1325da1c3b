package dev.kiln.backend.cpu.serialization;

import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kills a writer process (SIGKILL, no shutdown hooks, no finally blocks) at random moments while
 * it saves a large file over and over, and checks that the target is always a complete file of one
 * generation: the last one the writer reported, or the next one if the kill fell between the
 * rename and the report. Never a torn file, never a mix of two generations.
 */
class AtomicWriteTest {

    private static final long SEED = 20240611L;
    private static final int ROUNDS = 8;
    private static final long ELEMENTS = 2_000_000; // 8 MB of float32 per generation

    @Test
    void aWriterKilledAtAnyMomentLeavesTheOldFileOrTheNewOne(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("model.safetensors");
        Random rnd = new Random(SEED);
        int leftovers = 0;
        long generationsWritten = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long base = round * 1_000_000L;
            Process p = ChildJvm.start(AtomicWriterMain.class, List.of("-Xmx256m"), target.toString(),
                    Long.toString(ELEMENTS), Long.toString(base));
            AtomicLong reported = new AtomicLong(base);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        reported.set(Long.parseLong(line.trim()));
                    }
                } catch (Exception e) {
                    // the stream closes when the process dies
                }
            });
            reader.setDaemon(true);
            reader.start();
            // Let it complete one to three saves (the first round starts with no file at all), then
            // kill it a random moment later: almost always in the middle of the next save.
            long wantAtLeast = base + 1 + rnd.nextInt(3);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (reported.get() < wantAtLeast) {
                if (!p.isAlive()) {
                    fail("the writer died on its own with exit code " + p.exitValue());
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    fail("the writer made no progress in 60 s");
                }
                Thread.sleep(2);
            }
            Thread.sleep(rnd.nextInt(60));
            p.destroyForcibly(); // SIGKILL on Unix
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the writer did not die");
            reader.join(5000);
            long last = reported.get();
            generationsWritten += last - base;

            Safetensors.Contents c = Safetensors.read(target);
            long g = Long.parseLong(c.metadata().get("generation"));
            assertTrue(g == last || g == last + 1, "round " + round + ": the file holds generation " + g
                    + " but the writer last reported " + last);
            Tensor values = c.tensors().get("values");
            assertEquals(ELEMENTS, values.numel());
            assertEquals(g, values.min().item(), "round " + round + ": all values are of generation " + g);
            assertEquals(g, values.max().item(), "round " + round + ": all values are of generation " + g);
            assertEquals(3 * g, c.tensors().get("tail").sum().itemLong());
            try (Stream<Path> files = Files.list(dir)) {
                for (Path tmp : files.filter(x -> !x.equals(target)).toList()) {
                    assertTrue(tmp.getFileName().toString().startsWith(".model.safetensors.")
                            && tmp.getFileName().toString().endsWith(".tmp"), "unexpected file " + tmp);
                    leftovers++;
                    Files.delete(tmp);
                }
            }
        }
        System.out.printf("atomic writes: %d kills, %d generations written, %d killed mid-write (temporary file left)%n",
                ROUNDS, generationsWritten, leftovers);
        assertTrue(leftovers > 0, "no kill landed inside a save; the test proved nothing");
    }
}
