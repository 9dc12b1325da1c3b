package dev.kiln.nn;

import java.util.Locale;

/**
 * How a loss reduces its per-element values, as PyTorch's {@code reduction} argument.
 * {@link #BATCHMEAN} is accepted by {@link KLDivLoss} only.
 */
public enum Reduction {
    /** No reduction: the per-element (or per-sample) losses. */
    NONE,
    /** The mean (for weighted losses, divided by the total weight). The default. */
    MEAN,
    /** The sum. */
    SUM,
    /** The sum divided by the batch size: {@link KLDivLoss} only. */
    BATCHMEAN;

    /** The reduction named as in PyTorch: {@code "none"}, {@code "mean"}, {@code "sum"}, {@code "batchmean"}. */
    public static Reduction of(String name) {
        for (Reduction r : values()) {
            if (r.pyName().equals(name)) {
                return r;
            }
        }
        throw new IllegalArgumentException("reduction: \"" + name + "\" is not a valid value; expected none, mean, sum"
                + " or batchmean");
    }

    /** PyTorch's name for this reduction. */
    public String pyName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
