package dev.kiln.data;

import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collate functions: how a {@link DataLoader} turns a list of items into one batch. The default,
 * {@link #defaultCollate}, follows {@code torch.utils.data.default_collate}.
 */
public final class Collate {

    private Collate() {
    }

    /**
     * Batches items by structure: tensors are stacked along a new dim 0; numbers become a 1-D tensor
     * ({@code Double} float64, {@code Float} float32, integral types int64, {@code Boolean} bool);
     * lists are collated position by position into a list, maps key by key into a map (in the first
     * item's key order); strings are gathered into a list. So {@code [image, label]} items give an
     * {@code [images, labels]} batch.
     *
     * @throws IllegalArgumentException when items differ in structure or a value has no batch form
     */
    public static Object defaultCollate(List<?> items) {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("collate: expected at least one item");
        }
        Object first = items.get(0);
        if (first instanceof Tensor) {
            return stack(castAll(items, Tensor.class, "a Tensor"));
        }
        if (first instanceof Number || first instanceof Boolean) {
            return numbers(items);
        }
        if (first instanceof String) {
            return List.copyOf(castAll(items, String.class, "a String"));
        }
        if (first instanceof List<?> l0) {
            int width = l0.size();
            List<Object> out = new ArrayList<>(width);
            for (int j = 0; j < width; j++) {
                List<Object> column = new ArrayList<>(items.size());
                for (Object item : items) {
                    if (!(item instanceof List<?> l) || l.size() != width) {
                        throw new IllegalArgumentException("collate: each item should be a list of " + width
                                + " elements like the first, got " + describe(item));
                    }
                    column.add(l.get(j));
                }
                out.add(defaultCollate(column));
            }
            return Collections.unmodifiableList(out);
        }
        if (first instanceof Map<?, ?> m0) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Object key : m0.keySet()) {
                List<Object> column = new ArrayList<>(items.size());
                for (Object item : items) {
                    if (!(item instanceof Map<?, ?> m) || !m.containsKey(key)) {
                        throw new IllegalArgumentException("collate: each item should be a map with key '" + key
                                + "' like the first, got " + describe(item));
                    }
                    column.add(m.get(key));
                }
                out.put(key, defaultCollate(column));
            }
            return Collections.unmodifiableMap(out);
        }
        throw new IllegalArgumentException("collate: the default collate batches tensors, numbers, strings, lists"
                + " and maps; got " + describe(first) + "; pass a collate function to the DataLoader builder");
    }

    /** Stacks equal-shaped tensors along a new dim 0. */
    public static Tensor stack(List<Tensor> items) {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("collate: expected at least one tensor");
        }
        return Tensor.stack(items, 0);
    }

    /**
     * Numbers (or booleans) as a 1-D tensor: all floating point gives float64 unless every value is a
     * {@code Float} (float32); integral types give int64; booleans give bool.
     */
    public static Tensor numbers(List<?> items) {
        int n = items.size();
        boolean allBool = true;
        boolean anyFloating = false;
        boolean allFloat32 = true;
        for (Object o : items) {
            if (o instanceof Number num) {
                allBool = false;
                boolean floating = num instanceof Double || num instanceof Float;
                anyFloating |= floating;
                allFloat32 &= num instanceof Float || !floating;
            } else if (!(o instanceof Boolean)) {
                throw new IllegalArgumentException("collate: expected numbers like the first item, got " + describe(o));
            }
        }
        if (allBool) {
            boolean[] v = new boolean[n];
            for (int i = 0; i < n; i++) {
                v[i] = (Boolean) items.get(i);
            }
            return Tensor.fromArray(v, n);
        }
        if (anyFloating) {
            if (allFloat32) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = asNumber(items.get(i)).floatValue();
                }
                return Tensor.fromArray(v, n);
            }
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = asNumber(items.get(i)).doubleValue();
            }
            return Tensor.fromArray(v, n);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = asNumber(items.get(i)).longValue();
        }
        return Tensor.fromArray(v, n);
    }

    private static Number asNumber(Object o) {
        return o instanceof Boolean b ? (b ? 1 : 0) : (Number) o;
    }

    private static <E> List<E> castAll(List<?> items, Class<E> type, String what) {
        List<E> out = new ArrayList<>(items.size());
        for (Object o : items) {
            if (!type.isInstance(o)) {
                throw new IllegalArgumentException("collate: expected " + what + " like the first item, got " + describe(o));
            }
            out.add(type.cast(o));
        }
        return out;
    }

    private static String describe(Object o) {
        return o == null ? "null" : o.getClass().getSimpleName();
    }
}
