package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.spi.Storage;

/**
 * A CPU storage: one Java array ({@code float[]}, {@code double[]}, {@code long[]},
 * {@code boolean[]}, or {@code short[]} bits for float16/bfloat16). The GC frees it, or
 * {@link #free()} hands a large float32 array to {@link BufferPool} for reuse.
 */
final class CpuStorage implements Storage {

    private final DType dtype;
    private Object data;
    private final int numel;

    CpuStorage(DType dtype, Object data, int numel) {
        this.dtype = dtype;
        this.data = data;
        this.numel = numel;
    }

    static CpuStorage allocate(DType dtype, long numel) {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("cpu: cannot allocate " + numel + " elements of " + dtype
                    + "; a CPU tensor holds at most " + (Integer.MAX_VALUE - 8) + " elements");
        }
        int n = (int) numel;
        Object data = switch (dtype) {
            case FLOAT32 -> BufferPool.floats(n);
            case FLOAT64 -> new double[n];
            case INT64 -> new long[n];
            case BOOL -> new boolean[n];
            case FLOAT16, BFLOAT16 -> new short[n];
        };
        return new CpuStorage(dtype, data, n);
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long numel() {
        return numel;
    }

    @Override
    public Device device() {
        return Device.cpu();
    }

    /** Drops the array; a large float32 one goes back to {@link BufferPool} for the next allocation of its size. */
    @Override
    public void free() {
        if (data instanceof float[] f && f.length == numel) {
            BufferPool.recycle(f);
        }
        data = null;
    }

    Object data() {
        return data;
    }

    float[] floats() {
        return (float[]) data;
    }

    double[] doubles() {
        return (double[]) data;
    }

    long[] longs() {
        return (long[]) data;
    }

    boolean[] bools() {
        return (boolean[]) data;
    }

    short[] shorts() {
        return (short[]) data;
    }
}
