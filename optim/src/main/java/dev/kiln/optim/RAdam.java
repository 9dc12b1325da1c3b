package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.Map;

/**
 * RAdam, rectified Adam (Liu et al., 2020), as {@code torch.optim.RAdam} in PyTorch 1.13.
 *
 * <p>Per step {@code t}: {@code g += weight_decay * p}; {@code m} and {@code v} as Adam;
 * {@code rho_inf = 2 / (1 - beta2) - 1}, {@code rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)}.
 * When {@code rho_t > 5} the variance is tractable and the step is rectified:
 * {@code p -= lr * m / (1 - beta1^t) * r_t * sqrt(1 - beta2^t) / (sqrt(v) + eps)} with
 * {@code r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))};
 * otherwise the step is SGD with momentum, {@code p -= lr * m / (1 - beta1^t)}.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>1e-3</td></tr>
 *   <tr><td>betas</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false (a Kiln addition; PyTorch 1.13's RAdam has none)</td></tr>
 * </table>
 * State per parameter: {@code step}, {@code exp_avg}, {@code exp_avg_sq}.
 */
public class RAdam extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = MomentOptions.defaults(1e-3, 0.0);
        d.put("maximize", false);
        return d;
    }

    /** RAdam with the default options. */
    public RAdam(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** RAdam with learning rate {@code lr}. */
    public RAdam(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** RAdam with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public RAdam(Iterable<Tensor> params, Map<String, ?> options) {
        super("RAdam", params, Options.merge("RAdam", defaultOptions(), options));
    }

    /** A builder: {@code RAdam.builder(params).lr(1e-3).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void update(ParamGroup group) {
        MomentOptions o = MomentOptions.of(group);
        double beta1 = o.beta1();
        double beta2 = o.beta2();
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, o.maximize());
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("exp_avg", p.zerosLike());
                st.put("exp_avg_sq", p.zerosLike());
            }
            double step = increment(st.get("step"));
            double bias1 = 1 - Math.pow(beta1, step);
            double bias2 = 1 - Math.pow(beta2, step);
            g = o.withWeightDecay(g, p);
            Tensor m = st.get("exp_avg");
            Tensor v = st.get("exp_avg_sq");
            m.mul_(beta1).add_(g, 1 - beta1);
            v.mul_(beta2).add_(g.mul(g), 1 - beta2);
            Tensor mHat = m.div(bias1);
            double rhoInf = 2 / (1 - beta2) - 1;
            double rhoT = rhoInf - 2 * step * Math.pow(beta2, step) / bias2;
            if (rhoT > 5) {
                double rect = Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
                Tensor adaptive = Tensor.scalar(Math.sqrt(bias2), p.dtype(), p.device()).div(v.sqrt().add_(o.eps()));
                p.add_(mHat.mul(o.lr()).mul(adaptive).mul(rect), -1.0);
            } else {
                p.add_(mHat.mul(o.lr()), -1.0);
            }
        }
    }

    /** Builder for {@link RAdam}. */
    public static final class Builder extends MomentsBuilder<Builder, RAdam> {
        Builder(Iterable<Tensor> params) {
            super(params, RAdam::new);
        }
    }
}
