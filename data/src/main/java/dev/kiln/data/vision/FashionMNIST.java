package dev.kiln.data.vision;

import dev.kiln.Tensor;
import dev.kiln.data.Transform;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Zalando's Fashion-MNIST: 28x28 grayscale clothing images in 10 classes, in MNIST's file format,
 * the counterpart of {@code torchvision.datasets.FashionMNIST}. The files are looked up in the root
 * folder and in {@code <root>/FashionMNIST/raw}; Debian's {@code dataset-fashion-mnist} package
 * installs them in {@code /usr/share/datasets/fashion-mnist}.
 */
public final class FashionMNIST extends MNIST {

    /** The torchvision mirror for Fashion-MNIST. */
    public static final List<URI> MIRRORS = List.of(URI.create("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"));

    /** Where Debian's {@code dataset-fashion-mnist} package puts the files. */
    public static final Path DEBIAN_FOLDER = Path.of("/usr/share/datasets/fashion-mnist");

    static final Variant FASHION = new Variant("FashionMNIST", MIRRORS, md5s(
            "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot"));

    private FashionMNIST(Builder builder) {
        super(builder);
    }

    /** A builder for Fashion-MNIST: set {@code root}; the defaults are the training split and {@code toTensor()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options for {@link FashionMNIST}; as {@link MNIST.Builder}, with {@link #build()} typed. */
    public static final class Builder extends MNIST.Builder {
        Builder() {
            super(FASHION);
        }

        @Override
        public Builder root(Path root) {
            super.root(root);
            return this;
        }

        @Override
        public Builder train(boolean train) {
            super.train(train);
            return this;
        }

        @Override
        public Builder transform(Transform<Image, Tensor> transform) {
            super.transform(transform);
            return this;
        }

        @Override
        public Builder download(boolean download) {
            super.download(download);
            return this;
        }

        @Override
        public Builder mirrors(List<URI> mirrors) {
            super.mirrors(mirrors);
            return this;
        }

        @Override
        public Builder timeout(Duration timeout) {
            super.timeout(timeout);
            return this;
        }

        @Override
        public FashionMNIST build() {
            return new FashionMNIST(this);
        }
    }
}
