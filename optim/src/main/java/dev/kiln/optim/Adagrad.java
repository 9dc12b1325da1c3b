package dev.kiln.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adagrad (Duchi et al., 2011), as {@code torch.optim.Adagrad} in PyTorch 1.13 (dense gradients).
 *
 * <p>Per step {@code t}: {@code g += weight_decay * p}; {@code clr = lr / (1 + (t - 1) lr_decay)};
 * {@code sum += g^2}; {@code p -= clr * g / (sqrt(sum) + eps)}.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>builder</th><th>default</th></tr>
 *   <tr><td>lr</td><td>{@code lr}</td><td>1e-2</td></tr>
 *   <tr><td>lr_decay</td><td>{@code lrDecay}</td><td>0</td></tr>
 *   <tr><td>weight_decay</td><td>{@code weightDecay}</td><td>0</td></tr>
 *   <tr><td>initial_accumulator_value</td><td>{@code initialAccumulatorValue}</td><td>0</td></tr>
 *   <tr><td>eps</td><td>{@code eps}</td><td>1e-10</td></tr>
 *   <tr><td>maximize</td><td>{@code maximize}</td><td>false</td></tr>
 * </table>
 * State per parameter: {@code step}, {@code sum}. PyTorch creates them in the constructor; Kiln
 * creates them on a parameter's first step, with the same values.
 */
public class Adagrad extends Optimizer {

    private static Map<String, Object> defaultOptions() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("lr", 1e-2);
        d.put("lr_decay", 0.0);
        d.put("weight_decay", 0.0);
        d.put("initial_accumulator_value", 0.0);
        d.put("eps", 1e-10);
        d.put("maximize", false);
        return d;
    }

    /** Adagrad with the default options. */
    public Adagrad(Iterable<Tensor> params) {
        this(params, Map.of());
    }

    /** Adagrad with learning rate {@code lr}. */
    public Adagrad(Iterable<Tensor> params, double lr) {
        this(params, Map.of("lr", lr));
    }

    /** Adagrad with options keyed by PyTorch's names (or camelCase); prefer {@link #builder}. */
    public Adagrad(Iterable<Tensor> params, Map<String, ?> options) {
        super("Adagrad", params, Options.merge("Adagrad", defaultOptions(), options));
    }

    /** A builder: {@code Adagrad.builder(params).lr(0.1).lrDecay(0.01).build()}. */
    public static Builder builder(Iterable<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void validate(Map<String, Object> o) {
        super.validate(o);
        checkNonNegative(o, "lr_decay");
        checkNonNegative(o, "initial_accumulator_value");
    }

    @Override
    protected void update(ParamGroup group) {
        double lr = group.lr();
        double lrDecay = group.getDouble("lr_decay");
        double weightDecay = group.getDouble("weight_decay");
        double init = group.getDouble("initial_accumulator_value");
        double eps = group.getDouble("eps");
        boolean maximize = group.getBoolean("maximize");
        for (Tensor p : group.params()) {
            Tensor g = gradOf(p, maximize);
            if (g == null) {
                continue;
            }
            Map<String, Tensor> st = state(p);
            if (st.isEmpty()) {
                st.put("step", cpuScalar(0));
                st.put("sum", p.fullLike(init));
            }
            double step = increment(st.get("step"));
            g = withWeightDecay(g, p, weightDecay);
            double clr = lr / (1 + (step - 1) * lrDecay);
            Tensor sum = st.get("sum");
            sum.add_(g.mul(g));
            Tensor std = sum.sqrt().add_(eps);
            p.add_(g.div(std), -clr);
        }
    }

    /** Builder for {@link Adagrad}. */
    public static final class Builder extends OptimizerBuilder<Builder, Adagrad> {
        Builder(Iterable<Tensor> params) {
            super(params, Adagrad::new);
        }

        /** Learning-rate decay per step. */
        public Builder lrDecay(double lrDecay) {
            return set("lr_decay", lrDecay);
        }

        /** Starting value of the squared-gradient sum. */
        public Builder initialAccumulatorValue(double value) {
            return set("initial_accumulator_value", value);
        }

        /** Term added to the denominator. */
        public Builder eps(double eps) {
            return set("eps", eps);
        }
    }
}
