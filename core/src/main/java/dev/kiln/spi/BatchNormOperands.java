package dev.kiln.spi;

import dev.kiln.Layout;

/**
 * The per-channel operands of a batch normalization, each a {@code [C]} tensor of the input's
 * dtype or absent (both fields null): the affine {@code weight} and {@code bias}, and the running
 * statistics, which training-mode kernels update in place.
 */
public record BatchNormOperands(Storage weight, Layout weightLayout, Storage bias, Layout biasLayout,
                                Storage runningMean, Layout runningMeanLayout, Storage runningVar,
                                Layout runningVarLayout) {

    /** Whether the running statistics are present (both or neither). */
    public boolean hasRunningStats() {
        return runningMean != null && runningVar != null;
    }
}
