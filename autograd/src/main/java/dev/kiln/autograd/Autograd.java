package dev.kiln.autograd;

import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.List;

/** Functional autograd, as {@code torch.autograd.grad}: gradients returned, no {@code grad} touched. */
public final class Autograd {

    private static final Engine ENGINE = new Engine();

    private Autograd() {
    }

    /** d(output)/d(inputs) for a scalar output. */
    public static List<Tensor> grad(Tensor output, List<Tensor> inputs) {
        return grad(List.of(output), Arrays.asList((Tensor) null), inputs, false, false, false);
    }

    /** d(output)/d(inputs) weighted by {@code gradOutput}, optionally keeping the graph or recording the backward. */
    public static List<Tensor> grad(Tensor output, Tensor gradOutput, List<Tensor> inputs, boolean retainGraph,
                                    boolean createGraph) {
        return grad(List.of(output), Arrays.asList(gradOutput), inputs, retainGraph, createGraph, false);
    }

    /** The general form; with {@code allowUnused} an input the outputs do not depend on gets null. */
    public static List<Tensor> grad(List<Tensor> outputs, List<Tensor> gradOutputs, List<Tensor> inputs,
                                    boolean retainGraph, boolean createGraph, boolean allowUnused) {
        return ENGINE.grad(outputs, gradOutputs, inputs, retainGraph || createGraph, createGraph, allowUnused);
    }

    /** Backpropagates from several outputs at once, as {@code torch.autograd.backward}. */
    public static void backward(List<Tensor> outputs, List<Tensor> gradOutputs, boolean retainGraph) {
        ENGINE.backward(outputs, gradOutputs, retainGraph, false);
    }
}
