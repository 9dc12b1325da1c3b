package dev.kiln.optim;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The behaviour that defines AdamX (its second-moment rule) and AdamZ (its rate adjustments). */
class AdamXAdamZTest {

    static Tensor scalarParam(double v) {
        return Tensor.full(new long[] {1}, v, DType.FLOAT64, Device.cpu()).requiresGrad(true);
    }

    static double vhat(Optimizer opt, Tensor p) {
        return opt.stateDict().state().get(0).get("max_exp_avg_sq").item();
    }

    /**
     * Three steps worked by hand with lr 0.1, beta1 0.9, lambda 0.5, beta2 0.999, eps 1e-8 and
     * gradients 1, 0.1, 0.1: after the first step the gradient shrinks, so v_t falls below the
     * rescaled previous maximum and AdamX's rule, not v_t, sets vhat.
     */
    @Test
    void adamXSecondMomentRuleOnHandComputedSteps() {
        Tensor p = scalarParam(1.0);
        AdamX opt = AdamX.builder(List.of(p)).lr(0.1).betas(0.9, 0.999).beta1Decay(0.5).eps(1e-8).build();
        double eps = 1e-8;

        // t = 1: beta1_1 = 0.9; m = 0.1; v = 0.001; vhat_1 = v_1 = 0.001; alpha_1 = 0.1.
        p.setGrad(Tensor.full(new long[] {1}, 1.0, DType.FLOAT64, Device.cpu()));
        opt.step();
        assertEquals(0.001, vhat(opt, p), 1e-18);
        double x1 = 1.0 - 0.1 * 0.1 / (Math.sqrt(0.001) + eps);
        assertEquals(x1, p.item(), 1e-15);

        // t = 2: beta1_2 = 0.45; m = 0.45*0.1 + 0.55*0.1 = 0.1; v = 0.999*0.001 + 0.001*0.01 = 0.001009;
        // ratio = (1 - 0.45) / (1 - 0.9) = 5.5, so vhat_2 = max(30.25 * 0.001, 0.001009) = 0.03025
        // (AMSGrad would keep max(0.001, 0.001009) = 0.001009); alpha_2 = 0.1 / sqrt(2).
        p.setGrad(Tensor.full(new long[] {1}, 0.1, DType.FLOAT64, Device.cpu()));
        opt.step();
        assertEquals(0.03025, vhat(opt, p), 1e-15);
        double x2 = x1 - 0.1 / Math.sqrt(2) * 0.1 / (Math.sqrt(0.03025) + eps);
        assertEquals(x2, p.item(), 1e-14);

        // t = 3: beta1_3 = 0.225; m = 0.225*0.1 + 0.775*0.1 = 0.1; v = 0.999*0.001009 + 0.001*0.01 = 0.001017991;
        // ratio = 0.775 / 0.55, so vhat_3 = max(0.03025 * (0.775/0.55)^2, v_3) = 0.0600625.
        opt.step();
        double expected = 0.03025 * (0.775 / 0.55) * (0.775 / 0.55);
        assertEquals(0.0600625, expected, 1e-15);
        assertEquals(expected, vhat(opt, p), 1e-15);
        assertEquals(0.001017991, opt.stateDict().state().get(0).get("exp_avg_sq").item(), 1e-15);
        double x3 = x2 - 0.1 / Math.sqrt(3) * 0.1 / (Math.sqrt(expected) + eps);
        assertEquals(x3, p.item(), 1e-14);
    }

    @Test
    void adamXTakesTheNewSecondMomentWhenItIsLarger() {
        Tensor p = scalarParam(0.0);
        AdamX opt = AdamX.builder(List.of(p)).lr(0.1).beta1Decay(0.5).sqrtDecay(false).build();
        p.setGrad(Tensor.full(new long[] {1}, 0.01, DType.FLOAT64, Device.cpu()));
        opt.step(); // v_1 = 1e-7
        p.setGrad(Tensor.full(new long[] {1}, 10.0, DType.FLOAT64, Device.cpu()));
        opt.step(); // v_2 = 0.999e-7 + 0.1 beats 30.25 * 1e-7
        assertEquals(0.999 * 1e-7 + 0.001 * 100, vhat(opt, p), 1e-15);
    }

    @Test
    void adamXWithoutDecayIsAMSGradWithoutBiasCorrection() {
        Tensor p = scalarParam(0.0);
        AdamX opt = AdamX.builder(List.of(p)).lr(0.1).beta1Decay(1.0).sqrtDecay(false).build();
        double[] grads = {1.0, 0.1, 3.0, 0.2};
        double m = 0;
        double v = 0;
        double vmax = 0;
        double x = 0;
        for (double g : grads) {
            p.setGrad(Tensor.full(new long[] {1}, g, DType.FLOAT64, Device.cpu()));
            opt.step();
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            vmax = Math.max(vmax, v);
            x -= 0.1 * m / (Math.sqrt(vmax) + 1e-8);
            assertEquals(vmax, vhat(opt, p), 1e-15);
            assertEquals(x, p.item(), 1e-12);
        }
    }

    static AdamZ adamZ(Tensor p, double lr) {
        return AdamZ.builder(List.of(p)).lr(lr).patience(4).stagnationPeriod(2).overshootFactor(0.5).stagnationFactor(1.2)
                .stagnationThreshold(0.2).minLr(1e-4).maxLr(0.013).build();
    }

    static void stepWith(AdamZ opt, Tensor p, double loss) {
        p.setGrad(p.zerosLike());
        opt.step(loss);
    }

    @Test
    void adamZLowersTheRateOnOvershoot() {
        Tensor p = scalarParam(1.0);
        AdamZ opt = adamZ(p, 0.01);
        ParamGroup g = opt.paramGroups().get(0);
        for (double loss : new double[] {1.0, 0.9, 0.8}) {
            stepWith(opt, p, loss);
            assertEquals(0.01, g.lr(), 0, "no adjustment before the window of 4 losses is full");
        }
        // Window [1.0, 0.9, 0.8, 1.5]: 1.5 is its largest loss (overshoot); the spread of the last two
        // (std 0.35) is not below 0.2 x the window's (0.27), so no stagnation.
        stepWith(opt, p, 1.5);
        assertEquals(0.005, g.lr(), 1e-15);
        // Window [0.9, 0.8, 1.5, 2.0]: overshoot again (recent std 0.25 vs 0.2 x 0.48: no stagnation).
        stepWith(opt, p, 2.0);
        assertEquals(0.0025, g.lr(), 1e-15);
        // Window [0.8, 1.5, 2.0, 1.0]: neither rule fires.
        stepWith(opt, p, 1.0);
        assertEquals(0.0025, g.lr(), 1e-15);
    }

    @Test
    void adamZRaisesTheRateOnStagnation() {
        Tensor p = scalarParam(1.0);
        AdamZ opt = adamZ(p, 0.01);
        ParamGroup g = opt.paramGroups().get(0);
        // Window [5, 3, 1, 1]: the last two losses do not move (std 0) while the window does.
        for (double loss : new double[] {5, 3, 1, 1}) {
            stepWith(opt, p, loss);
        }
        assertEquals(0.012, g.lr(), 1e-15);
        // Window [3, 1, 1, 1]: stagnation again, 0.0144 is clamped to max_lr 0.013.
        stepWith(opt, p, 1);
        assertEquals(0.013, g.lr(), 1e-15);
        assertEquals(List.of(3.0, 1.0, 1.0, 1.0), opt.lossHistory());
    }

    @Test
    void adamZNeverGoesBelowMinLr() {
        Tensor p = scalarParam(1.0);
        AdamZ opt = adamZ(p, 0.01);
        for (int i = 0; i < 20; i++) {
            stepWith(opt, p, i); // rising loss: overshoot on every full window
        }
        assertEquals(1e-4, opt.paramGroups().get(0).lr(), 1e-18);
    }

    @Test
    void adamZStepIsAdamsStepWhileTheRateHolds() {
        Tensor a = scalarParam(1.0);
        Tensor b = scalarParam(1.0);
        AdamZ z = AdamZ.builder(List.of(a)).lr(0.05).patience(100).build();
        Adam adam = new Adam(List.of(b), 0.05);
        double[] grads = {0.3, -1.2, 0.7, 0.05};
        for (double g : grads) {
            a.setGrad(Tensor.full(new long[] {1}, g, DType.FLOAT64, Device.cpu()));
            b.setGrad(Tensor.full(new long[] {1}, g, DType.FLOAT64, Device.cpu()));
            z.step(1.0);
            adam.step();
            assertArrayEquals(b.toDoubleArray(), a.toDoubleArray(), 0);
        }
        z.step(); // no loss: no adjustment, even with a loss window
        assertEquals(0.05, z.paramGroups().get(0).lr());
    }

    @Test
    void adamZRefusesBadFactors() {
        Tensor p = scalarParam(1.0);
        assertThrows(IllegalArgumentException.class, () -> AdamZ.builder(List.of(p)).overshootFactor(1.5).build());
        assertThrows(IllegalArgumentException.class, () -> AdamZ.builder(List.of(p)).stagnationFactor(0.9).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamZ.builder(List.of(p)).minLr(0.1).maxLr(0.01).build());
        assertTrue(e.getMessage().contains("min_lr"), e.getMessage());
    }
}
