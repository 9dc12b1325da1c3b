package dev.kiln.benchmarks;

import dev.kiln.backend.cpu.Gemm;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Square float32 matrix multiply, {@code C = A @ B}, through {@link Gemm#sgemm}.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar SgemmBenchmark} (add
 * {@code -p size=1024 -p threads=2} to pick one case). The {@code gflops} line of each case is
 * the speed in GFLOP/s, counted as {@code 2*size^3} floating-point operations per call. The
 * primary score is calls per second; GFLOP/s = score * 2 * size^3 / 1e9.
 *
 * <p>{@code threads} is the size of the pool handed to the kernel (1 = no pool, the calling
 * thread only); the target is {@code size=1024, threads=2}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class SgemmBenchmark {

    @Param({"256", "512", "1024", "2048"})
    public int size;

    @Param({"2"})
    public int threads;

    private float[] a;
    private float[] b;
    private float[] c;
    private ForkJoinPool pool;

    /** Reports floating-point operations next to the call rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        /** Giga floating-point operations done; JMH reports it per second, i.e. GFLOP/s. */
        public double gflops;

        @Setup(Level.Iteration)
        public void reset() {
            gflops = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        Random rnd = new Random(42);
        a = new float[size * size];
        b = new float[size * size];
        c = new float[size * size];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() - 0.5f;
            b[i] = rnd.nextFloat() - 0.5f;
        }
        pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    @Benchmark
    public float[] sgemm(Flops flops) {
        Gemm.sgemm(size, size, size, a, 0, size, 1, b, 0, size, 1, c, 0, size, false, pool);
        flops.gflops += 2.0 * size * size * size / 1e9;
        return c;
    }
}
