package dev.kiln.conformance;

import dev.kiln.DType;
import dev.kiln.Tensor;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Assertions comparing a Kiln tensor with a reference: dtype, shape, then values. */
public final class TensorAssertions {

    private TensorAssertions() {
    }

    /** Tolerances by dtype: float32 relative 1e-5 (absolute floor 1e-6), float64 1e-10; others exact. */
    public static void assertMatches(String what, Tensor expected, Tensor actual) {
        double rtol = expected.dtype() == DType.FLOAT64 ? 1e-10 : 1e-5;
        double atol = expected.dtype() == DType.FLOAT64 ? 1e-12 : 1e-6;
        assertMatches(what, expected, actual, rtol, atol);
    }

    public static void assertMatches(String what, Tensor expected, Tensor actual, double rtol, double atol) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertArrayEquals(expected.shape(), actual.shape(), () -> what + ": shape " + Arrays.toString(actual.shape())
                + " instead of " + Arrays.toString(expected.shape()));
        if (!expected.dtype().isFloatingPoint()) {
            assertArrayEquals(expected.toLongArray(), actual.cpu().toLongArray(), what + ": values");
            return;
        }
        double[] e = expected.toDoubleArray();
        double[] a = actual.cpu().toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = Double.isNaN(e[i]) ? Double.isNaN(a[i])
                    : Double.isInfinite(e[i]) ? e[i] == a[i]
                    : Math.abs(e[i] - a[i]) <= atol + rtol * Math.abs(e[i]);
            if (!ok) {
                fail(what + ": element " + i + " is " + a[i] + ", expected " + e[i] + " (rtol " + rtol + ", atol " + atol + ")");
            }
        }
    }
}
