package dev.kiln.optim;

import dev.kiln.Fused;
import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
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

    static Map<String, Object> adamDefaults(double lr, double weightDecay) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("betas", List.of(0.9, 0.999));
        d.put("eps", 1e-8);
        d.put("weight_decay", weightDecay);
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
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "eps");
        checkNonNegative(o, "weight_decay");
        checkBetas(o);
    }

    @Override
    protected void update(ParamGroup group) {
        update(this, group, false);
    }

    /** The Adam step shared with AdamW ({@code decoupled}: weight decay scales p instead of adding to g). */
    static void update(Optimizer opt, ParamGroup group, boolean decoupled) {
        double lr = group.lr();
        double[] betas = group.getDoubles("betas");
        double beta1 = betas[0];
        double beta2 = betas[1];
        double eps = group.getDouble("eps");
        double weightDecay = group.getDouble("weight_decay");
        boolean amsgrad = group.getBoolean("amsgrad");
        boolean maximize = group.getBoolean("maximize");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, maximize);
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
                Fused.adamStep(p, p.grad(), st.get("exp_avg"), st.get("exp_avg_sq"), lr, beta1, beta2, eps, weightDecay, step,
                        decoupled, maximize);
                continue;
            }
            if (decoupled) {
                p.mul_(1 - lr * weightDecay);
            } else if (weightDecay != 0) {
                g = g.add(p, weightDecay);
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
            Tensor denom = second.sqrt().div(bias2Sqrt).add_(eps);
            p.add_(m.div(denom), -lr / bias1);
        }
    }

    /** Builder for {@link Adam}. */
    public static final class Builder extends OptimizerBuilder<Builder, Adam> {
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

        /** The AMSGrad variant: divide by the running maximum of the second moment. */
        public Builder amsgrad(boolean amsgrad) {
            return set("amsgrad", amsgrad);
        }

        @Override
        public Adam build() {
            return new Adam(params, options);
        }
    }
}
