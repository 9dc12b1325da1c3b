package dev.kiln.backend.cpu;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Large float32 arrays of freed storages, kept for the next allocation of the same length. A new
 * large Java array costs the JVM zeroing it and, while the heap grows, the kernel faulting in fresh
 * pages (about 2.2 GB/s here against 23-26 GB/s for reused memory), so a training step that
 * allocates and frees the same big activations every time gains from getting them back.
 *
 * <p>Arrays come back only through {@link CpuStorage#free()}, which core calls when the last
 * tensor over a storage is closed (explicitly, by a scope, or by the autograd engine for
 * gradients it owns); arrays the GC collects are simply gone. A pooled array's contents are
 * garbage, which the SPI allows ({@code allocate} returns unspecified contents). The pool holds at
 * most {@link #CAPACITY} bytes, the least recently freed arrays going first.
 */
final class BufferPool {

    /** Arrays shorter than this (1 MiB) are cheap to allocate and are not kept. */
    static final int MIN_LENGTH = 1 << 18;
    /** Bytes kept at most: an eighth of the maximum heap, up to 2 GiB. */
    static final long CAPACITY = Math.min(2L << 30, Runtime.getRuntime().maxMemory() / 8);

    private static final Map<Integer, ArrayDeque<float[]>> FREE = new HashMap<>();
    /** Every pooled array in the order freed, to drop the oldest first. */
    private static final ArrayDeque<float[]> ORDER = new ArrayDeque<>();
    private static long bytes;

    private BufferPool() {
    }

    /** A float array of length n: a pooled one (with stale contents) when there is one, else a new one. */
    static float[] floats(int n) {
        if (n >= MIN_LENGTH) {
            synchronized (BufferPool.class) {
                ArrayDeque<float[]> q = FREE.get(n);
                float[] a = q == null ? null : q.pollLast();
                if (a != null) {
                    ORDER.removeLastOccurrence(a);
                    bytes -= 4L * n;
                    return a;
                }
            }
        }
        return new float[n];
    }

    /** Takes back an array nothing uses any more. */
    static void recycle(float[] a) {
        long size = 4L * a.length;
        if (a.length < MIN_LENGTH || size > CAPACITY) {
            return;
        }
        synchronized (BufferPool.class) {
            while (bytes + size > CAPACITY && !ORDER.isEmpty()) {
                float[] old = ORDER.pollFirst();
                FREE.get(old.length).removeFirstOccurrence(old);
                bytes -= 4L * old.length;
            }
            FREE.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addLast(a);
            ORDER.addLast(a);
            bytes += size;
        }
    }

    /** Bytes held now (for tests and diagnostics). */
    static synchronized long pooledBytes() {
        return bytes;
    }
}
