package dev.kiln.data;

import dev.kiln.Generator;

/**
 * Where random transforms get their numbers while a {@link DataLoader} loads a batch.
 *
 * <p>Each epoch a loader draws a base seed from its generator; while it loads batch {@code b}, on
 * whichever thread, {@link #generator()} returns a generator seeded from (base seed, {@code b}). So
 * random augmentation depends only on the seed and the batch, never on {@code numWorkers} or
 * thread timing: the same seed gives the same batches with 0 or 8 workers. Outside a loader,
 * {@link #generator()} is Kiln's default generator. This plays the role of PyTorch's per-worker
 * seeding ({@code worker_init_fn}, {@code get_worker_info().seed}), at batch rather than worker
 * granularity.
 */
public final class WorkerContext {

    private static final ThreadLocal<WorkerContext> CURRENT = new ThreadLocal<>();

    private final long seed;
    private final long batchIndex;
    private Generator generator;

    private WorkerContext(long seed, long batchIndex) {
        this.seed = seed;
        this.batchIndex = batchIndex;
    }

    /** The generator for random transforms: the current batch's inside a loader, else the default one. */
    public static Generator generator() {
        WorkerContext c = CURRENT.get();
        if (c == null) {
            return Generator.defaultGenerator();
        }
        if (c.generator == null) {
            c.generator = new Generator(c.seed);
        }
        return c.generator;
    }

    /** Whether this thread is loading a batch for a {@link DataLoader}. */
    public static boolean inLoader() {
        return CURRENT.get() != null;
    }

    /** The index within its epoch of the batch being loaded on this thread, or -1 outside a loader. */
    public static long batchIndex() {
        WorkerContext c = CURRENT.get();
        return c == null ? -1 : c.batchIndex;
    }

    /** Enters the context of one batch; the caller must {@link #exit} it. */
    static void enter(long epochSeed, long batchIndex) {
        CURRENT.set(new WorkerContext(mix(epochSeed, batchIndex), batchIndex));
    }

    static void exit() {
        CURRENT.remove();
    }

    /** A well-spread seed per (epoch seed, batch): SplitMix64's finaliser over their combination. */
    static long mix(long seed, long index) {
        long z = seed + 0x9E3779B97F4A7C15L * (index + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A 64-bit seed drawn from {@code generator}, which it advances. */
    static long drawSeed(Generator generator) {
        double[] u = generator.uniformDoubles(2);
        return ((long) (u[0] * (1L << 32)) << 32) ^ (long) (u[1] * (1L << 32));
    }
}
