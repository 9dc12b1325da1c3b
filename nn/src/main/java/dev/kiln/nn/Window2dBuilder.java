package dev.kiln.nn;

/**
 * The builder part shared by the 2-D sliding-window layers ({@link Conv2d},
 * {@link ConvTranspose2d}, {@link MaxPool2d}, {@link AvgPool2d}): the window (kernel) and the
 * {@code stride} and {@code padding} setters, each taking one value for both axes or two
 * {@code (h, w)}. Each layer's own {@code Builder} adds only its own options and {@code build()}.
 *
 * <p>A convolution keeps every geometric option as an {@code (h, w)} pair and refuses negative
 * values at the setter; a pooling layer keeps the values as given (one or two), as its
 * {@code toString} shows them, and checks their ranges when it is built.
 *
 * @param <B> the concrete builder
 */
public abstract class Window2dBuilder<B extends Window2dBuilder<B>> {

    final String layer;
    final int[] kernel;
    final boolean pairs;
    int[] stride;
    int[] padding;

    /**
     * @param layer   the layer's name for messages ("Conv2d")
     * @param kernel  the window size, one or two values
     * @param pairs   true to store geometric options as checked {@code (h, w)} pairs (convolutions),
     *                false to store them as given (pooling)
     * @param stride  the default stride, or null for "the window size"
     * @param padding the default padding
     */
    Window2dBuilder(String layer, int[] kernel, boolean pairs, int[] stride, int[] padding) {
        this.layer = layer;
        this.kernel = kernel;
        this.pairs = pairs;
        this.stride = stride;
        this.padding = padding;
    }

    /**
     * The step between windows: one value for both axes or {@code (sH, sW)}. Convolutions default
     * to 1, pooling layers to the window size.
     */
    public B stride(int... stride) {
        this.stride = geometry("stride", stride);
        return self();
    }

    /**
     * Padding on both sides of each spatial axis: one value for both axes or {@code (pH, pW)}.
     * Zeros for a convolution, minus infinity for max pooling, zeros (counted or not in the
     * divisor) for average pooling; for {@link ConvTranspose2d}, the rows and columns trimmed from
     * each side of the output, as PyTorch's {@code padding}. Defaults to 0.
     */
    public B padding(int... padding) {
        this.padding = geometry("padding", padding);
        return self();
    }

    /** Checks one geometric option named {@code what} (PyTorch's name) and returns what to store. */
    final int[] geometry(String what, int[] values) {
        if (pairs) {
            return Layers.pair(layer, what, values);
        }
        F.pair(layer, what, values);
        return values.clone();
    }

    /** This builder as its concrete type. */
    @SuppressWarnings("unchecked")
    final B self() {
        return (B) this;
    }
}
