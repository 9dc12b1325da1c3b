package dev.kiln.kernels;

/** The JNI entry points of libkiln_emu.so (kernels/src/main/native/jni/kiln_emu_jni.cpp). */
final class EmulatorNative {

    /** Array element types of {@link #toDevice}/{@link #toHost}. */
    static final int FLOAT = 0;
    static final int DOUBLE = 1;
    static final int LONG = 2;
    static final int BYTE = 3;
    static final int SHORT = 4;
    static final int INT = 5;

    /** Selectors of {@link #stat}. */
    static final int CAPACITY = 0;
    static final int ALLOCATED = 1;
    static final int PEAK = 2;
    static final int LIVE = 3;
    static final int TOTAL = 4;

    private EmulatorNative() {
    }

    static native long create(long capacityBytes);

    /** Frees the device and every allocation on it; returns how many were still live. */
    static native long destroy(long device);

    static native long malloc(long device, long bytes);

    static native void free(long device, long pointer);

    static native void toDevice(long device, long dst, Object array, int type, int offset, int length);

    static native void toHost(long device, long src, Object array, int type, int offset, int length);

    /** Copies between device memory and a direct buffer's memory at {@code offset}. */
    static native void directToDevice(long device, long dst, java.nio.ByteBuffer src, long offset, long bytes);

    static native void directToHost(long device, long src, java.nio.ByteBuffer dst, long offset, long bytes);

    static native void deviceToDevice(long device, long dst, long src, long bytes);

    static native void memset(long device, long pointer, int value, int elementSize, long count);

    static native void launch(long device, String kernel, int gx, int gy, int gz, int bx, int by, int bz,
                              int sharedBytes, String kinds, byte[] packed);

    static native void sgemm(long device, int transa, int transb, int m, int n, int k, float alpha, long a, int lda,
                             long strideA, long b, int ldb, long strideB, float beta, long c, int ldc, long strideC,
                             int batch);

    static native void dgemm(long device, int transa, int transb, int m, int n, int k, double alpha, long a, int lda,
                             long strideA, long b, int ldb, long strideB, double beta, long c, int ldc, long strideC,
                             int batch);

    static native long stat(long device, int which);

    static native void setCapacity(long device, long bytes);

    static native void resetPeak(long device);

    static native void setSchedule(int schedule, long seed);

    static native int schedule();

    static native long scheduleSeed();

    static native void setWorkers(int workers);

    static native int workers();

    static native long sharedPoisonBytes();

    /** Name and parameter kinds of every registered kernel, alternating. */
    static native String[] kernels();
}
