package dev.kiln.backend.cpu.serialization;

import dev.kiln.Safetensors;
import dev.kiln.Tensor;

import java.nio.file.Path;
import java.util.Map;

/**
 * Child process of {@link AtomicWriteTest}: saves generation after generation of a large file to
 * one path, forever, printing each generation number once its save has returned.
 */
public final class AtomicWriterMain {

    private AtomicWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[0]);
        long elements = Long.parseLong(args[1]);
        long generation = Long.parseLong(args[2]);
        while (true) {
            generation++;
            // Every element equals the generation, so a file mixing two generations shows.
            Tensor values = Tensor.full(new long[] {elements}, (double) generation);
            Tensor tail = Tensor.full(new long[] {3}, generation);
            Safetensors.save(Map.of("values", values, "tail", tail), Map.of("generation", Long.toString(generation)), target);
            System.out.println(generation);
            System.out.flush();
        }
    }
}
