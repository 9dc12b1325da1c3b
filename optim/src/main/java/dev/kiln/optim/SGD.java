package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stochastic gradient descent with optional momentum, as {@code torch.optim.SGD} (PyTorch 1.13).
 *
 * <p>Per step, with gradient {@code g} (negated when {@code maximize}): {@code g += weight_decay *
 * p}; with momentum, {@code buf = g} on the first step, then {@code buf = momentum * buf + (1 -
 * dampening) * g}, and the direction is {@code g + momentum * buf} (Nesterov) or {@code buf};
 * finally {@code p -= lr * direction}.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>required</td></tr>
 *   <tr><td>momentum</td><td>{@code momentum}</td><td>0</td></tr>
 *   <tr><td>dampening</td><td>{@code dampening}</td><td>0</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>nesterov</td><td>{@code nesterov}</td><td>false (needs momentum &gt; 0, dampening 0)</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: {@code momentum_buffer} (only when momentum is not 0).
 */
public class SGD extends Optimizer {

    private static Map<String, Object> defaultsWith(Map<String, ?> options) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", null);
        d.put("momentum", 0.0);
        d.put("dampening", 0.0);
        d.put("weight_decay", 0.0);
        d.put("nesterov", false);
        d.put("maximize", false);
        return Options.merge("SGD", d, options);
    }

    /** Plain SGD with learning rate {@code lr}, as {@code torch.optim.SGD(params, lr=lr)}. */
    public SGD(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** SGD with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public SGD(Iterable<Tensor> params, Map<String, ?> options) {
        super("SGD", params, defaultsWith(options));
    }

    /** A builder: {@code SGD.builder(params).lr(0.1).momentum(0.9).nesterov(true).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "momentum");
        if (Boolean.TRUE.equals(o.get("nesterov"))
                && (Options.toDouble(o.get("momentum")) <= 0 || Options.toDouble(o.get("dampening")) != 0)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening");
        }
    }

    @Override
    protected void update(ParamGroup group) {
        double lr = group.lr();
        double momentum = group.getDouble("momentum");
        double dampening = group.getDouble("dampening");
        double weightDecay = group.getDouble("weight_decay");
        boolean nesterov = group.getBoolean("nesterov");
        boolean maximize = group.getBoolean("maximize");
        for (Tensor p : group.params()) {
            Tensor d = gradOf(p, maximize);
            if (d == null) {
                continue;
            }
            d = withWeightDecay(d, p, weightDecay);
            if (momentum != 0) {
                Map<String, Tensor> st = state(p);
                Tensor buf = st.get("momentum_buffer");
                if (buf == null) {
                    // The first step takes the gradient as it is, without dampening (PyTorch's rule).
                    buf = d.clone();
                    st.put("momentum_buffer", buf);
                } else {
                    buf.mul_(momentum).add_(d, 1 - dampening);
                }
                d = nesterov ? d.add(buf, momentum) : buf;
            }
            p.add_(d, -lr);
        }
    }

    /** Builder for {@link SGD}. */
    public static final class Builder extends OptimizerBuilder<Builder, SGD> {
        Builder(Iterable<Tensor> params) {
            super(params, SGD::new);
        }

        /** Momentum factor. */
        public Builder momentum(double momentum) {
            return set("momentum", momentum);
        }

        /** Dampening of the gradient's contribution to the momentum buffer. */
        public Builder dampening(double dampening) {
            return set("dampening", dampening);
        }

        /** Nesterov momentum. */
        public Builder nesterov(boolean nesterov) {
            return set("nesterov", nesterov);
        }
    }
}
