package dev.kiln;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Formats tensors the way PyTorch prints them: four decimals (or scientific notation when the
 * magnitudes span too much, or {@code 1.} when every value is whole), right-aligned columns,
 * lines wrapped at 80 characters and, past 1000 elements, only the first and last three entries
 * of each dim around {@code ...}.
 */
final class TensorPrinter {

    private static final int THRESHOLD = 1000;
    private static final int EDGE_ITEMS = 3;
    private static final int LINE_WIDTH = 80;
    private static final String PREFIX = "tensor(";

    private TensorPrinter() {
    }

    static String format(Tensor t, String suffix) {
        long[] shape = t.shape();
        if (t.numel() == 0) {
            String size = shape.length == 1 ? "" : ", size=" + tupleOf(shape);
            return PREFIX + "[]" + size + suffix + ")";
        }
        boolean summarize = t.numel() > THRESHOLD;
        Tensor shown = summarize ? summarized(t) : t;
        double[] values = shown.toDoubleArray();
        Formatter f = new Formatter(t.dtype(), values);
        if (shape.length == 0) {
            return PREFIX + f.format(values[0]).trim() + suffix + ")";
        }
        // Walk the full tensor's index space, mapping summarized positions onto the shown values.
        StringBuilder sb = new StringBuilder(PREFIX);
        int[] cursor = {0};
        block(sb, shape, 0, summarize, f, values, cursor, PREFIX.length());
        return sb.append(suffix).append(")").toString();
    }

    private static String tupleOf(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i > 0 ? ", " : "").append(shape[i]);
        }
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /** The tensor with each dim cut to its first and last EDGE_ITEMS entries. */
    private static Tensor summarized(Tensor t) {
        Tensor r = t;
        for (int d = 0; d < t.dim(); d++) {
            long n = r.size(d);
            if (n > 2 * EDGE_ITEMS) {
                r = Tensor.cat(List.of(r.narrow(d, 0, EDGE_ITEMS), r.narrow(d, n - EDGE_ITEMS, EDGE_ITEMS)), d);
            }
        }
        return r;
    }

    private static void block(StringBuilder sb, long[] shape, int dim, boolean summarize, Formatter f, double[] values,
                              int[] cursor, int indent) {
        long n = shape[dim];
        boolean cut = summarize && n > 2 * EDGE_ITEMS;
        List<Long> positions = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            if (!cut || i < EDGE_ITEMS || i >= n - EDGE_ITEMS) {
                positions.add(i);
            }
        }
        sb.append('[');
        if (dim == shape.length - 1) {
            int perLine = Math.max(1, (LINE_WIDTH - indent) / (f.width + 2));
            int onLine = 0;
            for (int k = 0; k < positions.size(); k++) {
                if (k > 0) {
                    sb.append(',');
                    if (onLine == perLine) {
                        sb.append('\n').append(" ".repeat(indent + 1));
                        onLine = 0;
                    } else {
                        sb.append(' ');
                    }
                }
                if (cut && k == EDGE_ITEMS) {
                    sb.append(" ...,");
                    sb.append(onLine + 1 == perLine ? "\n" + " ".repeat(indent + 1) : " ");
                }
                sb.append(f.format(values[cursor[0]++]));
                onLine++;
            }
        } else {
            String sep = "," + "\n".repeat(shape.length - dim - 1) + " ".repeat(indent + 1);
            for (int k = 0; k < positions.size(); k++) {
                if (k > 0) {
                    sb.append(sep);
                }
                if (cut && k == EDGE_ITEMS) {
                    sb.append("...").append(sep);
                }
                block(sb, shape, dim + 1, summarize, f, values, cursor, indent + 1);
            }
        }
        sb.append(']');
    }

    /** Chooses one format for all values, as PyTorch's _Formatter. */
    private static final class Formatter {
        private final DType dtype;
        private boolean intMode;
        private boolean sciMode;
        final int width;

        Formatter(DType dtype, double[] values) {
            this.dtype = dtype;
            if (dtype.isFloatingPoint()) {
                double maxAbs = 0;
                double minAbs = Double.POSITIVE_INFINITY;
                boolean anyFinite = false;
                intMode = true;
                for (double v : values) {
                    if (!Double.isFinite(v)) {
                        continue;
                    }
                    anyFinite = true;
                    if (v != Math.rint(v)) {
                        intMode = false;
                    }
                    double a = Math.abs(v);
                    if (a != 0) {
                        maxAbs = Math.max(maxAbs, a);
                        minAbs = Math.min(minAbs, a);
                    }
                }
                if (!anyFinite) {
                    intMode = false;
                }
                if (intMode) {
                    sciMode = maxAbs > 1e8;
                } else if (maxAbs > 0) {
                    sciMode = maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4;
                }
            }
            int w = 0;
            for (double v : values) {
                w = Math.max(w, raw(v).length());
            }
            this.width = w;
        }

        private String raw(double v) {
            switch (dtype) {
                case BOOL:
                    return v != 0 ? "True" : "False";
                case INT64:
                    return Long.toString((long) v);
                default:
                    break;
            }
            if (Double.isNaN(v)) {
                return "nan";
            }
            if (Double.isInfinite(v)) {
                return v > 0 ? "inf" : "-inf";
            }
            if (sciMode) {
                return String.format(Locale.ROOT, "%.4e", v);
            }
            if (intMode) {
                return String.format(Locale.ROOT, "%.0f.", v);
            }
            return String.format(Locale.ROOT, "%.4f", v);
        }

        String format(double v) {
            String s = raw(v);
            return " ".repeat(width - s.length()) + s;
        }
    }
}
