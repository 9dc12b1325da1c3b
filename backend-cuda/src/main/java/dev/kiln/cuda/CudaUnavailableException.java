package dev.kiln.cuda;

/** Why CUDA cannot be used on this machine: thrown by a driver's probe, turned into an availability reason. */
final class CudaUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    CudaUnavailableException(String reason) {
        super(reason);
    }
}
