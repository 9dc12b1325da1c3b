package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.conformance.TensorAssertions;
import dev.kiln.nn.F;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Convolution through the real JCudnn classes over the fake {@code libcudnn.so.8} (the
 * {@code fake-cudnn} surefire execution): forward and both gradients against the CPU, with
 * stride, padding, dilation, groups, float32 and float64 and strided operands.
 */
class FakeCudnnConvolutionTest {

    @BeforeAll
    static void jcuda() {
        FakeDriver.assume();
    }

    @Test
    void cudnnLoadsAndTheDoctorShowsItsVersion() {
        Cudnn.Status s = CudaRuntime.get().driver().cudnn();
        assertNotNull(s.library(), () -> "cuDNN did not load: " + s.reason());
        assertEquals("8.9.7", s.library().version());
        String doctor = Cuda.report().cudnn();
        assertTrue(doctor.startsWith("loaded, version 8.9.7"), doctor);
        assertTrue(CudaRuntime.convolutionPath(s).startsWith("convolution and batch norm use cuDNN 8.9.7"), CudaRuntime.convolutionPath(s));
    }

    @ParameterizedTest(name = "{0} x[{1},{2},{3},{4}] o={5} k=({6},{7}) stride={8} pad={9} dil={10} groups={11}")
    @CsvSource({
        "FLOAT32, 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1",
        "FLOAT32, 2, 4, 9, 8, 6, 3, 2, 2, 1, 1, 2",
        "FLOAT32, 1, 6, 8, 9, 3, 2, 3, 1, 2, 2, 3",
        "FLOAT64, 2, 4, 6, 7, 4, 3, 3, 2, 0, 1, 4",
        "FLOAT64, 3, 2, 5, 5, 2, 1, 1, 1, 0, 1, 1",
    })
    void forwardAndGradientsMatchTheCpu(DType dtype, int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad,
                                        int dil, int groups) {
        Kiln.manualSeed(21);
        Tensor x = Tensor.randn(n, c, w, h).to(dtype);
        Tensor weight = Tensor.randn(o, c / groups, kh, kw).to(dtype).mul(0.5);
        Tensor bias = Tensor.randn(o).to(dtype);
        long before = JCudnnLibrary.CALLS.get();
        List<Tensor> cpu = run(x, weight, bias, Device.cpu(), stride, pad, dil, groups);
        List<Tensor> cuda = run(x, weight, bias, Device.cuda(0), stride, pad, dil, groups);
        // Forward, backward data and backward filter: each once, on cuDNN.
        assertEquals(3, JCudnnLibrary.CALLS.get() - before, "cuDNN calls");
        String[] names = {"output", "input gradient", "weight gradient", "bias gradient"};
        double tol = dtype == DType.FLOAT64 ? 1e-10 : 1e-4;
        for (int i = 0; i < names.length; i++) {
            TensorAssertions.assertMatches(names[i], cpu.get(i), cuda.get(i), tol, tol);
        }
    }

    /**
     * conv2d's output, then the input, weight and bias gradients of a weighted sum of it, all on the CPU.
     * The input is a transposed view, so the strided-operand copies run too.
     */
    private static List<Tensor> run(Tensor x0, Tensor w0, Tensor b0, Device device, int stride, int pad, int dil, int groups) {
        Tensor x = x0.clone().to(device).requiresGrad(true);
        Tensor w = w0.clone().to(device).requiresGrad(true);
        Tensor b = b0.clone().to(device).requiresGrad(true);
        Tensor y = F.conv2d(x.transpose(2, 3), w, b, new int[] {stride}, new int[] {pad}, new int[] {dil}, groups);
        Tensor weights = Tensor.arange(y.numel()).to(y.dtype()).add(1.0).sin().reshape(y.shape()).to(device);
        y.mul(weights).sum().backward();
        return List.of(y.cpu(), x.grad().cpu(), w.grad().cpu(), b.grad().cpu());
    }

    @Test
    void transposedConvolutionRunsOnCudnnToo() {
        Kiln.manualSeed(22);
        Tensor x = Tensor.randn(2, 4, 3, 5);
        Tensor w = Tensor.randn(4, 3, 3, 2);
        long before = JCudnnLibrary.CALLS.get();
        Tensor cuda = F.convTranspose2d(x.to(Device.cuda(0)), w.to(Device.cuda(0)), null, new int[] {2}, new int[] {1},
                new int[] {1}, 2, new int[] {1}).cpu();
        Tensor cpu = F.convTranspose2d(x, w, null, new int[] {2}, new int[] {1}, new int[] {1}, 2, new int[] {1});
        assertEquals(1, JCudnnLibrary.CALLS.get() - before, "cuDNN calls");
        TensorAssertions.assertMatches("convTranspose2d", cpu, cuda, 1e-4, 1e-4);
    }

    @Test
    void float16StaysOnKilnsPath() {
        Tensor x = Tensor.randn(1, 2, 5, 5).to(DType.FLOAT16).to(Device.cuda(0));
        Tensor w = Tensor.randn(3, 2, 3, 3).to(DType.FLOAT16).to(Device.cuda(0));
        long before = JCudnnLibrary.CALLS.get();
        Tensor y = F.conv2d(x, w, null);
        assertEquals(0, JCudnnLibrary.CALLS.get() - before, "cuDNN calls");
        TensorAssertions.assertMatches("float16 conv2d", F.conv2d(x.cpu().toFloat(), w.cpu().toFloat(), null), y.cpu().toFloat(),
                1e-2, 1e-2);
    }
}
