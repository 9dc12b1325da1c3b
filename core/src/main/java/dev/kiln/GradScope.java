package dev.kiln;

/**
 * A grad-mode scope from {@link Kiln#noGrad()} or {@link Kiln#enableGrad()}; closing it restores
 * the mode that was in force when it opened. Use it with try-with-resources on one thread.
 */
public final class GradScope implements AutoCloseable {

    private final boolean previous;
    private boolean closed;

    GradScope(boolean enabled) {
        this.previous = GradMode.set(enabled);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            GradMode.set(previous);
        }
    }
}
