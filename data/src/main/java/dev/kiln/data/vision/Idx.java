package dev.kiln.data.vision;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the idx files of MNIST-style datasets (LeCun's format: a big-endian magic number whose third
 * byte is the element type, 0x08 for unsigned bytes, and fourth the number of dims, then one
 * big-endian int per dim, then the data), gzipped or not: gzip is recognised by its magic bytes,
 * not by the file name.
 */
final class Idx {

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private Idx() {
    }

    /** The pixels of {@code count} images of {@code rows x cols} bytes, row major. */
    record Images(int count, int rows, int cols, byte[] pixels) {
    }

    static Images readImages(Path file) throws IOException {
        try (InputStream in = open(file)) {
            int[] dims = header(in, file, IMAGES_MAGIC, 3, "an idx3-ubyte image file");
            long bytes = (long) dims[0] * dims[1] * dims[2];
            if (bytes > Integer.MAX_VALUE - 8) {
                throw new IdxFormatException(file, "wrong count: the header declares " + dims[0] + " images of " + dims[1]
                        + "x" + dims[2] + ", more than fits in one array");
            }
            byte[] pixels = body(in, file, (int) bytes, dims[0] + " images of " + dims[1] + "x" + dims[2]);
            return new Images(dims[0], dims[1], dims[2], pixels);
        }
    }

    static byte[] readLabels(Path file) throws IOException {
        try (InputStream in = open(file)) {
            int[] dims = header(in, file, LABELS_MAGIC, 1, "an idx1-ubyte label file");
            return body(in, file, dims[0], dims[0] + " labels");
        }
    }

    private static InputStream open(Path file) throws IOException {
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new GZIPInputStream(in, 1 << 16);
            } catch (ZipException | EOFException e) {
                in.close();
                throw new IdxFormatException(file, "corrupt gzip header: " + e.getMessage(), e);
            }
        }
        return in;
    }

    private static int[] header(InputStream in, Path file, int magic, int rank, String what) throws IOException {
        int size = 4 + 4 * rank;
        byte[] m = read(in, file, 4, "header");
        if (m.length == 4) {
            int found = readInt(m, 0);
            if (found != magic) {
                String hint = found == IMAGES_MAGIC ? " (this is an image file)"
                        : found == LABELS_MAGIC ? " (this is a label file)" : "";
                throw new IdxFormatException(file, String.format("bad magic number 0x%08x, expected 0x%08x (%d) for %s%s",
                        found, magic, magic, what, hint));
            }
        }
        byte[] rest = read(in, file, size - 4, "header");
        if (m.length + rest.length < size) {
            throw new IdxFormatException(file, "truncated: " + (m.length + rest.length) + " bytes, shorter than the "
                    + size + "-byte header of " + what);
        }
        byte[] h = new byte[size];
        System.arraycopy(m, 0, h, 0, 4);
        System.arraycopy(rest, 0, h, 4, rest.length);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = readInt(h, 4 + 4 * i);
            if (dims[i] < 0 || (i > 0 && dims[i] == 0)) {
                throw new IdxFormatException(file, "wrong count: dim " + i + " of the header is " + dims[i]);
            }
        }
        return dims;
    }

    /** Exactly {@code n} bytes of data, and nothing after them. */
    private static byte[] body(InputStream in, Path file, int n, String declared) throws IOException {
        byte[] data = read(in, file, n, "data");
        if (data.length < n) {
            throw new IdxFormatException(file, "size mismatch: truncated; the header declares " + declared + " ("
                    + n + " bytes of data) but the file holds only " + data.length);
        }
        long extra = 0;
        try {
            byte[] buf = new byte[8192];
            for (int k; (k = in.read(buf)) > 0; ) {
                extra += k;
            }
        } catch (ZipException | EOFException e) {
            throw new IdxFormatException(file, "corrupt gzip data after the declared " + n + " bytes: " + e.getMessage(), e);
        }
        if (extra > 0) {
            throw new IdxFormatException(file, "size mismatch: the header declares " + declared + " (" + n
                    + " bytes of data) but the file holds " + extra + " bytes more");
        }
        return data;
    }

    private static byte[] read(InputStream in, Path file, int n, String part) throws IOException {
        try {
            return in.readNBytes(n);
        } catch (EOFException e) {
            throw new IdxFormatException(file, "truncated gzip stream while reading the " + part + ": " + e.getMessage(), e);
        } catch (ZipException e) {
            throw new IdxFormatException(file, "corrupt gzip data while reading the " + part + ": " + e.getMessage(), e);
        }
    }

    private static int readInt(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }
}
