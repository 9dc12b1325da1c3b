package dev.kiln.backend.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.concurrent.ForkJoinPool;

/**
 * Tests that pass their own pool: three workers, so splits that do not divide evenly are
 * exercised too, started before the class and shut down after it.
 */
abstract class ThreeWorkerPool {

    static ForkJoinPool pool;

    @BeforeAll
    static void startPool() {
        pool = new ForkJoinPool(3);
    }

    @AfterAll
    static void stopPool() {
        pool.shutdown();
    }
}
