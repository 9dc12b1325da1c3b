package dev.kiln.optim;

import dev.kiln.Fused;
import dev.kiln.Tensor;

import java.util.Map;

/**
 * Adam (Kingma and Ba, 2015), as {@code torch.optim.Adam} in PyTorch 1.13, with the AMSGrad
 * variant.
 *
 * <p>Per step {@code t}, with gradient {@code g} (negated first when {@code maximize}):
 * {@code g += weight_decay * p} (an L2 penalty, not AdamW's decoupled decay);
 * {@code m = beta1 m + (1 - beta1) g}; {@code v = beta2 v + (1 - beta2) g^2}; with
 * {@code amsgrad}, {@code vmax = max(vmax, v)} replaces {@code v} below;
 * {@code p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)}: eps is added after
 * the bias-corrected square root, as PyTorch does.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>1e-3</td></tr>
 *   <tr><td>betas</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>amsgrad</td><td>{@code amsgrad}</td><td>false</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: {@code step} (0-dim float32), {@code exp_avg}, {@code exp_avg_sq},
 * {@code max_exp_avg_sq} (amsgrad only).
 */
public class Adam extends Optimizer {

    /** The options of Adam's step (also AdamW's and AdamZ's), in PyTorch's order. */
    static Map<String, Object> adamDefaults(double lr, double weightDecay) {
        Map<String, Object> d = MomentOptions.defaults(lr, weightDecay);
        d.put("amsgrad", false);
        d.put("maximize", false);
        return d;
    }

    /** Adam with the default options. */
    public Adam(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** Adam with learning rate {@code lr}, as {@code torch.optim.Adam(params, lr=lr)}. */
    public Adam(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** Adam with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public Adam(Iterable<Tensor> params, Map<String, ?> options) {
        super("Adam", params, Options.merge("Adam", adamDefaults(1e-3, 0), options));
    }


    /** A builder: {@code Adam.builder(params).lr(1e-3).betas(0.9, 0.999).amsgrad(true).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void update(ParamGroup group) {
        update(this, group, false);
    }

    /** The Adam step shared with AdamW ({@code decoupled}: weight decay scales p instead of adding to g). */
    static void update(Optimizer opt, ParamGroup group, boolean decoupled) {
        MomentOptions o = MomentOptions.of(group);
        double lr = o.lr();
        double beta1 = o.beta1();
        double beta2 = o.beta2();
        boolean amsgrad = group.getBoolean("amsgrad");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, o.maximize());
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = opt.state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("exp_avg", p.zerosLike());
                st.put("exp_avg_sq", p.zerosLike());
                if (amsgrad) {
                    st.put("max_exp_avg_sq", p.zerosLike());
                }
            }
            double step = increment(st.get("step"));
            if (!amsgrad) {
                // One pass over parameter, gradient and moments, no temporaries; the same arithmetic as below.
                Fused.adamStep(p, p.grad(), st.get("exp_avg"), st.get("exp_avg_sq"), lr, beta1, beta2, o.eps(), o.weightDecay(),
                        step, decoupled, o.maximize());
                continue;
            }
            if (decoupled) {
                p.mul_(1 - lr * o.weightDecay());
            } else {
                g = o.withWeightDecay(g, p);
            }
            Tensor m = st.get("exp_avg");
            Tensor v = st.get("exp_avg_sq");
            m.mul_(beta1).add_(g, 1 - beta1);
            v.mul_(beta2).add_(g.mul(g), 1 - beta2);
            double bias1 = 1 - Math.pow(beta1, step);
            double bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
            Tensor second = v;
            if (amsgrad) {
                Tensor vmax = st.computeIfAbsent("max_exp_avg_sq", k -> p.zerosLike());
                vmax.copy_(vmax.maximum(v));
                second = vmax;
            }
            Tensor denom = second.sqrt().div(bias2Sqrt).add_(o.eps());
            p.add_(m.div(denom), -lr / bias1);
        }
    }

    /** Builder for {@link Adam}. */
    public static final class Builder extends AmsgradBuilder<Builder, Adam> {
        Builder(Iterable<Tensor> params) {
            super(params, Adam::new);
        }
    }
}
