package dev.kiln;

/**
 * Whether operations record the autograd graph on the current thread. On by default; scopes from
 * {@link Kiln#noGrad()} and {@link Kiln#enableGrad()} nest and restore the previous state.
 */
final class GradMode {

    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});
    private static volatile boolean anomaly;

    private GradMode() {
    }

    static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Sets the mode and returns the previous one. */
    static boolean set(boolean enabled) {
        boolean[] cell = ENABLED.get();
        boolean previous = cell[0];
        cell[0] = enabled;
        return previous;
    }

    static boolean anomalyEnabled() {
        return anomaly;
    }

    static void setAnomaly(boolean on) {
        anomaly = on;
    }
}
