package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Finite-difference checks (float64) of whole networks and of every composite op of {@link F}. */
class GradCheckTest {

    private static Tensor rand(long... shape) {
        return Tensor.randn(shape).toDouble().requiresGrad(true);
    }

    private static boolean check(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        return GradCheck.gradcheck(fn, inputs);
    }

    /** Checks {@code module} with respect to its input and every parameter. */
    private static void checkModule(Module module, Tensor x) {
        module.to(DType.FLOAT64);
        List<Tensor> inputs = new ArrayList<>();
        inputs.add(x);
        inputs.addAll(module.parameters());
        assertTrue(check(in -> module.forward(in[0]), inputs.toArray(new Tensor[0])));
    }

    @Test
    void conv2dNetwork() {
        Kiln.manualSeed(3);
        Sequential net = new Sequential(
                Conv2d.builder(2, 4, 3).padding(1).build(),
                new BatchNorm2d(4),
                new Tanh(),
                Conv2d.builder(4, 4, 3).stride(2).padding(1).groups(2).build(),
                new MaxPool2d(2),
                new Flatten(),
                new Linear(4, 3));
        checkModule(net, rand(2, 2, 6, 5));
    }

    @Test
    void conv1dAndTransposedConvolution() {
        Kiln.manualSeed(4);
        checkModule(Conv1d.builder(4, 2, 3).stride(2).padding(2).dilation(2).groups(2).build(), rand(2, 4, 7));
        checkModule(ConvTranspose2d.builder(4, 2, 3).stride(2).padding(1).outputPadding(1).groups(2).build(), rand(1, 4, 3, 2));
        checkModule(ConvTranspose2d.builder(2, 2, 2, 3).dilation(2).build(), rand(1, 2, 2, 3));
    }

    @Test
    void pooling() {
        Kiln.manualSeed(5);
        checkModule(new MaxPool2d(3, 2, 1), rand(1, 2, 5, 5));
        checkModule(AvgPool2d.builder(3).stride(2).padding(1).countIncludePad(false).build(), rand(1, 2, 5, 4));
        checkModule(new AvgPool2d(2, 1), rand(1, 1, 3, 4));
        checkModule(new AdaptiveAvgPool2d(3, 2), rand(2, 1, 5, 7));
        checkModule(new AdaptiveAvgPool2d(1), rand(2, 2, 3, 3));
    }

    @Test
    void normalization() {
        Kiln.manualSeed(6);
        checkModule(new BatchNorm1d(3), rand(4, 3, 2));
        BatchNorm2d eval = new BatchNorm2d(2);
        Kiln.noGrad(() -> eval.runningVar().fill_(2));
        eval.eval();
        checkModule(eval, rand(2, 2, 2, 2));
        checkModule(new LayerNorm(new long[] {2, 3}, 1e-5, true), rand(2, 2, 3));
        checkModule(new GroupNorm(2, 4), rand(2, 4, 3));
    }

    @Test
    void activationsAndEmbedding() {
        Kiln.manualSeed(7);
        checkModule(new GELU("tanh"), rand(3, 4));
        checkModule(new GELU(), rand(3, 4));
        checkModule(new LogSoftmax(1), rand(2, 3, 2));
        Embedding e = new Embedding(5, 3);
        e.to(DType.FLOAT64);
        Tensor idx = Tensor.of(0L, 1L, 4L, 1L, 2L).reshape(5);
        assertTrue(check(in -> e.forward(idx), e.weight()));
        Linear l = new Linear(4, 3);
        checkModule(l, rand(2, 3, 4));
    }

    @Test
    void losses() {
        Kiln.manualSeed(8);
        Tensor logits = rand(4, 5);
        Tensor idx = Tensor.of(1L, 3L, 0L, 4L);
        Tensor w = Tensor.rand(5).add(0.5).toDouble();
        assertTrue(check(in -> F.crossEntropy(in[0], Tensor.of(1L, 3L, 3L, 4L), w, 3, Reduction.MEAN, 0.2), logits));
        assertTrue(check(in -> F.crossEntropy(in[0], idx, null, -100, Reduction.NONE, 0.1), logits));
        Tensor probs = Tensor.rand(4, 5).toDouble().softmax(1);
        assertTrue(check(in -> F.crossEntropy(in[0], probs, w, -100, Reduction.SUM, 0.1), logits));
        assertTrue(check(in -> F.crossEntropy(in[0], Tensor.of(1L, 0L, 2L, 1L, 0L, 2L).reshape(2, 3), null, -100,
                Reduction.MEAN, 0), rand(2, 3, 3)));
        assertTrue(check(in -> F.nllLoss(in[0], idx, w, 0, Reduction.MEAN), logits));

        Tensor p = Tensor.rand(3, 4).mul(0.8).add(0.1).toDouble().requiresGrad(true);
        Tensor t = Tensor.rand(3, 4).toDouble().requiresGrad(true);
        Tensor bw = Tensor.rand(4).add(0.5).toDouble().requiresGrad(true);
        assertTrue(check(in -> F.binaryCrossEntropy(in[0], in[1], in[2], Reduction.MEAN), p, t, bw));

        Tensor x = rand(3, 4).mul(3.0).detach().requiresGrad(true);
        Tensor pw = Tensor.rand(4).mul(3).add(0.5).toDouble().requiresGrad(true);
        assertTrue(check(in -> F.binaryCrossEntropyWithLogits(in[0], in[1], in[2], in[3], Reduction.SUM), x, t, bw, pw));
        assertTrue(check(in -> F.binaryCrossEntropyWithLogits(in[0], in[1], null, null, Reduction.NONE), x, t));

        Tensor logp = rand(3, 4).logSoftmax(1).detach().requiresGrad(true);
        Tensor q = Tensor.rand(3, 4).toDouble().softmax(1);
        assertTrue(check(in -> F.klDiv(in[0], q, Reduction.BATCHMEAN, false), logp));
        assertTrue(check(in -> F.klDiv(in[0], in[1], Reduction.MEAN, true), logp, rand(3, 4)));
        Tensor a = rand(3, 4);
        Tensor b = rand(3, 4);
        assertTrue(check(in -> F.smoothL1Loss(in[0], in[1], Reduction.MEAN, 0.7), a, b));
        assertTrue(check(in -> F.huberLoss(in[0], in[1], Reduction.SUM, 0.7), a, b));
        assertTrue(check(in -> F.mseLoss(in[0], in[1], Reduction.MEAN), a, b));
        assertTrue(check(in -> F.l1Loss(in[0], in[1], Reduction.SUM), a, b));
        assertTrue(Device.cpu().isCpu());
    }
}
