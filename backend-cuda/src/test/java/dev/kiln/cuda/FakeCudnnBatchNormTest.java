package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.conformance.TensorAssertions;
import dev.kiln.nn.BatchNorm2d;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.F;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.ReLU;
import dev.kiln.nn.Sequential;
import dev.kiln.optim.SGD;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Batch normalization through the real JCudnn classes over the fake {@code libcudnn.so.8} (the
 * {@code fake-cudnn} surefire execution): training and evaluation forward, the running statistics
 * and all gradients against the CPU, for [N, C], [N, C, L] and [N, C, H, W] inputs, strided ones,
 * float32 and float64, with and without the affine parameters; the paths cuDNN does not take; and
 * a small CNN with BatchNorm2d trained on both devices.
 */
class FakeCudnnBatchNormTest {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }

    @ParameterizedTest(name = "{0} shape={1} affine={2} strided={3}")
    @CsvSource({
        "FLOAT32, 6x3, true, false",
        "FLOAT32, 4x3x5, true, true",
        "FLOAT32, 2x4x3x5, false, false",
        "FLOAT64, 3x2x4x3, true, true",
        "FLOAT64, 5x4, false, true",
    })
    void trainingAndEvaluationMatchTheCpu(DType dtype, String shape, boolean affine, boolean strided) {
        Kiln.manualSeed(31);
        long[] dims = java.util.Arrays.stream(shape.split("x")).mapToLong(Long::parseLong).toArray();
        Tensor x = Tensor.randn(dims).to(dtype).mul(2).add(0.5);
        int c = (int) dims[1];
        Tensor w = affine ? Tensor.randn(c).to(dtype) : null;
        Tensor b = affine ? Tensor.randn(c).to(dtype) : null;
        Tensor rm = Tensor.randn(c).to(dtype);
        Tensor rv = Tensor.rand(c).to(dtype).add(0.5);
        long before = JCudnnLibrary.CALLS.get();
        List<Tensor> cpu = run(x, w, b, rm, rv, Device.cpu(), strided);
        List<Tensor> cuda = run(x, w, b, rm, rv, Device.cuda(0), strided);
        // Training forward, its backward, evaluation forward: each once, on cuDNN.
        assertEquals(3, JCudnnLibrary.CALLS.get() - before, "cuDNN calls");
        String[] names = {"training output", "running mean", "running variance", "input gradient", "weight gradient",
            "bias gradient", "evaluation output"};
        double tol = dtype == DType.FLOAT64 ? 1e-10 : 1e-4;
        for (int i = 0; i < cpu.size(); i++) {
            TensorAssertions.assertMatches(names[i], cpu.get(i), cuda.get(i), tol, tol);
        }
    }

    /** The training output, the running statistics, the gradients of a weighted sum, and the evaluation output. */
    private static List<Tensor> run(Tensor x0, Tensor w0, Tensor b0, Tensor rm0, Tensor rv0, Device device, boolean strided) {
        Tensor x = x0.clone().to(device).requiresGrad(true);
        Tensor w = w0 == null ? null : w0.clone().to(device).requiresGrad(true);
        Tensor b = b0 == null ? null : b0.clone().to(device).requiresGrad(true);
        Tensor rm = rm0.clone().to(device);
        Tensor rv = rv0.clone().to(device);
        // A strided input: the transpose of a transposed copy, the same values.
        Tensor in = strided ? x.transpose(0, x.dim() - 1).contiguous().transpose(0, x.dim() - 1) : x;
        Tensor y = F.batchNorm(in, rm, rv, w, b, true, 0.1, 1e-5);
        Tensor weights = Tensor.arange(y.numel()).to(y.dtype()).add(1.0).sin().reshape(y.shape()).to(device);
        y.mul(weights).sum().backward();
        Tensor eval = F.batchNorm(in.detach(), rm, rv, w == null ? null : w.detach(), b == null ? null : b.detach(), false,
                0.1, 1e-5);
        List<Tensor> out = new ArrayList<>(List.of(y.cpu(), rm.cpu(), rv.cpu(), x.grad().cpu()));
        if (w != null) {
            out.add(w.grad().cpu());
            out.add(b.grad().cpu());
        }
        out.add(eval.cpu());
        return out;
    }

    @Test
    void problemsCudnnDoesNotTakeRunOnKilnsKernels() {
        Kiln.manualSeed(32);
        Tensor x = Tensor.randn(4, 3, 2);
        long before = JCudnnLibrary.CALLS.get();
        // eps = 0 and float16: Kiln's composition.
        Tensor zeroEps = F.batchNorm(x.to(Device.cuda(0)), null, null, null, null, true, 0.1, 0).cpu();
        Tensor half = F.batchNorm(x.to(DType.FLOAT16).to(Device.cuda(0)), null, null, null, null, true, 0.1, 1e-5).cpu();
        assertEquals(0, JCudnnLibrary.CALLS.get() - before, "cuDNN calls");
        TensorAssertions.assertMatches("eps 0", F.batchNorm(x, null, null, null, null, true, 0.1, 0), zeroEps, 1e-5, 1e-5);
        TensorAssertions.assertMatches("float16", F.batchNorm(x, null, null, null, null, true, 0.1, 1e-5),
                half.to(DType.FLOAT32), 1e-2, 1e-2);
    }

    @Test
    void aCnnWithBatchNormTrainsAlikeOnBothDevices() {
        List<Double> cpu = train(Device.cpu());
        long before = JCudnnLibrary.CALLS.get();
        List<Double> cuda = train(Device.cuda(0));
        assertEquals(true, JCudnnLibrary.CALLS.get() - before > 0, "cuDNN ran");
        for (int i = 0; i < cpu.size(); i++) {
            assertEquals(cpu.get(i), cuda.get(i), 1e-4 * Math.max(1, Math.abs(cpu.get(i))), "loss at step " + i);
        }
    }

    private static List<Double> train(Device device) {
        Kiln.manualSeed(33);
        Sequential model = new Sequential(new Conv2d(2, 4, 3, 1, 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(4 * 3 * 3, 3));
        Tensor x = Tensor.randn(8, 2, 6, 6);
        Tensor target = Tensor.randn(8, 3);
        model.to(device);
        SGD optimizer = new SGD(model.parameters(), 0.05);
        List<Double> losses = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            Tensor loss = model.forward(x.to(device)).sub(target.to(device)).square().mean();
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            losses.add(loss.item());
        }
        model.eval();
        losses.add(model.forward(x.to(device)).sum().item());
        return losses;
    }
}
