package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamX, from Tran Thi Phuong and Le Trieu Phong, "On the Convergence Proof of AMSGrad and a New
 * Version" (IEEE Access 7, 2019; arXiv:1904.03590), Algorithm 2. PyTorch has no AdamX.
 *
 * <p>The paper shows that AMSGrad's convergence proof treats the decaying first-moment weights
 * {@code beta_{1,t}} as if they were equal across steps. AdamX changes AMSGrad's running maximum
 * of the second moment so that {@code sqrt(vhat_t) / (alpha_t (1 - beta_{1,t}))} can never
 * decrease, which is what the proof needs. Per step {@code t = 1, 2, ...}, with gradient {@code g}:
 * <pre>
 * beta1_t = beta1 * lambda^(t-1)                        (the paper's beta_{1,t} = beta_1 lambda^(t-1))
 * m_t     = beta1_t m_{t-1} + (1 - beta1_t) g
 * v_t     = beta2 v_{t-1} + (1 - beta2) g^2
 * vhat_1  = v_1
 * vhat_t  = max( ((1 - beta1_t) / (1 - beta1_{t-1}))^2 * vhat_{t-1},  v_t )      for t &gt;= 2
 * alpha_t = alpha / sqrt(t)          (or alpha when sqrt_decay is off)
 * p      -= alpha_t * m_t / (sqrt(vhat_t) + eps)
 * </pre>
 * The second-moment rule is the one line that differs from AMSGrad, whose rule is
 * {@code vhat_t = max(vhat_{t-1}, v_t)}; with {@code beta1_t} constant (lambda = 1) the factor
 * is 1 and AdamX is AMSGrad. As in the paper there is no bias correction. The paper's analysis
 * (projected online convex optimization) assumes {@code 0 <= beta1 < 1}, {@code 0 < lambda < 1},
 * {@code 0 < beta2 < 1} and {@code beta1 / sqrt(beta2) < 1}; its convergence corollaries also
 * allow {@code beta_{1,t} = beta1 / t}, which Kiln does not offer. The projection onto the
 * feasible set is omitted (unconstrained training). eps is added to {@code sqrt(vhat)} as in the
 * paper's experiments.
 *
 * <table>
 *   <caption>Options (the paper's symbol in parentheses)</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr (alpha)</td><td>{@code lr}</td><td>1e-3</td></tr>
 *   <tr><td>betas (beta_1, beta_2)</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>beta1_decay (lambda)</td><td>{@code beta1Decay}</td><td>0.999</td></tr>
 *   <tr><td>sqrt_decay (alpha_t = alpha / sqrt(t))</td><td>{@code sqrtDecay}</td><td>true</td></tr>
 *   <tr><td>eps (epsilon)</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0 (L2 added to the gradient; not in the paper)</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false (not in the paper)</td></tr>
 * </table>
 * The paper fixes the form of the schedules (beta_{1,t} = beta_1 lambda^(t-1) and
 * alpha_t = alpha / sqrt(t)) but no numeric defaults that Kiln could verify; 1e-3, 0.9, 0.999
 * are Adam's usual values and lambda = 0.999 is Kiln's choice, a slow decay of the momentum
 * weight.
 *
 * <p>State per parameter: {@code step}, {@code exp_avg} (m), {@code exp_avg_sq} (v),
 * {@code max_exp_avg_sq} (vhat).
 */
public class AdamX extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", 1e-3);
        d.put("betas", List.of(0.9, 0.999));
        d.put("beta1_decay", 0.999);
        d.put("sqrt_decay", true);
        d.put("eps", 1e-8);
        d.put("weight_decay", 0.0);
        d.put("maximize", false);
        return d;
    }

    /** AdamX with the default options. */
    public AdamX(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** AdamX with base learning rate {@code lr} (alpha). */
    public AdamX(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** AdamX with options keyed by name (or camelCase); prefer {@link #builder}. */
    public AdamX(Iterable<Tensor> params, Map<String, ?> options) {
        super("AdamX", params, Options.merge("AdamX", defaultOptions(), options));
    }

    /** A builder: {@code AdamX.builder(params).lr(1e-3).beta1Decay(0.99).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        double lambda = Options.toDouble(o.get("beta1_decay"));
        if (!(lambda > 0 && lambda <= 1)) {
            throw new IllegalArgumentException("AdamX: invalid beta1_decay (lambda) " + lambda + " (must be in (0, 1])");
        }
    }

    @Override
    protected void update(ParamGroup group) {
        MomentOptions o = MomentOptions.of(group);
        double beta1 = o.beta1();
        double beta2 = o.beta2();
        double lambda = group.getDouble("beta1_decay");
        boolean sqrtDecay = group.getBoolean("sqrt_decay");
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
                st.put("max_exp_avg_sq", p.zerosLike());
            }
            double t = increment(st.get("step"));
            g = o.withWeightDecay(g, p);
            double beta1t = beta1 * Math.pow(lambda, t - 1);
            Tensor m = st.get("exp_avg");
            Tensor v = st.get("exp_avg_sq");
            Tensor vhat = st.get("max_exp_avg_sq");
            m.mul_(beta1t).add_(g, 1 - beta1t);
            v.mul_(beta2).add_(g.mul(g), 1 - beta2);
            if (t == 1) {
                vhat.copy_(v);
            } else {
                double beta1Prev = beta1 * Math.pow(lambda, t - 2);
                double ratio = (1 - beta1t) / (1 - beta1Prev);
                // The AdamX rule: the previous maximum grows by ((1 - beta1_t) / (1 - beta1_{t-1}))^2 first.
                vhat.mul_(ratio * ratio);
                vhat.copy_(vhat.maximum(v));
            }
            double alphaT = sqrtDecay ? o.lr() / Math.sqrt(t) : o.lr();
            p.add_(m.div(vhat.sqrt().add_(o.eps())), -alphaT);
        }
    }

    /** Builder for {@link AdamX}. */
    public static final class Builder extends MomentsBuilder<Builder, AdamX> {
        Builder(Iterable<Tensor> params) {
            super(params, AdamX::new);
        }

        /** lambda in beta_{1,t} = beta_1 lambda^(t-1), in (0, 1]. */
        public Builder beta1Decay(double lambda) {
            return set("beta1_decay", lambda);
        }

        /** Whether the step size is alpha / sqrt(t) (the paper's alpha_t) or a constant alpha. */
        public Builder sqrtDecay(boolean sqrtDecay) {
            return set("sqrt_decay", sqrtDecay);
        }
    }
}
