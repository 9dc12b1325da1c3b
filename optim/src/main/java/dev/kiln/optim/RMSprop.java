package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RMSprop (Hinton), as {@code torch.optim.RMSprop} in PyTorch 1.13, with momentum and the
 * centered variant.
 *
 * <p>Per step: {@code g += weight_decay * p}; {@code v = alpha v + (1 - alpha) g^2};
 * {@code avg = sqrt(v) + eps}, or when centered {@code gavg = alpha gavg + (1 - alpha) g} and
 * {@code avg = sqrt(v - gavg^2) + eps} (eps after the square root, as PyTorch); with momentum
 * {@code buf = momentum buf + g / avg} and {@code p -= lr buf}, else {@code p -= lr g / avg}.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>1e-2</td></tr>
 *   <tr><td>alpha</td><td>{@code alpha}</td><td>0.99</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-8</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>momentum</td><td>{@code momentum}</td><td>0</td></tr>
 *   <tr><td>centered</td><td>{@code centered}</td><td>false</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: {@code step} (a 0-dim float32 tensor; PyTorch keeps a Python int),
 * {@code square_avg}, {@code momentum_buffer} (momentum only), {@code grad_avg} (centered only).
 */
public class RMSprop extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", 1e-2);
        d.put("alpha", 0.99);
        d.put("eps", 1e-8);
        d.put("weight_decay", 0.0);
        d.put("momentum", 0.0);
        d.put("centered", false);
        d.put("maximize", false);
        return d;
    }

    /** RMSprop with the default options. */
    public RMSprop(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** RMSprop with learning rate {@code lr}. */
    public RMSprop(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** RMSprop with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public RMSprop(Iterable<Tensor> params, Map<String, ?> options) {
        super("RMSprop", params, Options.merge("RMSprop", defaultOptions(), options));
    }

    /** A builder: {@code RMSprop.builder(params).lr(1e-2).momentum(0.9).centered(true).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "momentum");
        checkNonNegative(o, "alpha");
    }

    @Override
    protected void update(ParamGroup group) {
        double lr = group.lr();
        double alpha = group.getDouble("alpha");
        double eps = group.getDouble("eps");
        double weightDecay = group.getDouble("weight_decay");
        double momentum = group.getDouble("momentum");
        boolean centered = group.getBoolean("centered");
        boolean maximize = group.getBoolean("maximize");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, maximize);
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("square_avg", p.zerosLike());
                if (momentum > 0) {
                    st.put("momentum_buffer", p.zerosLike());
                }
                if (centered) {
                    st.put("grad_avg", p.zerosLike());
                }
            }
            increment(st.get("step"));
            g = withWeightDecay(g, p, weightDecay);
            Tensor sq = st.get("square_avg");
            sq.mul_(alpha).add_(g.mul(g), 1 - alpha);
            Tensor avg;
            if (centered) {
                Tensor gavg = st.computeIfAbsent("grad_avg", k -> p.zerosLike());
                gavg.mul_(alpha).add_(g, 1 - alpha);
                avg = sq.sub(gavg.mul(gavg)).sqrt();
            } else {
                avg = sq.sqrt();
            }
            avg = avg.add(eps);
            if (momentum > 0) {
                Tensor buf = st.computeIfAbsent("momentum_buffer", k -> p.zerosLike());
                buf.mul_(momentum).add_(g.div(avg));
                p.add_(buf, -lr);
            } else {
                p.add_(g.div(avg), -lr);
            }
        }
    }

    /** Builder for {@link RMSprop}. */
    public static final class Builder extends OptimizerBuilder<Builder, RMSprop> {
        Builder(Iterable<Tensor> params) {
            super(params, RMSprop::new);
        }

        /** Smoothing constant of the squared-gradient average. */
        public Builder alpha(double alpha) {
            return set("alpha", alpha);
        }

        /** Term added to the denominator. */
        public Builder eps(double eps) {
            return set("eps", eps);
        }

        /** Momentum factor. */
        public Builder momentum(double momentum) {
            return set("momentum", momentum);
        }

        /** Normalize by an estimate of the gradient's variance instead of its second moment. */
        public Builder centered(boolean centered) {
            return set("centered", centered);
        }
    }
}
