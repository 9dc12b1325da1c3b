package dev.kiln.backend.cpu.serialization;

import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Bit-exact tensor comparisons for the serialization tests. */
final class SerializationAssertions {

    private SerializationAssertions() {
    }

    /** Same dtype, shape and values, bit for bit (NaN equals NaN, -0.0 differs from 0.0). */
    static void assertSameTensor(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        switch (expected.dtype()) {
            case INT64 -> assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what);
            case BOOL -> assertArrayEquals(expected.toBooleanArray(), actual.toBooleanArray(), what);
            default -> {
                // float16/bfloat16/float32 values are exact in a double, so this compares their bits.
                double[] e = expected.toDoubleArray();
                double[] a = actual.toDoubleArray();
                for (int i = 0; i < e.length; i++) {
                    if (Double.doubleToLongBits(e[i]) != Double.doubleToLongBits(a[i])) {
                        fail(what + ": element " + i + " is " + a[i] + ", expected " + e[i]);
                    }
                }
            }
        }
    }

    static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(Arrays.asList(expected.keySet().toArray()), Arrays.asList(actual.keySet().toArray()), "names in order");
        for (String k : expected.keySet()) {
            assertSameTensor(expected.get(k), actual.get(k), k);
        }
    }
}
