package dev.kiln.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The CPU backend's one shared thread pool, sized to the cores, a parallel range loop that stays
 * on the calling thread for small work (task overhead would dominate), and {@link #run} for a
 * list of independent parts.
 */
final class Parallel {

    static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    static final ForkJoinPool POOL = new ForkJoinPool(THREADS);
    /** Elements of simple elementwise work worth one task. */
    static final long GRAIN = 32 * 1024;

    private Parallel() {
    }

    /** A loop body over {@code [start, end)}. */
    @FunctionalInterface
    interface Range {
        void run(long start, long end);
    }

    /**
     * Runs {@code body} over {@code [0, n)} in chunks; {@code costPerItem} (in elements) decides
     * whether splitting pays.
     */
    static void forRange(long n, long costPerItem, Range body) {
        long work = n * Math.max(1, costPerItem);
        if (THREADS == 1 || n < 2 || work < 2 * GRAIN) {
            body.run(0, n);
            return;
        }
        int chunks = (int) Math.min(n, Math.min(THREADS * 4L, work / GRAIN));
        List<Runnable> parts = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            long s = n * c / chunks;
            long e = n * (c + 1) / chunks;
            parts.add(() -> body.run(s, e));
        }
        run(POOL, parts);
    }

    /**
     * Runs independent parts on {@code pool} and returns when all are done, rethrowing the first
     * failure. On one of the pool's own workers the parts are forked into it. From any other
     * thread the caller works too: it takes parts from a shared counter while helpers submitted to
     * the pool take the rest as they wake, and a helper that has not started when the parts run out
     * is skipped rather than waited for. Against handing everything to the pool and blocking, this
     * saves a worker wake-up per call and keeps the calling thread's core busy, which counts for the
     * sub-millisecond operations of a small model's training step.
     */
    static void run(ForkJoinPool pool, List<? extends Runnable> parts) {
        int n = parts.size();
        if (n <= 1 || pool.getParallelism() < 2) {
            parts.forEach(Runnable::run);
            return;
        }
        if (ForkJoinTask.getPool() == pool) {
            List<ForkJoinTask<?>> tasks = new ArrayList<>(n);
            for (Runnable p : parts) {
                tasks.add(ForkJoinTask.adapt(p));
            }
            ForkJoinTask.invokeAll(tasks);
            return;
        }
        new Shared(parts).runWith(pool, Math.min(n - 1, pool.getParallelism() - 1));
    }

    /** The state of one {@link #run} from outside the pool. */
    private static final class Shared {
        private static final int PENDING = 0;
        private static final int RUNNING = 1;
        private static final int SKIPPED = 2;

        private final List<? extends Runnable> parts;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger busyHelpers = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Shared(List<? extends Runnable> parts) {
            this.parts = parts;
        }

        void runWith(ForkJoinPool pool, int helpers) {
            AtomicInteger[] states = new AtomicInteger[helpers];
            Thread caller = Thread.currentThread();
            busyHelpers.set(helpers);
            for (int h = 0; h < helpers; h++) {
                AtomicInteger state = new AtomicInteger(PENDING);
                states[h] = state;
                try {
                    pool.execute(() -> {
                        if (state.compareAndSet(PENDING, RUNNING)) {
                            try {
                                drain();
                            } finally {
                                if (busyHelpers.decrementAndGet() == 0) {
                                    LockSupport.unpark(caller);
                                }
                            }
                        }
                    });
                } catch (RejectedExecutionException e) {
                    state.set(SKIPPED); // a pool shutting down: the caller does the parts alone
                    busyHelpers.decrementAndGet();
                }
            }
            drain();
            for (int h = 0; h < helpers; h++) {
                if (states[h].compareAndSet(PENDING, SKIPPED)) {
                    busyHelpers.decrementAndGet();
                }
            }
            // The helpers still busy are each finishing one part: spin briefly, then sleep until the
            // last one wakes this thread.
            for (int spins = 0; busyHelpers.get() > 0; spins++) {
                if (spins < 1 << 10) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new IllegalStateException(t);
            }
        }

        private void drain() {
            for (int i; (i = next.getAndIncrement()) < parts.size(); ) {
                try {
                    parts.get(i).run();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }
        }
    }
}
