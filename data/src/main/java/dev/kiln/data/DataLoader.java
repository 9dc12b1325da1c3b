package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Batches from a dataset, the counterpart of {@code torch.utils.data.DataLoader}:
 *
 * <pre>{@code
 * DataLoader<List<Tensor>> loader = DataLoader.builder(dataset).batchSize(64).shuffle(true).build();
 * for (int epoch = 0; epoch < 5; epoch++) {
 *     for (List<Tensor> batch : loader) { ... }     // one epoch per iteration
 * }
 * }</pre>
 *
 * <p>Each iteration is one epoch: the sampler draws a fresh order (reproducible under
 * {@link Kiln#manualSeed(long)} or a given {@link Generator}) and {@link #size()} batches follow.
 * With the default collate function a dataset that implements {@link BatchDataset} (such as
 * {@link TensorDataset} and MNIST) is gathered one whole batch at a time with one indexed copy per
 * tensor; other datasets are read item by item and collated.
 *
 * <p>With {@code numWorkers > 0}, batches load on background threads, at most
 * {@code numWorkers * prefetchFactor} batches ahead of the consumer, and come out in exactly the
 * order (and, thanks to {@link WorkerContext}, with exactly the random augmentation) they would
 * with {@code numWorkers = 0}. An exception while loading surfaces in the iterating thread as a
 * {@link DataLoaderException} that names the failing dataset index, and ends the epoch.
 *
 * @param <B> the batch type
 */
public final class DataLoader<B> implements Iterable<B> {

    private static final Cleaner CLEANER = Cleaner.create();
    private static final Logger LOG = LoggerFactory.getLogger(DataLoader.class);
    /** Whether the no-op warning was logged (once per process); package-private for tests. */
    static final AtomicBoolean PIN_WARNED = new AtomicBoolean();

    private final Dataset<?> dataset;
    private final IterableDataset<?> stream;
    private final BatchSampler batchSampler;
    private final Function<List<Object>, ?> collate;
    private final int batchSize;
    private final boolean dropLast;
    private final int numWorkers;
    private final int prefetchFactor;
    private final boolean pinMemory;
    /** pinMemory, and page-locked memory is available. */
    private final boolean pins;
    private final Generator generator;
    private ThreadPoolExecutor pool;

    @SuppressWarnings("unchecked")
    private DataLoader(Builder<?, ?> b, BatchSampler batchSampler) {
        this.dataset = b.dataset;
        this.stream = b.stream;
        this.batchSampler = batchSampler;
        this.collate = (Function<List<Object>, ?>) (Function<?, ?>) b.collate;
        this.batchSize = b.batchSize;
        this.dropLast = b.dropLast;
        this.numWorkers = b.numWorkers;
        this.prefetchFactor = b.prefetchFactor;
        this.pinMemory = b.pinMemory;
        this.pins = pinningPossible(b.pinMemory);
        this.generator = b.generator;
    }

    /**
     * A builder for a loader over {@code dataset}. With the default collate function a batch has the
     * structure of an item ({@code List<Tensor>} items give {@code List<Tensor>} batches), hence the
     * batch type {@code T}; {@link Builder#collate} changes it.
     */
    public static <T> Builder<T, T> builder(Dataset<T> dataset) {
        return new Builder<>(Objects.requireNonNull(dataset, "dataset"), null);
    }

    /** A builder for a loader over a stream of items, batched in arrival order. */
    public static <T> Builder<T, T> builder(IterableDataset<T> dataset) {
        return new Builder<>(null, Objects.requireNonNull(dataset, "dataset"));
    }

    /**
     * The number of batches per epoch.
     *
     * @throws UnsupportedOperationException for a stream or sampler of unknown length
     */
    public long size() {
        long n;
        if (stream != null) {
            long items = stream.size();
            n = items < 0 ? -1 : dropLast ? items / batchSize : (items + batchSize - 1) / batchSize;
        } else {
            n = batchSampler.size();
        }
        if (n < 0) {
            throw new UnsupportedOperationException("DataLoader.size: the number of batches is not known in advance"
                    + (stream != null ? " (the IterableDataset does not report its size)" : " (the sampler does not report its size)"));
        }
        return n;
    }

    /** The map-style dataset, or null when this loader reads an {@link IterableDataset}. */
    public Dataset<?> dataset() {
        return dataset;
    }

    /** Items per batch (for a custom batch sampler, the builder's unused default of 1). */
    public int batchSize() {
        return batchSize;
    }

    /** Background loading threads; 0 loads in the iterating thread. */
    public int numWorkers() {
        return numWorkers;
    }

    /** Whether the last, incomplete batch of an epoch is left out. */
    public boolean dropLast() {
        return dropLast;
    }

    /**
     * Whether {@code pinMemory(true)} was asked for: batches are then copied into page-locked host
     * memory ({@link Tensor#pinMemory()}), so that {@code batch.to(cuda)} copies asynchronously on
     * the device's stream. Where no CUDA backend lends page-locked memory this is a no-op, logged
     * once with the reason; {@link #pinsBatches()} says which.
     */
    public boolean pinMemory() {
        return pinMemory;
    }

    /** Whether batches really come out pinned: {@link #pinMemory()} and page-locked memory is available. */
    public boolean pinsBatches() {
        return pins;
    }

    /** Starts an epoch. */
    @Override
    public Iterator<B> iterator() {
        // As PyTorch: each epoch draws a base seed for the workers from the loader's generator.
        long epochSeed = WorkerContext.drawSeed(generator != null ? generator : Generator.defaultGenerator());
        if (stream != null) {
            StreamSource source = new StreamSource(stream.iterator(), epochSeed);
            return numWorkers == 0 ? new SyncStreamIterator(source) : new AsyncStreamIterator(source);
        }
        return new MapIterator(batchSampler.iterator(), epochSeed);
    }

    @Override
    public String toString() {
        return "DataLoader(" + (stream != null ? stream : dataset) + ", batchSize=" + batchSize + ", numWorkers="
                + numWorkers + (pins ? ", pinMemory=true" : "") + ")";
    }

    // ------------------------------------------------------------------ loading one batch

    private synchronized ThreadPoolExecutor pool() {
        if (pool == null) {
            AtomicInteger count = new AtomicInteger();
            ThreadFactory threads = r -> {
                Thread t = new Thread(r, "kiln-data-worker-" + count.getAndIncrement());
                t.setDaemon(true);
                return t;
            };
            // Idle workers time out, so a loader that is no longer iterated holds no threads.
            pool = new ThreadPoolExecutor(numWorkers, numWorkers, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads);
            pool.allowCoreThreadTimeOut(true);
        }
        return pool;
    }

    /** Loads the batch at {@code indices}: batch {@code batchIndex} of the epoch with {@code epochSeed}. */
    @SuppressWarnings("try") // the no-grad scope is used for its effect
    private Object load(long[] indices, long batchIndex, long epochSeed) {
        WorkerContext.enter(epochSeed, batchIndex);
        try (var noGrad = Kiln.noGrad()) {
            Object batch;
            if (collate == null && dataset instanceof BatchDataset<?> bd && bd.supportsBatch()) {
                try {
                    batch = bd.getBatch(indices);
                } catch (RuntimeException e) {
                    // Find the sample to blame, so the error names it as the item-by-item path would.
                    for (long i : indices) {
                        try {
                            dataset.get(i);
                        } catch (RuntimeException sampleError) {
                            throw failure(i, batchIndex, sampleError);
                        }
                    }
                    throw new DataLoaderException("DataLoader: loading batch " + batchIndex + " (indices "
                            + preview(indices) + ") failed" + where() + ": " + e, e, -1, batchIndex);
                }
            } else {
                List<Object> items = new ArrayList<>(indices.length);
                for (long i : indices) {
                    try {
                        items.add(dataset.get(i));
                    } catch (RuntimeException e) {
                        throw failure(i, batchIndex, e);
                    }
                }
                batch = collateItems(items, batchIndex);
            }
            return pin(batch);
        } finally {
            WorkerContext.exit();
        }
    }

    private Object collateItems(List<Object> items, long batchIndex) {
        try {
            if (collate != null) {
                return collate.apply(items);
            }
            Object first = items.get(0);
            if (first instanceof Number || first instanceof Boolean || first instanceof String) {
                // The builder promised batches of the item type, which a tensor of numbers is not.
                throw new IllegalStateException("the items are " + first.getClass().getSimpleName()
                        + "s, which the default collate turns into a Tensor, not a batch of the item type; pass"
                        + " collate(Collate::numbers) (or collate(Collate::defaultCollate)) to the builder");
            }
            return Collate.defaultCollate(items);
        } catch (RuntimeException e) {
            throw new DataLoaderException("DataLoader: collating batch " + batchIndex + " of " + items.size()
                    + " items failed" + where() + ": " + e, e, -1, batchIndex);
        }
    }

    private static DataLoaderException failure(long index, long batchIndex, RuntimeException e) {
        return new DataLoaderException("DataLoader: loading sample " + index + " (batch " + batchIndex + ") failed"
                + where() + ": " + e, e, index, batchIndex);
    }

    private static String where() {
        String name = Thread.currentThread().getName();
        return name.startsWith("kiln-data-worker-") ? " in " + name : "";
    }

    private static String preview(long[] indices) {
        if (indices.length <= 8) {
            return Arrays.toString(indices);
        }
        return Arrays.toString(Arrays.copyOf(indices, 8)).replace("]", ", ... (" + indices.length + " in all)]");
    }

    /**
     * With {@code pinMemory} (and page-locked memory available), the batch with every tensor in it
     * (also inside lists and maps, as the default collate builds them) replaced by its
     * {@link Tensor#pinMemory()} copy; otherwise the batch unchanged. Runs in the loading thread, so
     * with workers the copies into page-locked memory happen off the training thread.
     */
    private Object pin(Object batch) {
        return pins ? pinAll(batch) : batch;
    }

    private static Object pinAll(Object o) {
        if (o instanceof Tensor t) {
            return t.device().isCpu() ? t.pinMemory() : t;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object e : l) {
                out.add(pinAll(e));
            }
            return Collections.unmodifiableList(out);
        }
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(e.getKey(), pinAll(e.getValue()));
            }
            return Collections.unmodifiableMap(out);
        }
        return o;
    }

    /** Whether batches are pinned: asked for and possible; says why not, once per process, when not. */
    private static boolean pinningPossible(boolean requested) {
        if (!requested) {
            return false;
        }
        if (Kiln.isPinnedMemoryAvailable()) {
            return true;
        }
        if (PIN_WARNED.compareAndSet(false, true)) {
            LOG.warn("DataLoader: pinMemory(true) has no effect, batches stay in ordinary memory: {}",
                    Kiln.pinnedMemoryUnavailableReason());
        }
        return false;
    }

    private static RuntimeException rethrow(ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof DataLoaderException d) {
            // A fresh exception so that the consumer's stack shows too; the worker's is in the cause chain.
            return new DataLoaderException(d.getMessage(), d.getCause(), d.index(), d.batchIndex());
        }
        if (cause instanceof Error err) {
            throw err;
        }
        if (cause instanceof RuntimeException r) {
            return new DataLoaderException("DataLoader: a worker failed: " + r, r, -1, -1);
        }
        return new DataLoaderException("DataLoader: a worker failed: " + cause, cause, -1, -1);
    }

    private static RuntimeException interrupted(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new CancellationException("DataLoader: interrupted while waiting for a batch");
    }

    // ------------------------------------------------------------------ map-style epochs

    private final class MapIterator implements Iterator<B> {
        private final Iterator<long[]> batches;
        private final long epochSeed;
        private final ArrayDeque<Future<Object>> inFlight = new ArrayDeque<>();
        private long nextBatch;
        private boolean failed;

        MapIterator(Iterator<long[]> batches, long epochSeed) {
            this.batches = batches;
            this.epochSeed = epochSeed;
            fill();
        }

        /** Keeps up to numWorkers * prefetchFactor batches loading ahead. */
        private void fill() {
            if (numWorkers == 0) {
                return;
            }
            while (!failed && inFlight.size() < numWorkers * prefetchFactor && batches.hasNext()) {
                long[] indices = batches.next();
                long b = nextBatch++;
                inFlight.add(pool().submit(() -> load(indices, b, epochSeed)));
            }
        }

        @Override
        public boolean hasNext() {
            if (failed) {
                return false;
            }
            return numWorkers == 0 ? batches.hasNext() : !inFlight.isEmpty();
        }

        @Override
        @SuppressWarnings("unchecked")
        public B next() {
            if (!hasNext()) {
                throw new NoSuchElementException("DataLoader: the epoch is over; iterate the loader again for the next one");
            }
            if (numWorkers == 0) {
                try {
                    return (B) load(batches.next(), nextBatch++, epochSeed);
                } catch (RuntimeException e) {
                    failed = true;
                    throw e;
                }
            }
            Future<Object> head = inFlight.poll();
            try {
                Object batch = head.get();
                fill();
                return (B) batch;
            } catch (ExecutionException e) {
                stop();
                throw rethrow(e);
            } catch (InterruptedException e) {
                stop();
                throw interrupted(e);
            }
        }

        private void stop() {
            failed = true;
            for (Future<Object> f : inFlight) {
                f.cancel(false);
            }
            inFlight.clear();
        }
    }

    // ------------------------------------------------------------------ stream epochs

    /** Cuts a stream of items into collated batches. */
    private final class StreamSource {
        private final Iterator<?> items;
        private final long epochSeed;
        private long itemCount;
        private long batchCount;

        StreamSource(Iterator<?> items, long epochSeed) {
            this.items = items;
            this.epochSeed = epochSeed;
        }

        /** The next batch, or null at the end of the stream. */
        @SuppressWarnings("try")
        Object nextBatch() {
            long b = batchCount;
            WorkerContext.enter(epochSeed, b);
            try (var noGrad = Kiln.noGrad()) {
                List<Object> chunk = new ArrayList<>(batchSize);
                while (chunk.size() < batchSize) {
                    boolean more;
                    Object item;
                    try {
                        more = items.hasNext();
                        item = more ? items.next() : null;
                    } catch (RuntimeException e) {
                        throw failure(itemCount, b, e);
                    }
                    if (!more) {
                        break;
                    }
                    chunk.add(item);
                    itemCount++;
                }
                if (chunk.isEmpty() || (dropLast && chunk.size() < batchSize)) {
                    return null;
                }
                batchCount++;
                return pin(collateItems(chunk, b));
            } finally {
                WorkerContext.exit();
            }
        }
    }

    private final class SyncStreamIterator implements Iterator<B> {
        private final StreamSource source;
        private Object next;
        private boolean done;

        SyncStreamIterator(StreamSource source) {
            this.source = source;
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done) {
                try {
                    next = source.nextBatch();
                } catch (RuntimeException e) {
                    done = true;
                    throw e;
                }
                done = next == null;
            }
            return next != null;
        }

        @Override
        @SuppressWarnings("unchecked")
        public B next() {
            if (!hasNext()) {
                throw new NoSuchElementException("DataLoader: the epoch is over; iterate the loader again for the next one");
            }
            Object out = next;
            next = null;
            return (B) out;
        }
    }

    /** What the producer thread hands over: a batch, an error, or the end of the stream. */
    private record Handoff(Object batch, RuntimeException error) {
        static final Handoff END = new Handoff(null, null);
    }

    /** Shared between a stream iterator and its producer; holds no reference to the iterator. */
    private static final class ProducerState {
        final BlockingQueue<Handoff> queue;
        volatile boolean cancelled;

        ProducerState(int capacity) {
            queue = new ArrayBlockingQueue<>(capacity);
        }

        boolean put(Handoff h) throws InterruptedException {
            while (!cancelled) {
                if (queue.offer(h, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * A stream read by one background thread (a stream has one order, so only one can read it),
     * with a bounded queue of batches ahead. If the consumer abandons the iterator the producer
     * notices once it is garbage collected and stops.
     */
    private final class AsyncStreamIterator implements Iterator<B> {
        private final ProducerState state;
        private Handoff next;
        private boolean done;

        AsyncStreamIterator(StreamSource source) {
            ProducerState st = new ProducerState(Math.max(1, numWorkers * prefetchFactor));
            this.state = st;
            CLEANER.register(this, () -> st.cancelled = true);
            pool().submit(() -> {
                try {
                    while (!st.cancelled) {
                        Object batch = source.nextBatch();
                        if (batch == null || !st.put(new Handoff(batch, null))) {
                            break;
                        }
                    }
                    st.put(Handoff.END);
                } catch (RuntimeException e) {
                    st.put(new Handoff(null, e));
                }
                return null;
            });
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done) {
                try {
                    next = state.queue.take();
                } catch (InterruptedException e) {
                    done = true;
                    state.cancelled = true;
                    throw interrupted(e);
                }
                if (next.error() != null) {
                    done = true;
                    state.cancelled = true;
                    RuntimeException e = next.error();
                    next = null;
                    throw rethrow(new ExecutionException(e));
                }
                if (next == Handoff.END) {
                    done = true;
                    next = null;
                }
            }
            return next != null;
        }

        @Override
        @SuppressWarnings("unchecked")
        public B next() {
            if (!hasNext()) {
                throw new NoSuchElementException("DataLoader: the epoch is over; iterate the loader again for the next one");
            }
            Object out = next.batch();
            next = null;
            return (B) out;
        }
    }

    // ------------------------------------------------------------------ builder

    /**
     * Options for a {@link DataLoader}, as the keyword arguments of PyTorch's. Defaults: batch size 1,
     * no shuffling, no workers, prefetch factor 2, the default collate function.
     *
     * @param <T> the item type
     * @param <B> the batch type
     */
    public static final class Builder<T, B> {
        private final Dataset<T> dataset;
        private final IterableDataset<T> stream;
        private int batchSize = 1;
        private boolean batchSizeSet;
        private boolean shuffle;
        private Sampler sampler;
        private BatchSampler batchSampler;
        private boolean dropLast;
        private Function<? super List<T>, ?> collate;
        private int numWorkers;
        private int prefetchFactor = 2;
        private boolean pinMemory;
        private Generator generator;

        private Builder(Dataset<T> dataset, IterableDataset<T> stream) {
            this.dataset = dataset;
            this.stream = stream;
        }

        /** Items per batch (default 1); the last batch of an epoch may be smaller unless {@link #dropLast}. */
        public Builder<T, B> batchSize(int batchSize) {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("DataLoader: batchSize must be positive, got " + batchSize);
            }
            this.batchSize = batchSize;
            this.batchSizeSet = true;
            return this;
        }

        /** Whether to visit the items in a fresh random order each epoch (default false). */
        public Builder<T, B> shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** Leaves out the last, incomplete batch of each epoch (default false). */
        public Builder<T, B> dropLast(boolean dropLast) {
            this.dropLast = dropLast;
            return this;
        }

        /** A custom order of indices; excludes {@link #shuffle}. */
        public Builder<T, B> sampler(Sampler sampler) {
            this.sampler = Objects.requireNonNull(sampler, "sampler");
            return this;
        }

        /** Custom batches of indices; excludes batchSize, shuffle, sampler and dropLast. */
        public Builder<T, B> batchSampler(BatchSampler batchSampler) {
            this.batchSampler = Objects.requireNonNull(batchSampler, "batchSampler");
            return this;
        }

        /**
         * How a list of items becomes a batch (default {@link Collate#defaultCollate}). A custom
         * function always receives individual items, so datasets are then read item by item.
         */
        @SuppressWarnings("unchecked")
        public <C> Builder<T, C> collate(Function<? super List<T>, ? extends C> collate) {
            this.collate = Objects.requireNonNull(collate, "collate");
            return (Builder<T, C>) this;
        }

        /** Background loading threads (default 0: load in the iterating thread). */
        public Builder<T, B> numWorkers(int numWorkers) {
            if (numWorkers < 0) {
                throw new IllegalArgumentException("DataLoader: numWorkers must be >= 0, got " + numWorkers);
            }
            this.numWorkers = numWorkers;
            return this;
        }

        /** Batches loaded ahead per worker (default 2); bounds the memory held by prefetching. */
        public Builder<T, B> prefetchFactor(int prefetchFactor) {
            if (prefetchFactor <= 0) {
                throw new IllegalArgumentException("DataLoader: prefetchFactor must be positive, got " + prefetchFactor);
            }
            this.prefetchFactor = prefetchFactor;
            return this;
        }

        /**
         * Copy each batch's tensors into page-locked host memory (default false), as PyTorch's
         * {@code pin_memory=True}, so that {@code batch.to(cuda)} copies asynchronously. A logged
         * no-op where CUDA is unavailable (see {@link DataLoader#pinMemory()}).
         */
        public Builder<T, B> pinMemory(boolean pinMemory) {
            this.pinMemory = pinMemory;
            return this;
        }

        /**
         * The generator for shuffling and for the per-epoch seed of random transforms (default: Kiln's
         * default generator, read at the start of each epoch).
         */
        public Builder<T, B> generator(Generator generator) {
            this.generator = generator;
            return this;
        }

        /** The loader; checks that the options fit together. */
        public DataLoader<B> build() {
            if (stream != null) {
                if (shuffle || sampler != null || batchSampler != null) {
                    throw new IllegalArgumentException("DataLoader: an IterableDataset has no indices, so it cannot be"
                            + " used with shuffle, a sampler or a batchSampler");
                }
                return new DataLoader<>(this, null);
            }
            BatchSampler batches = batchSampler;
            if (batchSampler != null) {
                if (batchSizeSet || shuffle || sampler != null || dropLast) {
                    throw new IllegalArgumentException("DataLoader: batchSampler is mutually exclusive with batchSize,"
                            + " shuffle, sampler and dropLast");
                }
            } else {
                if (shuffle && sampler != null) {
                    throw new IllegalArgumentException("DataLoader: sampler is mutually exclusive with shuffle");
                }
                Sampler s = sampler != null ? sampler
                        : shuffle ? new RandomSampler(dataset.size(), generator)
                        : new SequentialSampler(dataset.size());
                batches = BatchSampler.of(s, batchSize, dropLast);
            }
            return new DataLoader<>(this, batches);
        }
    }
}
