package dev.kiln.data.vision;

import dev.kiln.Tensor;
import dev.kiln.data.BatchDataset;
import dev.kiln.data.Transform;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The MNIST handwritten digits, the counterpart of {@code torchvision.datasets.MNIST}:
 *
 * <pre>{@code
 * MNIST train = MNIST.builder().root(Path.of("data")).train(true)
 *         .transform(Transforms.compose(Transforms.toTensor(), Transforms.normalize(0.5, 0.5)))
 *         .download(true).build();
 * List<Tensor> item = train.get(0);   // [image 1x28x28 float32, label int64 0-dim]
 * }</pre>
 *
 * <p>The idx files ({@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, and
 * {@code t10k-...} for the test split), gzipped or not, are looked up directly in the root folder and
 * in torchvision's layout {@code <root>/MNIST/raw}. {@code download(true)} fetches missing files
 * into {@code <root>/MNIST/raw} from the mirrors in turn, checking each file's MD5.
 *
 * <p>The whole split is held as one float32 tensor of pixel values 0-255 ({@link #data()}) and one
 * int64 tensor of labels ({@link #targets()}), so a {@code DataLoader} gathers a batch with one
 * {@code indexSelect} each and, when the transform has a batch form (as {@code toTensor} and
 * {@code normalize} do), transforms the whole batch with a few tensor ops.
 */
public class MNIST implements BatchDataset<List<Tensor>> {

    /** The torchvision mirrors for MNIST, in the order tried. */
    public static final List<URI> MIRRORS = List.of(
            URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"),
            URI.create("http://yann.lecun.com/exdb/mnist/"));

    static final Variant VARIANT = new Variant("MNIST", MIRRORS, md5s(
            "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            List.of("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
                    "8 - eight", "9 - nine"));

    /** What distinguishes MNIST from its look-alikes: folder name, mirrors, checksums, class names. */
    record Variant(String name, List<URI> mirrors, Map<String, String> md5, List<String> classes) {
    }

    static Map<String, String> md5s(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private final String name;
    private final boolean train;
    private final Tensor data;
    private final Tensor targets;
    private final int height;
    private final int width;
    private final Transform<Image, Tensor> transform;
    private final List<String> classes;
    private final Path imageFile;
    private final Path labelFile;

    /** Loads the split that {@code builder} describes (subclasses pass their own builder). */
    protected MNIST(Builder builder) {
        Variant v = builder.variant;
        Path root = Objects.requireNonNull(builder.root, v.name() + ": root folder not set; call root(path)");
        this.name = v.name();
        this.train = builder.train;
        this.transform = builder.transform;
        this.classes = v.classes();
        String prefix = train ? "train" : "t10k";
        Path raw = root.resolve(v.name()).resolve("raw");
        try {
            Path images = locate(root, raw, prefix + "-images-idx3-ubyte");
            Path labels = locate(root, raw, prefix + "-labels-idx1-ubyte");
            if (builder.download && (images == null || labels == null)) {
                Downloader downloader = new Downloader(builder.timeout);
                List<URI> mirrors = builder.mirrors != null ? builder.mirrors : v.mirrors();
                if (images == null) {
                    String f = prefix + "-images-idx3-ubyte.gz";
                    images = downloader.fetch(f, v.md5().get(f), mirrors, raw);
                }
                if (labels == null) {
                    String f = prefix + "-labels-idx1-ubyte.gz";
                    labels = downloader.fetch(f, v.md5().get(f), mirrors, raw);
                }
            }
            if (images == null || labels == null) {
                String missing = images == null ? prefix + "-images-idx3-ubyte" : prefix + "-labels-idx1-ubyte";
                throw new NoSuchFileException(root.resolve(missing).toString(), null, v.name() + ": " + missing
                        + "(.gz) not found in " + root + " or " + raw + (builder.download ? ""
                        : "; build with download(true) to fetch it"));
            }
            this.imageFile = images;
            this.labelFile = labels;
            Idx.Images img = Idx.readImages(images);
            byte[] lab = Idx.readLabels(labels);
            if (lab.length != img.count()) {
                throw new IdxFormatException(labels, "wrong count: " + lab.length + " labels for the " + img.count()
                        + " images of " + images);
            }
            for (int i = 0; i < lab.length; i++) {
                if ((lab[i] & 0xFF) >= classes.size()) {
                    throw new IdxFormatException(labels, "label " + (lab[i] & 0xFF) + " at index " + i
                            + " is outside the " + classes.size() + " classes 0.." + (classes.size() - 1));
                }
            }
            this.height = img.rows();
            this.width = img.cols();
            this.data = toFloatTensor(img.pixels(), img.count(), img.rows(), img.cols());
            long[] l = new long[lab.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = lab[i] & 0xFF;
            }
            this.targets = Tensor.fromArray(l, l.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    private static Tensor toFloatTensor(byte[] pixels, int n, int h, int w) {
        float[] f = new float[pixels.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = pixels[i] & 0xFF;
        }
        return Tensor.fromArray(f, n, h, w);
    }

    /** The first of {@code <dir>/<file>} and {@code <dir>/<file>.gz} for root then raw that exists, or null. */
    private static Path locate(Path root, Path raw, String file) {
        for (Path dir : List.of(root, raw)) {
            for (String name : List.of(file, file + ".gz")) {
                Path p = dir.resolve(name);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** A builder for MNIST: set {@code root}; the defaults are the training split and {@code toTensor()}. */
    public static Builder builder() {
        return new Builder(VARIANT);
    }

    // ------------------------------------------------------------------ dataset

    @Override
    public long size() {
        return data.size(0);
    }

    /** {@code [transform(image), label]}, the label an int64 0-dim tensor. */
    @Override
    public List<Tensor> get(long index) {
        checkIndex(index);
        return List.of(transform.apply(image(index)), targets.select(0, index));
    }

    /** {@code [images, labels]}: the transformed images stacked, and an int64 {@code [N]} label tensor. */
    @Override
    public List<Tensor> getBatch(long[] indices) {
        for (long i : indices) {
            checkIndex(i);
        }
        Tensor idx = Tensor.of(indices);
        Tensor raw = data.indexSelect(0, idx);
        Tensor labels = targets.indexSelect(0, idx);
        Tensor images;
        if (transform.supportsBatch()) {
            images = transform.applyBatch(raw.unsqueeze(-1));
        } else {
            List<Tensor> each = new ArrayList<>(indices.length);
            for (int i = 0; i < indices.length; i++) {
                each.add(transform.apply(Image.fromRawTensor(raw.select(0, i))));
            }
            images = Tensor.stack(each, 0);
        }
        return List.of(images, labels);
    }

    private void checkIndex(long index) {
        if (index < 0 || index >= size()) {
            throw new IndexOutOfBoundsException(name + ": index " + index + " is out of range for size " + size());
        }
    }

    /** The raw image at {@code index}, before the transform. */
    public Image image(long index) {
        checkIndex(index);
        float[] v = data.select(0, index).toFloatArray();
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) (int) v[i];
        }
        return Image.gray(b, height, width);
    }

    /** The label at {@code index}. */
    public int label(long index) {
        checkIndex(index);
        return (int) targets.select(0, index).itemLong();
    }

    /** All images as an {@code [N, H, W]} float32 tensor of the pixel values 0-255 (torchvision's {@code data}). */
    public Tensor data() {
        return data;
    }

    /** All labels as an {@code [N]} int64 tensor. */
    public Tensor targets() {
        return targets;
    }

    /** The class names, indexed by label. */
    public List<String> classes() {
        return classes;
    }

    /** Whether this is the training split. */
    public boolean isTrain() {
        return train;
    }

    /** The image file read. */
    public Path imageFile() {
        return imageFile;
    }

    /** The label file read. */
    public Path labelFile() {
        return labelFile;
    }

    /** The transform applied to each image. */
    public Transform<Image, Tensor> transform() {
        return transform;
    }

    @Override
    public String toString() {
        return name + "(" + (train ? "train" : "test") + ", " + size() + " images of " + height + "x" + width
                + ", transform=" + transform + ")";
    }

    // ------------------------------------------------------------------ builder

    /** Options for {@link MNIST} and its look-alikes. */
    public static class Builder {
        Variant variant;
        Path root;
        boolean train = true;
        Transform<Image, Tensor> transform = Transforms.toTensor();
        boolean download;
        List<URI> mirrors;
        Duration timeout = Duration.ofSeconds(60);

        Builder(Variant variant) {
            this.variant = variant;
        }

        /** Replaces the variant (folder name, checksums, classes); for tests that serve their own files. */
        Builder variant(Variant variant) {
            this.variant = variant;
            return this;
        }

        /** The folder holding the files, directly or under {@code <root>/<Name>/raw}; required. */
        public Builder root(Path root) {
            this.root = Objects.requireNonNull(root, "root");
            return this;
        }

        /** The training split (60,000 images) when true, the default; else the test split (10,000). */
        public Builder train(boolean train) {
            this.train = train;
            return this;
        }

        /** Turns each raw {@link Image} into the item's image tensor (default {@link Transforms#toTensor()}). */
        public Builder transform(Transform<Image, Tensor> transform) {
            this.transform = Objects.requireNonNull(transform, "transform");
            return this;
        }

        /** Whether to download missing files (default false). */
        public Builder download(boolean download) {
            this.download = download;
            return this;
        }

        /** The mirrors to try in order, each a folder URL holding the {@code .gz} files (default: torchvision's). */
        public Builder mirrors(List<URI> mirrors) {
            this.mirrors = List.copyOf(mirrors);
            return this;
        }

        /** The connect and request timeout of each download attempt (default 60 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Reads (after downloading, if asked and needed) the split.
         *
         * @throws UncheckedIOException when a file is missing, cannot be downloaded, or is malformed;
         *                              the message names the file and the problem
         */
        public MNIST build() {
            return new MNIST(this);
        }
    }
}
