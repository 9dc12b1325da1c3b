package dev.kiln.integration;

import dev.kiln.Safetensors;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Resume is exact: N steps, a checkpoint, then M more steps in a fresh JVM give bit for bit the
 * weights (and optimizer state, learning rate and generator state) of N + M uninterrupted steps,
 * with shuffled batches and dropout in the loop and the checkpoint falling mid-epoch.
 */
class ExactResumeTest {

    private static final int N = 7;   // epoch 1, batch 2 of 5
    private static final int M = 11;  // ends in epoch 3
    private static final int TOTAL = N + M;

    @Test
    void trainingResumedInAFreshJvmMatchesUninterruptedTrainingBitForBit(@TempDir Path dir) throws Exception {
        ResumableTraining full = new ResumableTraining(TOTAL);
        full.trainUntil(TOTAL);
        Map<String, Tensor> expected = full.finalState();

        ResumableTraining first = new ResumableTraining(TOTAL);
        first.trainUntil(N);
        assertTrue(first.batchInEpoch > 0 && first.batchInEpoch < 5, "the checkpoint falls mid-epoch");
        Path ck = dir.resolve("run.ckpt.safetensors");
        first.save(ck);

        Path out = dir.resolve("resumed.safetensors");
        runFreshJvm(ck, out);
        Map<String, Tensor> resumed = Safetensors.load(out);
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(resumed.keySet()));
        for (String k : expected.keySet()) {
            assertBitEqual(expected.get(k), resumed.get(k), k);
        }
    }

    @Test
    void withoutTheGeneratorStateTheRunDiverges(@TempDir Path dir) throws Exception {
        // The control: the same resume in-process, with and without restoring the generators,
        // shows that shuffling and dropout really depend on the restored state.
        ResumableTraining full = new ResumableTraining(TOTAL);
        full.trainUntil(TOTAL);
        Map<String, Tensor> expected = full.finalState();
        ResumableTraining first = new ResumableTraining(TOTAL);
        first.trainUntil(N);
        Path ck = dir.resolve("run.ckpt.safetensors");
        first.save(ck);

        ResumableTraining exact = new ResumableTraining(TOTAL);
        exact.resume(ck, true);
        exact.trainUntil(TOTAL);
        assertBitEqual(expected.get("model.3.weight"), exact.finalState().get("model.3.weight"), "in-process resume");

        ResumableTraining careless = new ResumableTraining(TOTAL);
        careless.resume(ck, false);
        careless.trainUntil(TOTAL);
        assertFalse(expected.get("model.3.weight").equal(careless.finalState().get("model.3.weight")),
                "a resume that forgets the generator state should not match");
    }

    private static void assertBitEqual(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what);
        assertEquals(List.of(box(expected.shape())), List.of(box(actual.shape())), what);
        if (expected.dtype().isFloatingPoint()) {
            double[] e = expected.toDoubleArray();
            double[] a = actual.toDoubleArray();
            for (int i = 0; i < e.length; i++) {
                if (Double.doubleToLongBits(e[i]) != Double.doubleToLongBits(a[i])) {
                    fail(what + "[" + i + "]: resumed " + a[i] + ", uninterrupted " + e[i]);
                }
            }
        } else {
            assertEquals(List.of(boxL(expected.toLongArray())), List.of(boxL(actual.toLongArray())), what);
        }
    }

    private static List<Long> box(long[] a) {
        return boxL(a);
    }

    private static List<Long> boxL(long[] a) {
        List<Long> l = new ArrayList<>();
        for (long v : a) {
            l.add(v);
        }
        return l;
    }

    private static void runFreshJvm(Path ck, Path out) throws Exception {
        List<String> cmd = List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), ResumeMain.class.getName(),
                ck.toString(), Integer.toString(TOTAL), out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream s = p.getInputStream()) {
            s.transferTo(buf);
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the resumed run did not finish");
        assertEquals(0, p.exitValue(), "the resumed run failed:\n" + buf.toString(StandardCharsets.UTF_8));
    }
}
