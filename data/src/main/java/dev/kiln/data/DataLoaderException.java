package dev.kiln.data;

/**
 * A failure while loading a batch, rethrown in the thread that iterates the {@link DataLoader}
 * (also when the batch was loaded by a background worker). The message and {@link #index()} name
 * the failing sample when it is known; {@link #getCause()} is the original exception.
 */
public class DataLoaderException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final long index;
    private final long batchIndex;

    /**
     * @param index      the failing dataset index, or -1
     * @param batchIndex the batch's index within its epoch, or -1
     */
    public DataLoaderException(String message, Throwable cause, long index, long batchIndex) {
        super(message, cause);
        this.index = index;
        this.batchIndex = batchIndex;
    }

    /** The dataset index of the sample that failed, or -1 when the failure was not in one sample. */
    public long index() {
        return index;
    }

    /** The index within the epoch of the batch being loaded. */
    public long batchIndex() {
        return batchIndex;
    }
}
