package dev.kiln.autograd;

/** Thrown by {@link GradCheck} when analytical and numerical gradients disagree. */
public class GradcheckException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public GradcheckException(String message) {
        super(message);
    }
}
