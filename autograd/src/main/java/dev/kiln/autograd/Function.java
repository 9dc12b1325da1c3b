package dev.kiln.autograd;

import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.graph.CustomBackward;

/**
 * A user-defined differentiable operation, as {@code torch.autograd.Function}: implement
 * {@link #forward} (run without recording) and {@link #backward}, then call {@link #apply}. The
 * result composes with every other op.
 *
 * <pre>{@code
 * class Cube extends Function {
 *     protected Tensor forward(FunctionContext ctx, Tensor... in) {
 *         ctx.saveForBackward(in[0]);
 *         return in[0].pow(3);
 *     }
 *     protected Tensor[] backward(FunctionContext ctx, Tensor g) {
 *         Tensor x = ctx.savedTensors()[0];
 *         return new Tensor[] {g.mul(x.square()).mul(3)};
 *     }
 * }
 * }</pre>
 */
public abstract class Function {

    /** Computes the output; runs with grad mode off. */
    protected abstract Tensor forward(FunctionContext ctx, Tensor... inputs);

    /** One gradient per input (null where an input needs none), given the output's gradient. */
    protected abstract Tensor[] backward(FunctionContext ctx, Tensor gradOutput);

    /** Runs forward and records this function in the graph when an input requires grad. */
    public final Tensor apply(Tensor... inputs) {
        FunctionContext ctx = new FunctionContext();
        String name = getClass().getSimpleName().isEmpty() ? "Function" : getClass().getSimpleName();
        ctx.name(name);
        Tensor out;
        try (GradScope s = Kiln.noGrad()) {
            // A fresh tensor object, so that recording never rewrites an input's history.
            out = forward(ctx, inputs).detach();
        }
        return Tensor.recordCustom(out, inputs, new CustomBackward() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Tensor[] backward(Tensor gradOutput) {
                return Function.this.backward(ctx, gradOutput);
            }

            @Override
            public void release() {
                ctx.release();
            }
        });
    }
}
