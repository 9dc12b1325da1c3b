package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.Map;
import java.util.Set;

/**
 * NAdam, Adam with Nesterov momentum (Dozat, 2016), as {@code torch.optim.NAdam} in PyTorch 1.13.
 *
 * <p>Per step {@code t}: {@code g += weight_decay * p}; the momentum schedule
 * {@code mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))}; {@code mu_product *= mu_t} (kept in
 * float32 whatever the parameter's dtype, as PyTorch keeps it); {@code m} and {@code v} as Adam;
 * {@code denom = sqrt(v / (1 - beta2^t)) + eps};
 * {@code p -= lr (1 - mu_t) / (1 - mu_product) * g / denom
 *          + lr mu_{t+1} / (1 - mu_product * mu_t * mu_{t+1}) * m / denom}, where the extra
 * {@code mu_t} in the last denominator is PyTorch 1.13's (later versions drop it).
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>2e-3</td></tr>
 *   <tr><td>betas</td><td>{@code betas}</td><td>(0.9, 0.999)</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>momentum_decay</td><td>{@code momentumDecay}</td><td>4e-3</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false (a Kiln addition; PyTorch 1.13's NAdam has none)</td></tr>
 * </table>
 * State per parameter: {@code step}, {@code mu_product} (0-dim float32), {@code exp_avg},
 * {@code exp_avg_sq}.
 */
public class NAdam extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = MomentOptions.defaults(2e-3, 0.0);
        d.put("momentum_decay", 4e-3);
        d.put("maximize", false);
        return d;
    }

    /** NAdam with the default options. */
    public NAdam(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** NAdam with learning rate {@code lr}. */
    public NAdam(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** NAdam with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public NAdam(Iterable<Tensor> params, Map<String, ?> options) {
        super("NAdam", params, Options.merge("NAdam", defaultOptions(), options));
    }

    /** A builder: {@code NAdam.builder(params).lr(2e-3).momentumDecay(4e-3).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "momentum_decay");
    }

    @Override
    protected Set<String> scalarStateKeys() {
        return Set.of("step", "mu_product");
    }

    @Override
    protected void update(ParamGroup group) {
        MomentOptions o = MomentOptions.of(group);
        double lr = o.lr();
        double beta1 = o.beta1();
        double beta2 = o.beta2();
        double momentumDecay = group.getDouble("momentum_decay");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, o.maximize());
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("mu_product", cpuScalar(1));
                st.put("exp_avg", p.zerosLike());
                st.put("exp_avg_sq", p.zerosLike());
            }
            double step = increment(st.get("step"));
            double bias2 = 1 - Math.pow(beta2, step);
            g = o.withWeightDecay(g, p);
            double mu = beta1 * (1 - 0.5 * Math.pow(0.96, step * momentumDecay));
            double muNext = beta1 * (1 - 0.5 * Math.pow(0.96, (step + 1) * momentumDecay));
            // PyTorch keeps mu_product in a float32 tensor and multiplies by the float32-rounded mu,
            // so the product is rounded to float at each step even for float64 parameters.
            Tensor muProductT = st.get("mu_product");
            float muProduct = (float) muProductT.item() * (float) mu;
            // PyTorch 1.13 multiplies the updated product by mu once more here (mu_product * mu * mu_next,
            // where the paper has mu_product * mu_next); Kiln matches 1.13's numbers.
            float muProductNext = muProduct * (float) mu * (float) muNext;
            muProductT.fill_(muProduct);
            Tensor m = st.get("exp_avg");
            Tensor v = st.get("exp_avg_sq");
            m.mul_(beta1).add_(g, 1 - beta1);
            v.mul_(beta2).add_(g.mul(g), 1 - beta2);
            Tensor denom = v.div(bias2).sqrt().add_(o.eps());
            p.add_(g.div(denom), -lr * (1 - mu) / (1 - (double) muProduct));
            p.add_(m.div(denom), -lr * muNext / (1 - (double) muProductNext));
        }
    }

    /** Builder for {@link NAdam}. */
    public static final class Builder extends MomentsBuilder<Builder, NAdam> {
        Builder(Iterable<Tensor> params) {
            super(params, NAdam::new);
        }

        /** The momentum schedule's decay ({@code psi} in Dozat's paper). */
        public Builder momentumDecay(double momentumDecay) {
            return set("momentum_decay", momentumDecay);
        }
    }
}
