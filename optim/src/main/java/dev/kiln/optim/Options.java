package dev.kiln.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Helpers for option maps and their JSON form (package-private). */
final class Options {

    private Options() {
    }

    /** {@code weightDecay} to {@code weight_decay}; PyTorch's snake_case names pass through unchanged. */
    static String normalizeKey(String key) {
        StringBuilder sb = new StringBuilder(key.length() + 4);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isUpperCase(c)) {
                sb.append('_').append(Character.toLowerCase(c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Integers become Long, floats Double, arrays and lists become lists of those. */
    static Object normalizeValue(String key, Object v) {
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof double[] a) {
            List<Object> l = new ArrayList<>(a.length);
            for (double d : a) {
                l.add(d);
            }
            return List.copyOf(l);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(normalizeValue(key, o));
            }
            return List.copyOf(out);
        }
        if (v == null || v instanceof Number || v instanceof Boolean || v instanceof String) {
            return v;
        }
        throw new IllegalArgumentException("option '" + key + "': unsupported value type " + v.getClass().getName()
                + " (use numbers, booleans, strings or lists of them)");
    }

    /** Merges {@code overrides} (camelCase or PyTorch keys) over {@code defaults}, refusing unknown keys. */
    static Map<String, Object> merge(String owner, Map<String, Object> defaults, Map<String, ?> overrides) {
        Map<String, Object> out = new LinkedHashMap<>(defaults);
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            String k = normalizeKey(e.getKey());
            if (k.equals("params")) {
                continue;
            }
            if (!defaults.containsKey(k)) {
                throw new IllegalArgumentException(owner + ": unknown option '" + e.getKey() + "' (known: "
                        + defaults.keySet() + ")");
            }
            out.put(k, normalizeValue(k, e.getValue()));
        }
        return out;
    }

    /** A JSON-safe copy: non-finite doubles become the strings "Infinity", "-Infinity", "NaN". */
    static Object toJsonValue(Object v) {
        if (v instanceof Double d && !Double.isFinite(d)) {
            return d.isNaN() ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(String.valueOf(e.getKey()), toJsonValue(e.getValue()));
            }
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(toJsonValue(o));
            }
            return out;
        }
        if (v instanceof double[] a) {
            List<Object> out = new ArrayList<>(a.length);
            for (double d : a) {
                out.add(toJsonValue(d));
            }
            return out;
        }
        return v;
    }

    /** {@link #toJsonValue} of a state map, typed: what a scheduler's {@code stateDict()} returns. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> toJsonMap(Map<String, Object> state) {
        return (Map<String, Object>) toJsonValue(state);
    }

    /** {@link #fromJsonValue} of a saved state map, typed: what a scheduler's {@code loadStateDict} reads. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> fromJsonMap(Map<String, Object> state) {
        return (Map<String, Object>) fromJsonValue(state);
    }

    /** Undoes {@link #toJsonValue}. */
    static Object fromJsonValue(Object v) {
        if (v instanceof String s) {
            switch (s) {
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                case "NaN":
                    return Double.NaN;
                default:
                    return s;
            }
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(String.valueOf(e.getKey()), fromJsonValue(e.getValue()));
            }
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(fromJsonValue(o));
            }
            return out;
        }
        return v;
    }

    static double toDouble(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("expected a number, got " + v);
    }
}
