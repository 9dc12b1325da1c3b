package dev.kiln.optim;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClipGradTest {

    /** Two parameters with gradients [3, 4] and [12]: 2-norm 13, 1-norm 19, inf-norm 12. */
    static List<Tensor> params() {
        Tensor a = Tensor.zeros(2).requiresGrad(true);
        Tensor b = Tensor.zeros(1).requiresGrad(true);
        a.setGrad(Tensor.of(3f, 4f));
        b.setGrad(Tensor.of(12f));
        return List.of(a, b);
    }

    static float[] grads(List<Tensor> p) {
        float[] a = p.get(0).grad().toFloatArray();
        float[] b = p.get(1).grad().toFloatArray();
        return new float[] {a[0], a[1], b[0]};
    }

    @Test
    void twoNormScalesAllGradientsTogether() {
        List<Tensor> p = params();
        Tensor total = ClipGrad.clipGradNorm(p, 6.5);
        assertEquals(13.0, total.item(), 1e-6);
        double c = 6.5 / (13 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * c), (float) (4 * c), (float) (12 * c)}, grads(p), 1e-6f);
    }

    @Test
    void infinityAndOneAndThreeNorms() {
        List<Tensor> p = params();
        assertEquals(12.0, ClipGrad.clipGradNorm(p, 6, Double.POSITIVE_INFINITY).item(), 1e-6);
        double c = 6 / (12 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * c), (float) (4 * c), (float) (12 * c)}, grads(p), 1e-6f);

        assertEquals(19.0, ClipGrad.clipGradNorm(params(), 100, 1).item(), 1e-5);
        double three = Math.cbrt(27 + 64 + 1728);
        assertEquals(three, ClipGrad.clipGradNorm(params(), 100, 3).item(), 1e-4);
    }

    @Test
    void smallGradientsAreLeftAlone() {
        List<Tensor> p = params();
        assertEquals(13.0, ClipGrad.clipGradNorm(p, 100).item(), 1e-6);
        assertArrayEquals(new float[] {3, 4, 12}, grads(p), 0f);
    }

    @Test
    void tensorsWithoutGradientsAreSkipped() {
        Tensor none = Tensor.zeros(3).requiresGrad(true);
        assertEquals(0.0, ClipGrad.clipGradNorm(List.of(none), 1).item());
        List<Tensor> p = params();
        assertEquals(13.0, ClipGrad.clipGradNorm(List.of(p.get(0), none, p.get(1)), 1).item(), 1e-6);
        assertNull(none.grad());
    }

    @Test
    void nonFiniteNormCanBeAnError() {
        List<Tensor> p = params();
        p.get(1).setGrad(Tensor.of(Float.NaN));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClipGrad.clipGradNorm(p, 1, 2, true));
        assertEquals(true, e.getMessage().contains("NaN"), e.getMessage());
        assertArrayEquals(new float[] {3, 4}, p.get(0).grad().toFloatArray(), 0f);
        assertThrows(IllegalArgumentException.class, () -> ClipGrad.clipGradNorm(params(), 1, 0));
    }

    @Test
    void clipGradValueClampsEachElement() {
        List<Tensor> p = params();
        ClipGrad.clipGradValue(p, 3.5);
        assertArrayEquals(new float[] {3, 3.5f, 3.5f}, grads(p), 0f);
        p.get(0).setGrad(Tensor.of(-10f, 0.5f));
        ClipGrad.clipGradValue(p, 1);
        assertArrayEquals(new float[] {-1, 0.5f, 1}, grads(p), 0f);
    }
}
