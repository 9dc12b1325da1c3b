package dev.kiln.backend.cpu.serialization;

import dev.kiln.Checkpoint;
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
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.kiln.backend.cpu.serialization.SerializationAssertions.assertSameTensors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint's own behaviour, with plain tensors and JSON (the nn/optim round trip is in integration-tests). */
class CheckpointTest {

    @Test
    void sectionsCountersGeneratorsAndMetadataRoundTrip(@TempDir Path dir) throws Exception {
        Kiln.manualSeed(11);
        Map<String, Tensor> model = new LinkedHashMap<>();
        model.put("fc1.weight", Tensor.randn(4, 3));
        model.put("fc1.bias", Tensor.randn(4));
        model.put("bn.num_batches_tracked", Tensor.of(7L).reshape());
        Map<String, Tensor> opt = Map.of("state.0.exp_avg", Tensor.randn(4, 3).t());
        String optJson = "{\"optimizer\":\"Adam\",\"param_groups\":[{\"lr\":0.001,\"betas\":[0.9,0.999],\"params\":[0,1]}]}";
        Map<String, Object> sched = new LinkedHashMap<>();
        sched.put("last_epoch", 4L);
        sched.put("base_lrs", List.of(0.1));
        sched.put("best", "Infinity");
        Generator loaderRng = new Generator(99);
        loaderRng.reserve(5);
        Tensor.randn(3); // move the default generator along
        long[] defaultState = Generator.defaultGenerator().getState();

        Path f = dir.resolve("ck.safetensors");
        new Checkpoint().put("model", model).put("optimizer", opt, optJson).putState("scheduler", sched)
                .epoch(3).step(1234).putRng("loader", loaderRng).putMetadata("note", "warm-up done")
                .putMetadata("format", "pt").save(f);

        Tensor.randn(100);
        loaderRng.reserve(50);
        Checkpoint ck = Checkpoint.load(f);
        assertEquals(List.of("model", "optimizer", "scheduler"), List.copyOf(ck.sections()));
        assertSameTensors(model, ck.tensors("model"));
        assertSameTensors(Map.of("state.0.exp_avg", opt.get("state.0.exp_avg").contiguous()), ck.tensors("optimizer"));
        assertEquals(optJson, ck.json("optimizer"));
        assertEquals(sched, ck.state("scheduler"));
        assertTrue(ck.tensors("scheduler").isEmpty());
        assertNull(ck.json("model"));
        assertEquals(3, ck.epoch());
        assertEquals(1234, ck.step());
        assertEquals(Set.of("default", "loader"), ck.rngNames());
        assertEquals(Map.of("note", "warm-up done", "format", "pt"), ck.metadata());

        ck.restoreRng();
        assertArrayEquals(defaultState, Generator.defaultGenerator().getState());
        ck.restoreRng("loader", loaderRng);
        assertArrayEquals(new long[] {99, 5}, loaderRng.getState());

        // An ordinary safetensors file: PyTorch (or Kiln.load) sees section/key names.
        Map<String, Tensor> plain = Safetensors.load(f);
        assertTrue(plain.containsKey("model/fc1.weight") && plain.containsKey("optimizer/state.0.exp_avg"), plain.keySet().toString());
        assertTrue(Safetensors.metadata(f).containsKey(Checkpoint.METADATA_KEY));
    }

    @Test
    void theDefaultGeneratorIsRecordedAtEachSaveAndSavingDrawsNothing(@TempDir Path dir) throws Exception {
        Kiln.manualSeed(1);
        Checkpoint ck = new Checkpoint().put("w", Map.of("x", Tensor.ones(2)));
        Path f = dir.resolve("a.safetensors");
        long[] first = Generator.defaultGenerator().getState();
        ck.save(f);
        assertArrayEquals(first, Generator.defaultGenerator().getState(), "saving draws no random numbers");
        assertArrayEquals(first, Checkpoint.load(f).rngState("default"));
        Tensor.rand(10);
        long[] second = Generator.defaultGenerator().getState();
        ck.save(f);
        assertArrayEquals(second, Checkpoint.load(f).rngState("default"), "a reused Checkpoint records the state anew");
        // An explicit state under "default" wins.
        ck.putRng("default", new long[] {5, 6}).save(f);
        assertArrayEquals(new long[] {5, 6}, Checkpoint.load(f).rngState("default"));
    }

    @Test
    void misuseIsRefusedAtTheCall() {
        Checkpoint ck = new Checkpoint();
        assertThrows(IllegalArgumentException.class, () -> ck.put("a/b", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ck.put("", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ck.putMetadata("kiln.checkpoint", "x"));
        assertThrows(IllegalArgumentException.class, () -> ck.putState("s", Map.of("lr", Double.NaN)));
        assertThrows(IllegalArgumentException.class, () -> ck.putJson("s", "{not json"));
        assertThrows(IllegalArgumentException.class, () -> ck.putRng("g", new long[] {1}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ck.tensors("model"));
        assertTrue(e.getMessage().contains("\"model\""), e.getMessage());
        ck.putJson("only", "[1,2]");
        assertThrows(IllegalArgumentException.class, () -> ck.state("only"), "not an object");
        assertEquals("[1,2]", ck.json("only"));
    }

    @Test
    void filesThatAreNotCheckpointsThrowSafetensorsException(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("plain.safetensors");
        Safetensors.save(Map.of("w", Tensor.ones(2)), f);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f));
        assertTrue(e.getMessage().contains("not a Kiln checkpoint") && e.getMessage().contains(f.toString()), e.getMessage());

        Safetensors.save(Map.of("w", Tensor.ones(2)), Map.of(Checkpoint.METADATA_KEY, "{\"version\":99}"), f);
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f));
        assertTrue(e.getMessage().contains("version 99"), e.getMessage());

        Safetensors.save(Map.of("stray", Tensor.ones(2)), Map.of(Checkpoint.METADATA_KEY,
                "{\"version\":1,\"epoch\":0,\"step\":0,\"rng\":{},\"tensor_sections\":[],\"json_sections\":{}}"), f);
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f));
        assertEquals("stray", e.tensor());

        Files.write(f, new byte[] {1, 2, 3});
        assertThrows(SafetensorsException.class, () -> Checkpoint.load(f));
    }
}
