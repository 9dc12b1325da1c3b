package dev.kiln.cuda;

/** A failure reported by the CUDA driver, cuBLAS or the kernels, with the call that failed. */
public class CudaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
