package dev.kiln.backend.cpu;

import java.util.concurrent.ForkJoinPool;

/**
 * Float32 kernels with an explicit-SIMD implementation on the Vector API
 * ({@code jdk.incubator.vector}), in {@code src/main/vector} (compiled with
 * {@code --add-modules jdk.incubator.vector}, still for Java 17). The JVM resolves that module
 * only when asked ({@code java --add-modules jdk.incubator.vector ...}); without it, or with
 * {@code -Dkiln.simd=false}, {@link #INSTANCE} is null and callers use their scalar loops.
 */
interface FloatKernels {

    /** The Vector API kernels when they can run here, else null. */
    FloatKernels INSTANCE = Loader.load();

    /** {@link Gemm#sgemm}'s contract for one product (any strides; C row-major). */
    void sgemm(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride, float[] b, int bOff,
               int bRowStride, int bColStride, float[] c, int cOff, int ldc, boolean accumulate, ForkJoinPool pool);

    /** The m x k left operand A packed as {@link #sgemmPacked} reads it. */
    float[] packLeft(int m, int k, float[] a, int aOff, int aRowStride, int aColStride);

    /** {@link #sgemm} on the calling thread with A from {@link #packLeft}. */
    void sgemmPacked(int m, int n, int k, float[] packedA, float[] b, int bOff, int bRowStride, int bColStride, float[] c,
                     int cOff, int ldc, boolean accumulate);

    /** {@code t[j] += s * r[j]} for {@code j < n} (fused multiply-adds). */
    void axpy(float[] t, float[] r, float s, int n);

    /** {@code t[j] = s * r[j]} for {@code j < n}. */
    void scale(float[] t, float[] r, float s, int n);

    /** The dot product of the first n elements. */
    float dot(float[] x, float[] y, int n);

    /** Loads the Vector API implementation reflectively, so this class links without the module. */
    final class Loader {
        private Loader() {
        }

        static FloatKernels load() {
            if ("false".equalsIgnoreCase(System.getProperty("kiln.simd", "true"))) {
                return null;
            }
            try {
                Class<?> c = Class.forName("dev.kiln.backend.cpu.VectorFloatKernels");
                FloatKernels k = (FloatKernels) c.getDeclaredConstructor().newInstance();
                return k.dot(new float[] {1, 2, 3}, new float[] {4, 5, 6}, 3) == 32f ? k : null;
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                // No jdk.incubator.vector in this JVM's module graph (or no usable vector unit).
                return null;
            }
        }
    }
}
