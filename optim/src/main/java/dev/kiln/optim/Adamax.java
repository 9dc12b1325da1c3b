package dev.kiln.optim;

import dev.kiln.Tensor;

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
        Map<String, Object> d = MomentOptions.defaults(2e-3, 0.0);
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
    protected void update(ParamGroup group) {
        MomentOptions o = MomentOptions.of(group);
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, o.maximize());
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
            g = o.withWeightDecay(g, p);
            Tensor m = st.get("exp_avg");
            Tensor u = st.get("exp_inf");
            m.mul_(o.beta1()).add_(g, 1 - o.beta1());
            u.mul_(o.beta2());
            u.copy_(u.maximum(g.abs().add(o.eps())));
            double clr = o.lr() / (1 - Math.pow(o.beta1(), step));
            p.add_(m.div(u), -clr);
        }
    }

    /** Builder for {@link Adamax}. */
    public static final class Builder extends MomentsBuilder<Builder, Adamax> {
        Builder(Iterable<Tensor> params) {
            super(params, Adamax::new);
        }
    }
}
