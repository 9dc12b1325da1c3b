package dev.kiln.backend.cpu.serialization;

import dev.kiln.Safetensors;
import dev.kiln.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child process of {@link MemoryMapTest}, run with a heap barely larger than the one tensor in the
 * file. Mode {@code kiln} loads it with Kiln and saves it again; mode {@code naive} reads the file
 * into a byte array first, as a loader without a memory map would, and must run out of memory.
 * Prints {@code ok} and exits 0 on success.
 */
public final class MappedLoadMain {

    private MappedLoadMain() {
    }

    public static void main(String[] args) throws Exception {
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);
        long n = Long.parseLong(args[2]);
        Tensor t;
        if (args[3].equals("naive")) {
            byte[] all = Files.readAllBytes(in);
            long headerLength = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
            ByteBuffer data = ByteBuffer.wrap(all, (int) (8 + headerLength), (int) (4 * n));
            t = Safetensors.fromBytes(all, dev.kiln.Device.cpu()).tensors().get("big");
            System.out.println("naive loaded " + data.remaining() + " bytes");
        } else {
            t = Safetensors.load(in).get("big");
        }
        check(t, n);
        Safetensors.save(Map.of("big", t), out);
        t = null;
        System.gc();
        check(Safetensors.load(out).get("big"), n);
        System.out.println("ok");
    }

    private static void check(Tensor t, long n) {
        if (t.numel() != n) {
            throw new AssertionError("numel " + t.numel());
        }
        for (long i : new long[] {0, 1, n / 2, n - 1}) {
            double v = t.get(i).item();
            if (v != i % 1000) {
                throw new AssertionError("element " + i + " is " + v);
            }
        }
    }
}
