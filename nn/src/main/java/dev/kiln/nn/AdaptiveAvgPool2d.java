package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Average pooling to a fixed output size whatever the input size, as
 * {@code torch.nn.AdaptiveAvgPool2d}: output cell {@code i} averages input rows
 * {@code floor(i * H / outH)} up to {@code ceil((i + 1) * H / outH)}. {@code new AdaptiveAvgPool2d(1)}
 * is global average pooling.
 */
public class AdaptiveAvgPool2d extends Module {

    private final int outH;
    private final int outW;
    private final boolean square;

    /** A {@code size x size} output. */
    public AdaptiveAvgPool2d(int size) {
        this(size, size, true);
    }

    public AdaptiveAvgPool2d(int outH, int outW) {
        this(outH, outW, false);
    }

    private AdaptiveAvgPool2d(int outH, int outW, boolean square) {
        if (outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d: output size must be positive, got " + Repr.tuple(outH, outW));
        }
        this.outH = outH;
        this.outW = outW;
        this.square = square;
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public String extraRepr() {
        return "output_size=" + (square ? Integer.toString(outH) : Repr.tuple(outH, outW));
    }
}
