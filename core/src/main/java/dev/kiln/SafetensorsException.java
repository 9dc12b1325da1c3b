package dev.kiln;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or byte array) that Kiln refuses to read. It is the one exception that
 * loading throws for bad content: a truncated file, a header that is not JSON, an unknown dtype,
 * offsets out of range, overlapping or leaving gaps, a shape whose byte size does not match its
 * offsets, an absurd size. The message names the file, the tensor (when one is at fault) and the
 * problem, for example
 * {@code model.safetensors: tensor "fc1.weight": shape [5] of F32 needs 20 bytes but data_offsets [0, 16] hold 16}.
 *
 * <p>Loading validates the whole header before it allocates anything for tensor data, so a bad
 * file costs no more memory than its header. Plain I/O failures (a missing file, a full disk)
 * stay ordinary {@link IOException}s.
 */
public class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    /** Longest tensor name quoted in a message: a hostile header may carry megabyte-long names. */
    private static final int MAX_QUOTED = 200;

    private final String source;
    private final String tensor;
    private final String problem;

    /**
     * @param file    the file at fault
     * @param tensor  the tensor at fault, or null when the problem is not one tensor's
     * @param problem what is wrong, as a phrase
     */
    public SafetensorsException(Path file, String tensor, String problem) {
        this(String.valueOf(file), tensor, problem);
    }

    /**
     * @param source  what was read: a file name, or a description such as {@code "<bytes>"}
     * @param tensor  the tensor at fault, or null when the problem is not one tensor's
     * @param problem what is wrong, as a phrase
     */
    public SafetensorsException(String source, String tensor, String problem) {
        super(source + (tensor == null ? "" : ": tensor \"" + abbreviate(tensor) + "\"") + ": " + problem);
        this.source = source;
        this.tensor = tensor;
        this.problem = problem;
    }

    /** The file (or in-memory source) that was being read. */
    public String source() {
        return source;
    }

    /** The tensor at fault, or null when the problem is the file's (header length, JSON, total size). */
    public String tensor() {
        return tensor;
    }

    /** The problem alone, without the file and tensor. */
    public String problem() {
        return problem;
    }

    /** Quotes at most {@value #MAX_QUOTED} characters of a name. */
    static String abbreviate(String s) {
        return s.length() <= MAX_QUOTED ? s : s.substring(0, MAX_QUOTED) + "...(" + s.length() + " characters)";
    }
}
