package dev.kiln.data.vision;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A dataset file that cannot be read as what it should be: a bad magic number, a wrong count, a
 * size that does not match its header, corrupt compression. The message names the file and the
 * problem.
 */
public class IdxFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /** A problem with {@code file}, described in a few words. */
    public IdxFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /** A problem with {@code file} that {@code cause} revealed. */
    public IdxFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
