package dev.kiln.cuda;

import dev.kiln.spi.ConvGeometry;

/**
 * The cuDNN calls the backend makes, on device addresses: the three passes of a 2-D convolution
 * and spatial batch normalization (forward in training and inference mode, backward).
 * {@link JCudnnLibrary} implements it over JCudnn; a {@link CudaDriver} hands it out through
 * {@link CudaDriver#cudnn()} when cuDNN loaded, so the rest of the backend never touches JCudnn.
 */
interface Cudnn {

    /** {@code "8.9.7"}. */
    String version();

    /** Which pass: which operand is written. */
    enum Pass {
        /** {@code y = conv(x, w)}. */
        FORWARD,
        /** {@code x = dconv/dx (y, w)}, y holding the output's gradient. */
        BACKWARD_DATA,
        /** {@code w = dconv/dw (x, y)}, y holding the output's gradient. */
        BACKWARD_FILTER
    }

    /** Device memory for an algorithm's scratch space, freed by the caller after the call. */
    interface Workspace {
        /** The address of at least {@code bytes} bytes of device memory (any address when 0). */
        long allocate(long bytes);
    }

    /**
     * Runs one pass over dense NCHW operands: {@code x} {@code [n, c, h, w]}, {@code w}
     * {@code [o, c / groups, kh, kw]} and {@code y} {@code [n, o, outH, outW]}, float32 or float64
     * ({@code doublePrecision}). Picks a deterministic algorithm that uses no tensor-core (TF32)
     * math, so results match Kiln's other paths within float rounding.
     *
     * @return false when cuDNN offers no such algorithm for this problem (the caller then uses Kiln's own path)
     * @throws CudaException when a cuDNN call fails
     */
    boolean convolution(int device, Pass pass, boolean doublePrecision, long x, long w, long y, int n, int c, int o,
                        ConvGeometry g, int groups, Workspace workspace);

    /**
     * A spatial batch normalization over dense operands {@code [n, c, spatial]} (seen by cuDNN as
     * NCHW with {@code h = spatial, w = 1}), float32 or float64 ({@code doublePrecision}); the
     * per-channel operands are dense {@code [c]} of the same dtype.
     */
    record BatchNorm(int n, int c, int spatial, boolean doublePrecision, double eps) {
    }

    /**
     * {@code y} from {@code x} with batch statistics, written to {@code saveMean} and
     * {@code saveInvstd}; the running statistics (0 when absent) updated with factor
     * {@code momentum} and the unbiased variance.
     *
     * @throws CudaException when a cuDNN call fails
     */
    void batchNormTraining(int device, BatchNorm p, long x, long y, long scale, long bias, double momentum, long runningMean,
                           long runningVar, long saveMean, long saveInvstd);

    /** {@code y} from {@code x} with the given statistics. @throws CudaException when a cuDNN call fails */
    void batchNormInference(int device, BatchNorm p, long x, long y, long scale, long bias, long mean, long var);

    /**
     * {@code dx}, {@code dScale} and {@code dBias} (all written) from {@code dy}, {@code x} and the
     * saved statistics of {@link #batchNormTraining}.
     *
     * @throws CudaException when a cuDNN call fails
     */
    void batchNormBackward(int device, BatchNorm p, long x, long dy, long dx, long scale, long dScale, long dBias, long saveMean,
                           long saveInvstd);

    /** cuDNN as a driver found it: the library, or null and why not. */
    record Status(Cudnn library, String reason) {
        static Status absent(String reason) {
            return new Status(null, reason);
        }

        /** For the doctor: {@code "loaded, version 8.9.7; ..."} or {@code "not available: ..."}. */
        String describe() {
            return library != null
                    ? "loaded, version " + library.version() + "; convolution and batch norm use cuDNN, pooling Kiln's kernels"
                    : "not available: " + reason + "; convolution, batch norm and pooling use Kiln's kernels (im2col + cuBLAS)";
        }
    }
}
