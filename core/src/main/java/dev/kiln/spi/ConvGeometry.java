package dev.kiln.spi;

/**
 * The sliding-window geometry of a 2-D convolution or pooling over an input of height {@code h} and
 * width {@code w}: kernel, stride, padding and dilation per axis. {@link #outH()} and
 * {@link #outW()} follow PyTorch's formula, floor mode.
 */
public record ConvGeometry(long h, long w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {

    public ConvGeometry {
        if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || ph < 0 || pw < 0) {
            throw new IllegalArgumentException("convolution geometry: kernel, stride and dilation must be positive and padding"
                    + " non-negative, got kernel=(" + kh + ", " + kw + ") stride=(" + sh + ", " + sw + ") padding=("
                    + ph + ", " + pw + ") dilation=(" + dh + ", " + dw + ")");
        }
    }

    public long outH() {
        return (h + 2L * ph - (long) dh * (kh - 1) - 1) / sh + 1;
    }

    public long outW() {
        return (w + 2L * pw - (long) dw * (kw - 1) - 1) / sw + 1;
    }
}
