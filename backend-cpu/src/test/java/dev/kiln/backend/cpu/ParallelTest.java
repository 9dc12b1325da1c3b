package dev.kiln.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Parallel#run}: every part once, from outside the pool and inside it, failures after all parts. */
class ParallelTest extends ThreeWorkerPool {

    private static List<Runnable> counting(AtomicIntegerArray runs, Runnable extra) {
        List<Runnable> parts = new ArrayList<>();
        for (int i = 0; i < runs.length(); i++) {
            int at = i;
            parts.add(() -> {
                extra.run();
                runs.incrementAndGet(at);
            });
        }
        return parts;
    }

    private static void assertOnce(AtomicIntegerArray runs) {
        for (int i = 0; i < runs.length(); i++) {
            assertEquals(1, runs.get(i), "part " + i);
        }
    }

    @Test
    void runsEveryPartOnceFromOutsideThePool() {
        for (int n : new int[] {1, 2, 3, 7, 100}) {
            for (int round = 0; round < 50; round++) {
                AtomicIntegerArray runs = new AtomicIntegerArray(n);
                Parallel.run(pool, counting(runs, () -> { }));
                assertOnce(runs);
            }
        }
    }

    @Test
    void runsEveryPartOnceFromInsideThePoolAndNested() {
        AtomicIntegerArray outer = new AtomicIntegerArray(6);
        AtomicIntegerArray inner = new AtomicIntegerArray(6 * 5);
        List<Runnable> parts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int at = i;
            parts.add(() -> {
                List<Runnable> nested = new ArrayList<>();
                for (int j = 0; j < 5; j++) {
                    int q = at * 5 + j;
                    nested.add(() -> inner.incrementAndGet(q));
                }
                Parallel.run(pool, nested);
                outer.incrementAndGet(at);
            });
        }
        pool.invoke(java.util.concurrent.ForkJoinTask.adapt(() -> Parallel.run(pool, parts)));
        assertOnce(outer);
        assertOnce(inner);
    }

    @Test
    void rethrowsTheFailureOnlyAfterEveryOtherPartHasFinished() {
        AtomicIntegerArray runs = new AtomicIntegerArray(40);
        IllegalStateException boom = new IllegalStateException("boom");
        List<Runnable> parts = counting(runs, () -> sleepBriefly());
        parts.set(3, () -> {
            throw boom;
        });
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.run(pool, parts));
        assertSame(boom, thrown);
        for (int i = 0; i < runs.length(); i++) {
            assertEquals(i == 3 ? 0 : 1, runs.get(i), "part " + i);
        }
    }

    @Test
    void aPoolThatRefusesWorkLeavesEveryPartToTheCaller() {
        ForkJoinPool closed = new ForkJoinPool(2);
        closed.shutdown();
        AtomicIntegerArray runs = new AtomicIntegerArray(9);
        Parallel.run(closed, counting(runs, () -> { }));
        assertOnce(runs);
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
