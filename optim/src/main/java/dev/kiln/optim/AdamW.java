package dev.kiln.optim;

import dev.kiln.Tensor;

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
    protected void update(ParamGroup group) {
        Adam.update(this, group, true);
    }

    /** Builder for {@link AdamW}. */
    public static final class Builder extends AmsgradBuilder<Builder, AdamW> {
        Builder(Iterable<Tensor> params) {
            super(params, AdamW::new);
        }
    }
}
