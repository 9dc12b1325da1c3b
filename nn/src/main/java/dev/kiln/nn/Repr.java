package dev.kiln.nn;

import java.math.BigDecimal;

/** Formats values the way Python's {@code repr} does, so module trees print as PyTorch prints them. */
final class Repr {

    private Repr() {
    }

    /** A Python float repr: {@code 1e-05}, {@code 0.1}, {@code 1.0}, {@code 1e+16}. */
    static String pyFloat(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0.0" : "0.0";
        }
        String sign = v < 0 ? "-" : "";
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(v))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp10 = digits.length() - 1 - bd.scale();
        if (exp10 >= -4 && exp10 < 16) {
            String plain = bd.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String e = String.format("%02d", Math.abs(exp10));
        return sign + mantissa + "e" + (exp10 < 0 ? "-" : "+") + e;
    }

    /** A Python tuple of ints: {@code (3,)}, {@code (3, 3)}. */
    static String tuple(int... values) {
        return tuple(java.util.Arrays.stream(values).asLongStream().toArray());
    }

    /** A Python tuple of longs (shapes): {@code (3,)}, {@code (2, 5)}. */
    static String tuple(long... values) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(values[i]);
        }
        return sb.append(values.length == 1 ? ",)" : ")").toString();
    }

    /** An int when the pair came from one int (both equal and {@code scalar}), else a tuple. */
    static String intOrTuple(boolean scalar, int... values) {
        return scalar ? Integer.toString(values[0]) : tuple(values);
    }

    static String bool(boolean b) {
        return b ? "True" : "False";
    }

    /** Indents every line but the first by {@code spaces}, as PyTorch's {@code _addindent}. */
    static String indent(String s, int spaces) {
        String pad = " ".repeat(spaces);
        return s.replace("\n", "\n" + pad);
    }
}
