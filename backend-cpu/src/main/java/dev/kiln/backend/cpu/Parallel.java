package dev.kiln.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's one shared thread pool, sized to the cores, and a parallel range loop that
 * stays on the calling thread for small work (task overhead would dominate).
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
        List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            long s = n * c / chunks;
            long e = n * (c + 1) / chunks;
            tasks.add(new RecursiveAction() {
                @Override
                protected void compute() {
                    body.run(s, e);
                }
            });
        }
        if (ForkJoinTask.inForkJoinPool()) {
            ForkJoinTask.invokeAll(tasks);
        } else {
            POOL.submit(() -> ForkJoinTask.invokeAll(tasks)).join();
        }
    }
}
