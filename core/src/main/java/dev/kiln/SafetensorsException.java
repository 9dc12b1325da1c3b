package dev.kiln;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that Kiln refuses to read: the message names the file, the tensor (when one
 * is at fault) and what is wrong. Loading validates the whole header before it allocates anything.
 */
public class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    public SafetensorsException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ": tensor \"" + tensor + "\"") + ": " + problem);
    }
}
