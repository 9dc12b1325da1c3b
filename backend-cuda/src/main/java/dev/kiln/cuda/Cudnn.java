package dev.kiln.cuda;

import dev.kiln.spi.ConvGeometry;

/**
 * The cuDNN calls the backend makes, on device addresses: the three passes of a 2-D convolution.
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

    /** cuDNN as a driver found it: the library, or null and why not. */
    record Status(Cudnn library, String reason) {
        static Status absent(String reason) {
            return new Status(null, reason);
        }

        /** For the doctor: {@code "loaded, version 8.9.7; ..."} or {@code "not available: ..."}. */
        String describe() {
            return library != null
                    ? "loaded, version " + library.version() + "; convolution uses cuDNN, pooling Kiln's kernels"
                    : "not available: " + reason + "; convolution and pooling use Kiln's kernels (im2col + cuBLAS)";
        }
    }
}
