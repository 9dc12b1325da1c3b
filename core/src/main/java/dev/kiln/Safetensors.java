package dev.kiln;

import dev.kiln.spi.Backend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * giving each tensor's {@code dtype}, {@code shape} and {@code data_offsets} (plus optional string
 * {@code __metadata__}), then the raw little-endian data. Files written by PyTorch's
 * {@code safetensors} load here and the other way round.
 *
 * <p>Writes are atomic (temporary file in the same folder, fsync, rename). Reads validate the header
 * completely before allocating, and map the file instead of reading it into a buffer.
 */
public final class Safetensors {

    /** Headers larger than this are rejected, as the reference implementation does. */
    static final long MAX_HEADER = 100L * 1024 * 1024;
    private static final String METADATA = "__metadata__";

    private Safetensors() {
    }

    /** The contents of a file: tensors in header order and the metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /** Writes {@code tensors} (in iteration order) with no metadata. */
    public static void save(Map<String, Tensor> tensors, Path file) throws IOException {
        save(tensors, Map.of(), file);
    }

    /** Writes {@code tensors} and string {@code metadata} to {@code file}, atomically. */
    public static void save(Map<String, Tensor> tensors, Map<String, String> metadata, Path file) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put(METADATA, new LinkedHashMap<>(metadata));
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("safetensors: \"" + METADATA + "\" is reserved and cannot name a tensor");
            }
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().safetensorsName());
            entry.put("shape", t.shape());
            entry.put("data_offsets", List.of(offset, offset + bytes));
            header.put(e.getKey(), entry);
            offset += bytes;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(padded).put(json);
                while (head.hasRemaining()) {
                    head.put((byte) ' ');
                }
                head.flip();
                writeFully(ch, head);
                for (Tensor t : tensors.values()) {
                    writeTensor(ch, t);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeTensor(FileChannel ch, Tensor t) throws IOException {
        long bytes = t.numel() * t.dtype().byteSize();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IOException("safetensors: tensor of " + bytes + " bytes is too large to write in one piece");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        t.backend().toHostBytes(t.storage(), t.layout(), buf);
        buf.flip();
        writeFully(ch, buf);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform can fsync a directory; the rename itself is still atomic.
        }
    }

    /** Loads every tensor onto the CPU. */
    public static Map<String, Tensor> load(Path file) throws IOException {
        return read(file, Device.cpu()).tensors();
    }

    /** Loads every tensor onto {@code device}. */
    public static Map<String, Tensor> load(Path file, Device device) throws IOException {
        return read(file, device).tensors();
    }

    /** Loads tensors and metadata onto {@code device}. */
    public static Contents read(Path file, Device device) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(file, ch);
            Backend backend = Backends.get(device);
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Entry e : h.entries) {
                long length = e.end - e.begin;
                ByteBuffer data = length == 0 ? ByteBuffer.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart + e.begin, length);
                data.order(ByteOrder.LITTLE_ENDIAN);
                out.put(e.name, Tensor.wrap(backend.fromHostBytes(data, e.dtype, Shapes.numel(e.shape)), e.shape));
            }
            return new Contents(out, h.metadata);
        }
    }

    /** The metadata of a file, without loading tensors. */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch).metadata;
        }
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    }

    private record Header(List<Entry> entries, Map<String, String> metadata, long dataStart) {
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafetensorsException(file, null, "file is " + size + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long n = lenBuf.flip().getLong();
        if (n < 2 || n > MAX_HEADER || n > size - 8) {
            throw new SafetensorsException(file, null, "header length " + Long.toUnsignedString(n)
                    + " is invalid for a file of " + size + " bytes");
        }
        ByteBuffer headBuf = ByteBuffer.allocate((int) n);
        readFully(ch, headBuf, 8);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(headBuf.flip()).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new SafetensorsException(file, null, "header is not valid UTF-8");
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file, null, "header is not valid JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> map)) {
            throw new SafetensorsException(file, null, "header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> me : map.entrySet()) {
            String name = (String) me.getKey();
            if (name.equals(METADATA)) {
                if (!(me.getValue() instanceof Map<?, ?> md)) {
                    throw new SafetensorsException(file, null, "__metadata__ is not an object");
                }
                for (Map.Entry<?, ?> m : md.entrySet()) {
                    if (!(m.getValue() instanceof String s)) {
                        throw new SafetensorsException(file, null, "__metadata__ value of \"" + m.getKey() + "\" is not a string");
                    }
                    metadata.put((String) m.getKey(), s);
                }
                continue;
            }
            entries.add(entry(file, name, me.getValue()));
        }
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : byOffset) {
            if (e.begin != expected) {
                throw new SafetensorsException(file, e.name, "data_offsets [" + e.begin + ", " + e.end + "] "
                        + (e.begin < expected ? "overlap the previous tensor" : "leave a gap after byte " + expected));
            }
            expected = e.end;
        }
        if (expected != dataSize) {
            throw new SafetensorsException(file, null, "tensors cover " + expected + " bytes but the data section has "
                    + dataSize + " bytes");
        }
        return new Header(entries, metadata, dataStart);
    }

    private static Entry entry(Path file, String name, Object value) throws SafetensorsException {
        if (!(value instanceof Map<?, ?> m)) {
            throw new SafetensorsException(file, name, "entry is not an object");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw new SafetensorsException(file, name, "missing or non-string \"dtype\"");
        }
        DType dtype = DType.fromSafetensorsName(dt);
        if (dtype == null) {
            throw new SafetensorsException(file, name, "unsupported dtype \"" + dt + "\"");
        }
        long[] shape = longs(file, name, "shape", m.get("shape"), -1);
        long[] offsets = longs(file, name, "data_offsets", m.get("data_offsets"), 2);
        if (offsets[1] < offsets[0]) {
            throw new SafetensorsException(file, name, "data_offsets [" + offsets[0] + ", " + offsets[1] + "] end before they begin");
        }
        long numel = 1;
        for (long s : shape) {
            numel = Math.multiplyHigh(numel, s) != 0 ? -1 : numel * s;
            if (numel < 0) {
                throw new SafetensorsException(file, name, "shape " + Shapes.str(shape) + " is too large");
            }
        }
        long bytes = numel * dtype.byteSize();
        if (bytes / dtype.byteSize() != numel || bytes != offsets[1] - offsets[0]) {
            throw new SafetensorsException(file, name, "shape " + Shapes.str(shape) + " of " + dtype.safetensorsName()
                    + " needs " + bytes + " bytes but data_offsets [" + offsets[0] + ", " + offsets[1] + "] hold "
                    + (offsets[1] - offsets[0]));
        }
        if (numel > Integer.MAX_VALUE - 8 || bytes > Integer.MAX_VALUE) {
            throw new SafetensorsException(file, name, "tensor of " + numel + " elements is larger than Kiln can map in one piece");
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(Path file, String name, String key, Object v, int length) throws SafetensorsException {
        if (!(v instanceof List<?> l) || (length >= 0 && l.size() != length) || l.size() > 64) {
            throw new SafetensorsException(file, name, "\"" + key + "\" must be a list"
                    + (length >= 0 ? " of " + length + " integers" : " of at most 64 integers"));
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Long x) || x < 0) {
                throw new SafetensorsException(file, name, "\"" + key + "\" holds " + l.get(i) + ", not a non-negative integer");
            }
            out[i] = x;
        }
        return out;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, p);
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
            p += r;
        }
    }
}
