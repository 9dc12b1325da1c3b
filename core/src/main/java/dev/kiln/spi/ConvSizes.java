package dev.kiln.spi;

import dev.kiln.Layout;

/**
 * The sizes of a convolution as the composite defaults see them: batch {@code n}, input channels
 * {@code c}, output channels {@code o}, {@code groups}, the reduction length {@code k} of one group
 * ({@code C / groups * kh * kw}) and the number {@code l} of output positions.
 */
record ConvSizes(long n, long c, long o, int groups, long k, long l) {
    static ConvSizes of(long n, long c, long o, ConvGeometry g, int groups) {
        return new ConvSizes(n, c, o, groups, c / groups * g.kh() * g.kw(), g.outH() * g.outW());
    }

    long og() {
        return o / groups;
    }

    /** Channel-major {@code [channels, N, L]} storage seen as {@code [N, channels, outH, outW]}. */
    Layout channelMajor(long channels, ConvGeometry g) {
        return new Layout(new long[] {n, channels, g.outH(), g.outW()}, new long[] {l, n * l, g.outW(), 1}, 0);
    }

    /** Columns stored {@code [C * kh * kw, N, L]} seen as im2col's {@code [N, C * kh * kw, L]}. */
    Layout columnsView() {
        return new Layout(new long[] {n, groups * k, l}, new long[] {l, n * l, 1}, 0);
    }
}
