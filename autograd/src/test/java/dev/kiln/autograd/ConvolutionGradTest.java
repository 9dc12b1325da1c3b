package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.spi.ConvGeometry;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gradcheck of the convolution primitive and of its two backward ops (so double backward through a
 * convolution is right), with stride, padding, dilation, groups and a non-contiguous input.
 */
class ConvolutionGradTest {

    private static final ConvGeometry GEOMETRY = new ConvGeometry(6, 5, 3, 2, 2, 1, 1, 1, 1, 2);
    private static final int GROUPS = 2;

    private static Tensor rand(long... shape) {
        return Tensor.randn(shape).to(DType.FLOAT64).requiresGrad(true);
    }

    @Test
    void convolutionGradients() {
        Kiln.manualSeed(11);
        Tensor x = rand(2, 4, 5, 6);
        Tensor w = rand(6, 2, 3, 2);
        assertTrue(GradCheck.gradcheck(in -> in[0].transpose(2, 3).conv2d(in[1], GEOMETRY, GROUPS), x, w));
    }

    @Test
    void backwardOpsAreDifferentiable() {
        Kiln.manualSeed(12);
        Tensor gy = rand(2, 6, GEOMETRY.outH(), GEOMETRY.outW());
        Tensor w = rand(6, 2, 3, 2);
        Tensor x = rand(2, 4, 6, 5);
        assertTrue(GradCheck.gradcheck(in -> in[0].conv2dBackwardInput(in[1], GEOMETRY, GROUPS), gy, w));
        assertTrue(GradCheck.gradcheck(in -> in[0].conv2dBackwardWeight(in[1], GEOMETRY, GROUPS), gy, x));
    }

    @Test
    void doubleBackwardThroughAConvolution() {
        Kiln.manualSeed(13);
        Tensor x = rand(1, 4, 6, 5);
        Tensor w = rand(6, 2, 3, 2);
        // The gradient of sum(conv(x, w)^2) with respect to x and w, itself checked against finite differences.
        // Finite differences run without grad; the function records its own graph.
        assertTrue(GradCheck.gradcheck(in -> Kiln.enableGrad(() -> {
            Tensor y = in[0].conv2d(in[1], GEOMETRY, GROUPS);
            List<Tensor> g = Autograd.grad(y.square().sum(), null, List.of(in[0], in[1]), true, true);
            return g.get(0).sum().add(g.get(1).square().sum());
        }), x, w));
    }

    @Test
    void shapeErrorsNameTheOp() {
        Tensor x = Tensor.randn(1, 3, 6, 5);
        Tensor w = Tensor.randn(6, 2, 3, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.conv2d(w, GEOMETRY, GROUPS));
        assertTrue(e.getMessage().startsWith("conv2d: input [1, 3, 6, 5] has 3 channels"), e.getMessage());
        Tensor gy = Tensor.randn(1, 6, 1, 1);
        e = assertThrows(IllegalArgumentException.class, () -> gy.conv2dBackwardInput(w, GEOMETRY, GROUPS));
        assertTrue(e.getMessage().startsWith("conv2dBackwardInput: grad [1, 6, 1, 1] must be"), e.getMessage());
    }
}
