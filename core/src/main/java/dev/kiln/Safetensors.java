package dev.kiln;

import dev.kiln.spi.Backend;
import dev.kiln.spi.Storage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length {@code N}, {@code N}
 * bytes of UTF-8 JSON giving each tensor's {@code dtype}, {@code shape} and {@code data_offsets}
 * (plus an optional {@code __metadata__} object of strings), then the raw little-endian,
 * row-major data. Files written by PyTorch's {@code safetensors} load here and the other way round.
 *
 * <p><b>Writing</b> saves each tensor's values in row-major order, whatever its strides: a view or
 * a transposed tensor is saved as the tensor it shows, never as its storage. Data is streamed in
 * chunks of a few MiB, so saving needs no second copy of a large tensor. Writes are atomic: a
 * temporary file in the target's folder, flushed and fsynced, then renamed over the target, so a
 * crash at any moment leaves either the complete old file or the complete new one.
 *
 * <p><b>Reading</b> validates the whole header before allocating anything for data: the header
 * length lies within the file, the header is well-formed JSON, every dtype is known, every
 * shape's byte size equals its offsets, and the offsets lie within the data section, cover it
 * exactly, without gaps or overlaps. Any violation throws {@link SafetensorsException} naming the
 * file, the tensor and the problem. The data is then memory-mapped, not read into a buffer: each
 * tensor is copied once, from the page cache into the backend's storage ({@link Backend#fromHostBytes}).
 * {@link #open(Path)} reads the header only and loads tensors one at a time, for files larger than
 * memory.
 *
 * <p><b>Dtypes</b>: Kiln's six ({@code F32}, {@code F64}, {@code F16}, {@code BF16}, {@code I64},
 * {@code BOOL}) load as themselves. The other integer types ({@code I8}, {@code I16}, {@code I32},
 * {@code U8}, {@code U16}, {@code U32}) load widened to int64, which is exact; {@code U64} and the
 * 8-bit float types are refused. One tensor may hold at most 2 GiB of data, the most a Java buffer
 * can address.
 */
public final class Safetensors {

    private static final Logger LOG = LoggerFactory.getLogger(Safetensors.class);

    /** Headers larger than this are rejected, as the reference implementation does. */
    static final long MAX_HEADER = 100L * 1024 * 1024;
    /** The header key that holds string metadata. */
    public static final String METADATA = "__metadata__";
    /** The most dimensions a tensor in a file may have. */
    static final int MAX_RANK = 64;
    /** Bytes staged per write: bounds the memory that saving needs beyond the tensors themselves. */
    private static final int CHUNK = 4 << 20;
    /** The largest tensor data one Java buffer can address. */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    private Safetensors() {
    }

    /** The contents of a file: tensors in header order and the metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /**
     * What a header says of one tensor.
     *
     * @param name      the tensor's key
     * @param fileDtype the dtype as the file names it ({@code "F32"}, {@code "I32"}, ...)
     * @param dtype     the Kiln dtype it loads as ({@code I32} loads as {@link DType#INT64})
     * @param shape     its shape
     * @param begin     first byte of its data, relative to the start of the data section
     * @param end       one past its last byte
     */
    public record TensorInfo(String name, String fileDtype, DType dtype, long[] shape, long begin, long end) {

        /** The number of elements. */
        public long numel() {
            return Shapes.numel(shape);
        }

        /** The bytes the tensor takes in the file. */
        public long byteSize() {
            return end - begin;
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String toString() {
            return name + ": " + fileDtype + " " + Shapes.str(shape) + " [" + begin + ", " + end + ")";
        }
    }

    // ------------------------------------------------------------------------------- writing

    /** Writes {@code tensors} (in iteration order) with no metadata, atomically. */
    public static void save(Map<String, Tensor> tensors, Path file) throws IOException {
        save(tensors, Map.of(), file);
    }

    /**
     * Writes {@code tensors} (in iteration order) and string {@code metadata} to {@code file},
     * atomically: the previous content of {@code file}, if any, stays in place until the new
     * content is complete and on disk. Folders are created as needed.
     *
     * @throws IllegalArgumentException for a null or reserved name, a null tensor or metadata
     *                                  value, or a tensor larger than 2 GiB; nothing is written
     * @throws IOException              when writing fails; the target is then unchanged
     */
    public static void save(Map<String, Tensor> tensors, Map<String, String> metadata, Path file) throws IOException {
        Prepared p = prepare(tensors, metadata);
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        String base = target.getFileName().toString();
        // Leave room for the prefix and suffix within the usual 255-byte name limit.
        String stem = "." + (base.length() > 180 ? base.substring(0, 180) : base) + ".";
        Path tmp = null;
        FileChannel ch = null;
        while (ch == null) {
            tmp = dir.resolve(stem + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
            try {
                // CREATE_NEW with default permissions: Files.createTempFile would make the result owner-only.
                ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                // another writer drew the same name: draw again
            }
        }
        boolean moved = false;
        try {
            try (FileChannel c = ch) {
                write(c, p);
                c.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                LOG.warn("{}: the file system cannot rename atomically; replacing the file non-atomically", target);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            syncDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * The bytes of a safetensors file holding {@code tensors} and {@code metadata}, for sending or
     * storing elsewhere than in a file.
     *
     * @throws IllegalArgumentException as {@link #save(Map, Map, Path)}, or when the result would
     *                                  exceed 2 GiB
     */
    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Prepared p = prepare(tensors, metadata);
        if (p.totalBytes() > MAX_TENSOR_BYTES) {
            throw new IllegalArgumentException("safetensors: " + p.totalBytes() + " bytes do not fit in a byte array;"
                    + " save to a file instead");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) p.totalBytes());
        try {
            write(Channels.newChannel(out), p);
        } catch (IOException e) {
            throw new IllegalStateException("safetensors: writing to memory failed", e);
        }
        return out.toByteArray();
    }

    /** A validated header, ready to write, with the tensors in the same order. */
    private record Prepared(byte[] header, List<Tensor> tensors, long dataBytes, long largest) {
        long totalBytes() {
            return 8 + header.length + dataBytes;
        }
    }

    private static Prepared prepare(Map<String, Tensor> tensors, Map<String, String> metadata) {
        if (tensors == null || metadata == null) {
            throw new IllegalArgumentException("safetensors: tensors and metadata must not be null");
        }
        var utf8 = StandardCharsets.UTF_8.newEncoder();
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            Map<String, String> md = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null || !utf8.canEncode(e.getKey()) || !utf8.canEncode(e.getValue())) {
                    throw new IllegalArgumentException("safetensors: metadata entry " + e.getKey() + "=" + e.getValue()
                            + " is null or not encodable as UTF-8");
                }
                md.put(e.getKey(), e.getValue());
            }
            header.put(METADATA, md);
        }
        List<Tensor> order = new ArrayList<>();
        long offset = 0;
        long largest = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || !utf8.canEncode(name)) {
                throw new IllegalArgumentException("safetensors: tensor name " + name + " is null or not encodable as UTF-8");
            }
            if (name.equals(METADATA)) {
                throw new IllegalArgumentException("safetensors: \"" + METADATA + "\" is reserved and cannot name a tensor");
            }
            Tensor t = e.getValue();
            if (t == null) {
                throw new IllegalArgumentException("safetensors: tensor \"" + name + "\" is null");
            }
            long bytes = t.numel() * t.dtype().byteSize();
            if (bytes > MAX_TENSOR_BYTES) {
                throw new IllegalArgumentException("safetensors: tensor \"" + name + "\" " + t.dtype() + " "
                        + Shapes.str(t.shape()) + " holds " + bytes + " bytes; at most " + MAX_TENSOR_BYTES
                        + " per tensor can be read back");
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().safetensorsName());
            entry.put("shape", t.shape());
            entry.put("data_offsets", List.of(offset, offset + bytes));
            header.put(name, entry);
            order.add(t);
            offset += bytes;
            largest = Math.max(largest, bytes);
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
        int padded = (json.length + 7) / 8 * 8;
        if (padded > MAX_HEADER) {
            throw new IllegalArgumentException("safetensors: the header would take " + padded + " bytes, more than the "
                    + MAX_HEADER + " that readers accept");
        }
        byte[] head = Arrays.copyOf(json, padded);
        Arrays.fill(head, json.length, padded, (byte) ' ');
        return new Prepared(head, order, offset, largest);
    }

    private static void write(WritableByteChannel ch, Prepared p) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(p.header().length).flip();
        writeFully(ch, len);
        writeFully(ch, ByteBuffer.wrap(p.header()));
        ByteBuffer buf = ByteBuffer.allocate((int) Math.max(8, Math.min(CHUNK, p.largest()))).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : p.tensors()) {
            if (t.numel() > 0) {
                writeLayout(ch, t.backend(), t.storage(), t.layout(), t.dtype().byteSize(), buf);
            }
        }
    }

    /**
     * Writes the elements of {@code layout} row-major, at most one buffer at a time: whole rows of
     * the leading dimension when a row fits, else each row recursively.
     */
    private static void writeLayout(WritableByteChannel ch, Backend backend, Storage storage, Layout layout,
                                    int elementBytes, ByteBuffer buf) throws IOException {
        long bytes = layout.numel() * elementBytes;
        if (bytes <= buf.capacity()) {
            buf.clear();
            backend.toHostBytes(storage, layout, buf);
            buf.flip();
            writeFully(ch, buf);
            return;
        }
        long[] shape = layout.shape();
        long[] strides = layout.strides();
        long rows = shape[0];
        long rowBytes = bytes / rows;
        if (rowBytes <= buf.capacity()) {
            long perChunk = buf.capacity() / rowBytes;
            for (long r = 0; r < rows; r += perChunk) {
                long[] s = shape.clone();
                s[0] = Math.min(perChunk, rows - r);
                writeLayout(ch, backend, storage, new Layout(s, strides, layout.offset() + r * strides[0]), elementBytes, buf);
            }
        } else {
            long[] s = Arrays.copyOfRange(shape, 1, shape.length);
            long[] st = Arrays.copyOfRange(strides, 1, strides.length);
            for (long r = 0; r < rows; r++) {
                writeLayout(ch, backend, storage, new Layout(s, st, layout.offset() + r * strides[0]), elementBytes, buf);
            }
        }
    }

    private static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
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

    // ------------------------------------------------------------------------------- reading

    /** Loads every tensor onto the CPU. */
    public static Map<String, Tensor> load(Path file) throws IOException {
        return read(file, Device.cpu()).tensors();
    }

    /** Loads every tensor onto {@code device}. */
    public static Map<String, Tensor> load(Path file, Device device) throws IOException {
        return read(file, device).tensors();
    }

    /** Loads tensors and metadata onto the CPU. */
    public static Contents read(Path file) throws IOException {
        return read(file, Device.cpu());
    }

    /** Loads tensors and metadata onto {@code device}. */
    public static Contents read(Path file, Device device) throws IOException {
        try (Reader r = open(file)) {
            return r.contents(device);
        }
    }

    /** The metadata of a file, without loading tensors. */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (Reader r = open(file)) {
            return r.metadata();
        }
    }

    /** Loads tensors and metadata from the bytes of a safetensors file onto {@code device}. */
    public static Contents fromBytes(byte[] bytes, Device device) throws SafetensorsException {
        try {
            return new Reader("<bytes>", new BytesSource(ByteBuffer.wrap(bytes))).contents(device);
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("safetensors: reading memory failed", e); // cannot happen
        }
    }

    /**
     * Opens a file and validates its header, reading no tensor data yet; tensors then load one at
     * a time. The caller closes the reader; tensors it returned stay valid after that.
     *
     * <pre>{@code
     * try (Safetensors.Reader r = Safetensors.open(path)) {
     *     Tensor w = r.tensor("fc1.weight");
     * }
     * }</pre>
     */
    public static Reader open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new Reader(file.toString(), new FileSource(ch));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** A validated header over a file or byte array, from which tensors load on demand. */
    public static final class Reader implements AutoCloseable {

        private final String source;
        private final Source src;
        private final Map<String, TensorInfo> entries;
        private final Map<String, String> metadata;
        private final long dataStart;
        private final long dataSize;

        private Reader(String source, Source src) throws IOException {
            this.source = source;
            this.src = src;
            long size = src.size();
            if (size < 8) {
                throw new SafetensorsException(source, null, "file is " + size + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            src.read(lenBuf, 0);
            long n = lenBuf.flip().getLong();
            if (n < 0 || n > size - 8) {
                throw new SafetensorsException(source, null, "header length " + Long.toUnsignedString(n)
                        + " runs past the end of the file of " + size + " bytes");
            }
            if (n > MAX_HEADER) {
                throw new SafetensorsException(source, null, "header length " + n + " bytes exceeds the limit of "
                        + MAX_HEADER + " bytes");
            }
            if (n < 2) {
                throw new SafetensorsException(source, null, "header length " + n + " bytes is too short for a JSON object");
            }
            ByteBuffer headBuf = ByteBuffer.allocate((int) n);
            src.read(headBuf, 8);
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headBuf.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new SafetensorsException(source, null, "header is not valid UTF-8");
            }
            Object parsed;
            try {
                parsed = Json.parse(text);
            } catch (IllegalArgumentException e) {
                throw new SafetensorsException(source, null, "header is not valid JSON: " + e.getMessage());
            }
            if (!(parsed instanceof Map<?, ?> map)) {
                throw new SafetensorsException(source, null, "header is not a JSON object");
            }
            this.dataStart = 8 + n;
            this.dataSize = size - dataStart;
            Map<String, String> md = new LinkedHashMap<>();
            Map<String, TensorInfo> es = new LinkedHashMap<>();
            for (Map.Entry<?, ?> me : map.entrySet()) {
                String name = (String) me.getKey();
                if (name.equals(METADATA)) {
                    metadata(me.getValue(), md);
                } else {
                    es.put(name, entry(name, me.getValue()));
                }
            }
            checkCoverage(es.values());
            this.entries = Collections.unmodifiableMap(es);
            this.metadata = Collections.unmodifiableMap(md);
        }

        private void metadata(Object value, Map<String, String> out) throws SafetensorsException {
            if (!(value instanceof Map<?, ?> md)) {
                throw new SafetensorsException(source, null, METADATA + " is not an object");
            }
            for (Map.Entry<?, ?> m : md.entrySet()) {
                if (!(m.getValue() instanceof String s)) {
                    throw new SafetensorsException(source, null, METADATA + " value of \""
                            + SafetensorsException.abbreviate((String) m.getKey()) + "\" is not a string");
                }
                out.put((String) m.getKey(), s);
            }
        }

        private TensorInfo entry(String name, Object value) throws SafetensorsException {
            if (!(value instanceof Map<?, ?> m)) {
                throw new SafetensorsException(source, name, "entry is not an object");
            }
            if (!(m.get("dtype") instanceof String dt)) {
                throw new SafetensorsException(source, name, "missing or non-string \"dtype\"");
            }
            Stored stored = Stored.of(dt);
            if (stored == null) {
                throw new SafetensorsException(source, name, "unknown dtype \"" + SafetensorsException.abbreviate(dt) + "\"");
            }
            if (stored.loadsAs == null) {
                throw new SafetensorsException(source, name, "dtype " + dt + " is not supported by Kiln (it reads F64, F32, F16,"
                        + " BF16, I64, BOOL, and I32, I16, I8, U32, U16, U8 widened to int64)");
            }
            long[] shape = longs(name, "shape", m.get("shape"), -1);
            long[] offsets = longs(name, "data_offsets", m.get("data_offsets"), 2);
            if (offsets[1] < offsets[0]) {
                throw new SafetensorsException(source, name, "data_offsets [" + offsets[0] + ", " + offsets[1]
                        + "] end before they begin");
            }
            if (offsets[1] > dataSize) {
                throw new SafetensorsException(source, name, "data_offsets [" + offsets[0] + ", " + offsets[1]
                        + "] run past the end of the data section of " + dataSize + " bytes");
            }
            // The product can overflow long: multiplyHigh catches that, and any product above the
            // data section's size is already a mismatch, so stop as soon as it is exceeded.
            long numel = 1;
            boolean tooLarge = false;
            for (long s : shape) {
                if (Math.multiplyHigh(numel, s) != 0 || numel * s < 0) {
                    tooLarge = true;
                    break;
                }
                numel *= s;
            }
            long bytes = tooLarge ? -1 : numel * stored.bytes;
            if (tooLarge || bytes / stored.bytes != numel || bytes != offsets[1] - offsets[0]) {
                throw new SafetensorsException(source, name, "shape " + Shapes.str(shape) + " of " + dt + " needs "
                        + (tooLarge || bytes / stored.bytes != numel ? "more than 2^63" : Long.toString(bytes))
                        + " bytes but data_offsets [" + offsets[0] + ", " + offsets[1] + "] hold "
                        + (offsets[1] - offsets[0]));
            }
            return new TensorInfo(name, dt, stored.loadsAs, shape, offsets[0], offsets[1]);
        }

        private long[] longs(String name, String key, Object v, int length) throws SafetensorsException {
            if (!(v instanceof List<?> l) || (length >= 0 && l.size() != length) || l.size() > MAX_RANK) {
                throw new SafetensorsException(source, name, "\"" + key + "\" must be a list"
                        + (length >= 0 ? " of " + length + " integers" : " of at most " + MAX_RANK + " integers"));
            }
            long[] out = new long[l.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(l.get(i) instanceof Long x) || x < 0) {
                    throw new SafetensorsException(source, name, "\"" + key + "\" holds " + l.get(i)
                            + ", not a non-negative 64-bit integer");
                }
                out[i] = x;
            }
            return out;
        }

        /** The tensors must tile the data section exactly: from byte 0, no gap, no overlap, no tail. */
        private void checkCoverage(java.util.Collection<TensorInfo> infos) throws SafetensorsException {
            List<TensorInfo> byOffset = new ArrayList<>(infos);
            byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            long expected = 0;
            TensorInfo previous = null;
            for (TensorInfo e : byOffset) {
                if (e.begin() < expected) {
                    throw new SafetensorsException(source, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                            + "] overlap those of tensor \"" + SafetensorsException.abbreviate(previous.name()) + "\" ["
                            + previous.begin() + ", " + previous.end() + "]");
                }
                if (e.begin() > expected) {
                    throw new SafetensorsException(source, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                            + "] leave a gap of " + (e.begin() - expected) + " unused bytes after byte " + expected);
                }
                expected = e.end();
                previous = e;
            }
            if (expected != dataSize) {
                throw new SafetensorsException(source, null, "tensors cover " + expected + " bytes but the data section has "
                        + dataSize + " bytes");
            }
        }

        /** The file name (or {@code "<bytes>"}). */
        public String source() {
            return source;
        }

        /** The string metadata ({@code __metadata__}), possibly empty. */
        public Map<String, String> metadata() {
            return metadata;
        }

        /** The tensor names, in header order. */
        public List<String> keys() {
            return List.copyOf(entries.keySet());
        }

        /** Whether the file holds a tensor called {@code name}. */
        public boolean contains(String name) {
            return entries.containsKey(name);
        }

        /** What the header says of every tensor, by name in header order. */
        public Map<String, TensorInfo> infos() {
            return entries;
        }

        /** What the header says of tensor {@code name}. */
        public TensorInfo info(String name) {
            TensorInfo e = entries.get(name);
            if (e == null) {
                throw new IllegalArgumentException(source + ": no tensor \"" + name + "\"; the file holds " + entries.size()
                        + " tensors" + (entries.isEmpty() ? "" : ", e.g. " + entries.keySet().iterator().next()));
            }
            return e;
        }

        /**
         * The raw little-endian bytes of tensor {@code name}, read-only. For a file this is a view
         * of the memory map: nothing is read until it is touched.
         */
        public ByteBuffer bytes(String name) throws IOException {
            TensorInfo e = info(name);
            if (e.byteSize() > MAX_TENSOR_BYTES) {
                throw new SafetensorsException(source, name, "its " + e.byteSize() + " bytes exceed the "
                        + MAX_TENSOR_BYTES + " that one Java buffer can hold");
            }
            return src.slice(dataStart + e.begin(), e.byteSize(), dataStart, dataSize).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** Loads tensor {@code name} onto the CPU. */
        public Tensor tensor(String name) throws IOException {
            return tensor(name, Device.cpu());
        }

        /** Loads tensor {@code name} onto {@code device}. */
        public Tensor tensor(String name, Device device) throws IOException {
            TensorInfo e = info(name);
            Backend backend = Backends.get(device);
            ByteBuffer data = bytes(name);
            Stored stored = Stored.of(e.fileDtype());
            Storage storage = stored.direct()
                    ? backend.fromHostBytes(data, e.dtype(), e.numel())
                    : backend.fromHost(stored.widen(data, (int) e.numel()), DType.INT64);
            return Tensor.wrap(storage, e.shape());
        }

        /** Loads every tensor onto {@code device}, in header order. */
        public Map<String, Tensor> tensors(Device device) throws IOException {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String k : entries.keySet()) {
                out.put(k, tensor(k, device));
            }
            return out;
        }

        /** Loads every tensor onto {@code device}, with the metadata. */
        public Contents contents(Device device) throws IOException {
            return new Contents(tensors(device), metadata);
        }

        /** Closes the file. Tensors already loaded, and buffers from {@link #bytes}, stay valid. */
        @Override
        public void close() throws IOException {
            src.close();
        }

        @Override
        public String toString() {
            return "Safetensors.Reader(" + source + ", " + entries.size() + " tensors)";
        }
    }

    // ------------------------------------------------------------------------------- sources

    /** Where a reader's bytes come from. */
    private interface Source extends AutoCloseable {
        long size() throws IOException;

        void read(ByteBuffer dst, long position) throws IOException;

        /** {@code length} bytes at {@code position}, which lies in the data section given. */
        ByteBuffer slice(long position, long length, long dataStart, long dataSize) throws IOException;

        @Override
        void close() throws IOException;
    }

    private static final class FileSource implements Source {
        private final FileChannel ch;
        private ByteBuffer data; // the whole data section, mapped once when it fits one buffer

        FileSource(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public long size() throws IOException {
            return ch.size();
        }

        @Override
        public void read(ByteBuffer dst, long position) throws IOException {
            long p = position;
            while (dst.hasRemaining()) {
                int r = ch.read(dst, p);
                if (r < 0) {
                    throw new IOException("unexpected end of file at byte " + p + "; was the file truncated while reading?");
                }
                p += r;
            }
        }

        @Override
        public synchronized ByteBuffer slice(long position, long length, long dataStart, long dataSize) throws IOException {
            if (length == 0) {
                return ByteBuffer.allocate(0);
            }
            if (dataSize <= MAX_TENSOR_BYTES) {
                if (data == null) {
                    data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize);
                }
                return data.slice((int) (position - dataStart), (int) length).asReadOnlyBuffer();
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, position, length).asReadOnlyBuffer();
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class BytesSource implements Source {
        private final ByteBuffer bytes;

        BytesSource(ByteBuffer bytes) {
            this.bytes = bytes;
        }

        @Override
        public long size() {
            return bytes.remaining();
        }

        @Override
        public void read(ByteBuffer dst, long position) {
            dst.put(bytes.slice((int) position, dst.remaining()));
        }

        @Override
        public ByteBuffer slice(long position, long length, long dataStart, long dataSize) {
            return bytes.slice((int) position, (int) length).asReadOnlyBuffer();
        }

        @Override
        public void close() {
        }
    }

    // ------------------------------------------------------------------------------- dtypes

    /** Every dtype a safetensors file may name, with its size and what Kiln loads it as (null: refused). */
    private enum Stored {
        F64(8, DType.FLOAT64), F32(4, DType.FLOAT32), F16(2, DType.FLOAT16), BF16(2, DType.BFLOAT16),
        I64(8, DType.INT64), BOOL(1, DType.BOOL),
        I32(4, DType.INT64), I16(2, DType.INT64), I8(1, DType.INT64),
        U32(4, DType.INT64), U16(2, DType.INT64), U8(1, DType.INT64),
        U64(8, null), F8_E4M3(1, null), F8_E5M2(1, null);

        final int bytes;
        final DType loadsAs;

        Stored(int bytes, DType loadsAs) {
            this.bytes = bytes;
            this.loadsAs = loadsAs;
        }

        static Stored of(String name) {
            for (Stored s : values()) {
                if (s.name().equals(name)) {
                    return s;
                }
            }
            return null;
        }

        /** Whether the bytes are already in the layout of {@link #loadsAs}. */
        boolean direct() {
            return loadsAs != null && loadsAs.safetensorsName().equals(name());
        }

        /** Narrow integers to int64, exactly (unsigned ones without sign extension). */
        long[] widen(ByteBuffer b, int n) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = switch (this) {
                    case I32 -> b.getInt(i * 4);
                    case I16 -> b.getShort(i * 2);
                    case I8 -> b.get(i);
                    case U32 -> Integer.toUnsignedLong(b.getInt(i * 4));
                    case U16 -> Short.toUnsignedLong(b.getShort(i * 2));
                    case U8 -> Byte.toUnsignedLong(b.get(i));
                    default -> throw new IllegalStateException(name() + " is not widened");
                };
            }
            return out;
        }
    }
}
