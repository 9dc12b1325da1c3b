package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adamax, Adam's infinity-norm variant (Kingma and Ba, 2015), as {@code torch.optim.Adamax} in
 * PyTorch 1.13.
 *
 * <p>Per step {@code t}: {@code g += weight_decay * p}; {@code m = beta1 m + (1 - beta1) g};
 * {@code u = max(beta2 u, |g| + eps)} (eps inside the maximum, as PyTorch);
 * {@code p -= lr / (1 - beta1^t) * m / u}.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>2e-3</td></tr>
 *   <tr><td>betas</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: {@code step}, {@code exp_avg}, {@code exp_inf}.
 */
public class Adamax extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", 2e-3);
        d.put("betas", List.of(0.9, 0.999));
        d.put("eps", 1e-8);
        d.put("weight_decay", 0.0);
        d.put("maximize", false);
        return d;
    }

    /** Adamax with the default options. */
    public Adamax(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** Adamax with learning rate {@code lr}. */
    public Adamax(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** Adamax with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public Adamax(Iterable<Tensor> params, Map<String, ?> options) {
        super("Adamax", params, Options.merge("Adamax", defaultOptions(), options));
    }

    /** A builder: {@code Adamax.builder(params).lr(2e-3).build()}. */
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
        double lr = group.lr();
        double[] betas = group.getDoubles("betas");
        double beta1 = betas[0];
        double beta2 = betas[1];
        double eps = group.getDouble("eps");
        double weightDecay = group.getDouble("weight_decay");
        boolean maximize = group.getBoolean("maximize");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, maximize);
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("exp_avg", p.zerosLike());
                st.put("exp_inf", p.zerosLike());
            }
            double step = increment(st.get("step"));
            if (weightDecay != 0) {
                g = g.add(p, weightDecay);
            }
            Tensor m = st.get("exp_avg");
            Tensor u = st.get("exp_inf");
            m.mul_(beta1).add_(g, 1 - beta1);
            u.mul_(beta2);
            u.copy_(u.maximum(g.abs().add(eps)));
            double clr = lr / (1 - Math.pow(beta1, step));
            p.add_(m.div(u), -clr);
        }
    }

    /** Builder for {@link Adamax}. */
    public static final class Builder extends OptimizerBuilder<Builder, Adamax> {
        Builder(Iterable<Tensor> params) {
            super(params);
        }

        /** Decay rates of the first moment and of the infinity norm. */
        public Builder betas(double beta1, double beta2) {
            return set("betas", List.of(beta1, beta2));
        }

        /** Term added to |g| inside the running maximum. */
        public Builder eps(double eps) {
            return set("eps", eps);
        }

        @Override
        public Adamax build() {
            return new Adamax(params, options);
        }
    }
}
