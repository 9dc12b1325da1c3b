package dev.kiln.kernels;

/**
 * A failed call on the {@link EmulatedDevice}. {@link #code()} is the CUDA driver API's status for
 * the same condition (2 out of memory, 700 illegal address, 719 a kernel that failed, ...), or
 * for GEMM calls ({@link #isBlasError()}) the cuBLAS status (7 invalid value, ...).
 */
public class EmulatorException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** CUDA_ERROR_INVALID_VALUE */
    public static final int INVALID_VALUE = 1;
    /** CUDA_ERROR_OUT_OF_MEMORY */
    public static final int OUT_OF_MEMORY = 2;
    /** CUDA_ERROR_NOT_FOUND */
    public static final int NOT_FOUND = 500;
    /** CUDA_ERROR_ILLEGAL_ADDRESS */
    public static final int ILLEGAL_ADDRESS = 700;
    /** CUDA_ERROR_LAUNCH_FAILED */
    public static final int LAUNCH_FAILED = 719;
    /** CUBLAS_STATUS_INVALID_VALUE */
    public static final int BLAS_INVALID_VALUE = 7;

    private final int code;
    private final boolean blas;

    public EmulatorException(int code, boolean blas, String message) {
        super(message);
        this.code = code;
        this.blas = blas;
    }

    public int code() {
        return code;
    }

    /** True when {@link #code()} is a cuBLAS status rather than a driver status. */
    public boolean isBlasError() {
        return blas;
    }

    public boolean isOutOfMemory() {
        return !blas && code == OUT_OF_MEMORY;
    }
}
