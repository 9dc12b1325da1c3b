package dev.kiln.nn;

/**
 * The builder part shared by {@link Conv2d} and {@link ConvTranspose2d}: on top of
 * {@link Window2dBuilder}'s {@code stride} and {@code padding}, the channels given to
 * {@code builder(...)}, {@code dilation}, {@code groups} and {@code bias}. Unless set: stride 1,
 * padding 0, dilation 1, groups 1 and a bias.
 *
 * @param <B> the concrete builder
 */
public abstract class Conv2dLayerBuilder<B extends Conv2dLayerBuilder<B>> extends Window2dBuilder<B> {

    final int in;
    final int out;
    int[] dilation = {1, 1};
    int groups = 1;
    boolean bias = true;

    Conv2dLayerBuilder(String layer, int in, int out, int[] kernel) {
        super(layer, kernel, true, new int[] {1, 1}, new int[] {0, 0});
        this.in = in;
        this.out = out;
    }

    /** Spacing between kernel taps: one value for both axes, or {@code (dH, dW)}. */
    public B dilation(int... dilation) {
        this.dilation = geometry("dilation", dilation);
        return self();
    }

    /** Splits the channels into {@code groups} independent convolutions. */
    public B groups(int groups) {
        this.groups = groups;
        return self();
    }

    /** Whether the layer has a learnable bias (default true). */
    public B bias(boolean bias) {
        this.bias = bias;
        return self();
    }
}
