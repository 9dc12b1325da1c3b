package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter, 2019), as {@code torch.optim.AdamW} in PyTorch 1.13: Adam with
 * decoupled weight decay. Each step first scales the parameter, {@code p *= 1 - lr *
 * weight_decay}, then takes {@link Adam}'s step without any penalty in the gradient.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>1e-3</td></tr>
 *   <tr><td>betas</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0.01 (PyTorch's default, unlike Adam's 0)</td></tr>
 *   <tr><td>amsgrad</td><td>{@code amsgrad}</td><td>false</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: as {@link Adam}.
 */
public class AdamW extends Optimizer {

    /** AdamW with the default options. */
    public AdamW(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** AdamW with learning rate {@code lr}. */
    public AdamW(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** AdamW with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public AdamW(Iterable<Tensor> params, Map<String, ?> options) {
        super("AdamW", params, Options.merge("AdamW", Adam.adamDefaults(1e-3, 1e-2), options));
    }

    /** A builder: {@code AdamW.builder(params).lr(1e-3).weightDecay(0.05).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "eps");
        checkNonNegative(o, "weight_decay");
        checkBetas(o);
    }

    @Override
    protected void update(ParamGroup group) {
        Adam.update(this, group, true);
    }

    /** Builder for {@link AdamW}. */
    public static final class Builder extends OptimizerBuilder<Builder, AdamW> {
        Builder(Iterable<Tensor> params) {
            super(params);
        }

        /** Decay rates of the first and second moment averages. */
        public Builder betas(double beta1, double beta2) {
            return set("betas", List.of(beta1, beta2));
        }

        /** Term added to the denominator. */
        public Builder eps(double eps) {
            return set("eps", eps);
        }

        /** The AMSGrad variant. */
        public Builder amsgrad(boolean amsgrad) {
            return set("amsgrad", amsgrad);
        }

        @Override
        public AdamW build() {
            return new AdamW(params, options);
        }
    }
}
