package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Checks analytical gradients against central finite differences in float64, as
 * {@code torch.autograd.gradcheck}: every input that requires grad is perturbed element by element,
 * and every output element is backpropagated.
 */
public final class GradCheck {

    /** Finite-difference step. */
    public static final double EPS = 1e-6;
    public static final double ATOL = 1e-5;
    public static final double RTOL = 1e-3;

    private GradCheck() {
    }

    /** {@link #gradcheck(Function, double, double, double, Tensor...)} with the default tolerances. */
    public static boolean gradcheck(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        return gradcheck(fn, EPS, ATOL, RTOL, inputs);
    }

    /**
     * Returns true when every analytical derivative matches the numerical one within
     * {@code atol + rtol * |numerical|}; otherwise throws {@link GradcheckException} naming the
     * input, the input element and the output element.
     */
    public static boolean gradcheck(Function<Tensor[], Tensor> fn, double eps, double atol, double rtol, Tensor... inputs) {
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].requiresGrad() && inputs[i].dtype() != DType.FLOAT64) {
                throw new IllegalArgumentException("gradcheck: input " + i + " is " + inputs[i].dtype()
                        + "; use float64 inputs, finite differences in float32 are too coarse");
            }
        }
        Tensor out0 = fn.apply(inputs);
        long outN = out0.numel();
        double[][][] numerical = new double[inputs.length][][];
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].requiresGrad()) {
                numerical[i] = numericalJacobian(fn, inputs, i, eps, outN);
            }
        }
        List<Tensor> wrt = Arrays.stream(inputs).filter(Tensor::requiresGrad).toList();
        if (wrt.isEmpty()) {
            throw new IllegalArgumentException("gradcheck: no input requires grad");
        }
        for (long o = 0; o < outN; o++) {
            Tensor out = fn.apply(inputs);
            if (!out.requiresGrad()) {
                throw new GradcheckException("gradcheck: the output does not require grad, so nothing can be checked");
            }
            double[] onehot = new double[(int) outN];
            onehot[(int) o] = 1;
            Tensor gOut = Tensor.fromArray(onehot, out.shape()).to(out.device());
            List<Tensor> grads = Autograd.grad(List.of(out), Arrays.asList(gOut), wrt, false, false, true);
            int w = 0;
            for (int i = 0; i < inputs.length; i++) {
                if (!inputs[i].requiresGrad()) {
                    continue;
                }
                Tensor g = grads.get(w++);
                double[] analytical = g == null ? new double[(int) inputs[i].numel()] : g.toDoubleArray();
                for (int e = 0; e < analytical.length; e++) {
                    double num = numerical[i][e][(int) o];
                    double ana = analytical[e];
                    if (!(Math.abs(num - ana) <= atol + rtol * Math.abs(num))) {
                        throw new GradcheckException("gradcheck: Jacobian mismatch for output element " + o + " with respect to input "
                                + i + " (shape " + Arrays.toString(inputs[i].shape()) + "), element " + e + ": numerical "
                                + num + ", analytical " + ana);
                    }
                }
            }
        }
        return true;
    }

    /** [inputElement][outputElement] by central differences. */
    private static double[][] numericalJacobian(Function<Tensor[], Tensor> fn, Tensor[] inputs, int which, double eps, long outN) {
        Tensor x = inputs[which];
        int n = (int) x.numel();
        double[][] jac = new double[n][];
        try (GradScope s = Kiln.noGrad()) {
            Tensor flat = x.reshape(-1);
            if (!flat.sharesStorageWith(x)) {
                throw new IllegalArgumentException("gradcheck: input " + which + " must be perturbable in place (use a tensor"
                        + " whose reshape(-1) is a view)");
            }
            for (int e = 0; e < n; e++) {
                Tensor cell = flat.narrow(0, e, 1);
                double orig = cell.item();
                cell.fill_(orig + eps);
                double[] plus = fn.apply(inputs).toDoubleArray();
                cell.fill_(orig - eps);
                double[] minus = fn.apply(inputs).toDoubleArray();
                cell.fill_(orig);
                jac[e] = new double[(int) outN];
                for (int o = 0; o < outN; o++) {
                    jac[e][o] = (plus[o] - minus[o]) / (2 * eps);
                }
            }
        }
        return jac;
    }
}
