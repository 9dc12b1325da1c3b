package dev.kiln.spi;

/**
 * Reductions over a set of dims. {@link #ARGMAX}/{@link #ARGMIN} write int64 and return the first
 * index among ties; {@link #ALL}/{@link #ANY} write bool.
 */
public enum ReduceOp {
    SUM, PROD, MAX, MIN, ARGMAX, ARGMIN, ALL, ANY;

    public String kernelName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
