package dev.kiln.backend.cpu;

/** Scalar functions Java's Math lacks, accurate to double precision (gradcheck differentiates them). */
final class SpecialFunctions {

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;
    private static final double SQRT_HALF = 0.7071067811865476;

    private SpecialFunctions() {
    }

    /**
     * The error function. For |x| < 3 the everywhere-positive series
     * {@code erf(x) = 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (2n+1)!!} (no cancellation); beyond, the
     * continued fraction for erfc.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        double r;
        if (a < 3) {
            double x2 = a * a;
            double term = a;
            double sum = a;
            for (int n = 1; n < 200; n++) {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
                if (term < sum * 1e-17) {
                    break;
                }
            }
            r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        } else if (a < 6.5) {
            r = 1 - erfcContinuedFraction(a);
        } else {
            r = 1;
        }
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x >= 3 by the Laplace continued fraction, evaluated bottom-up. */
    private static double erfcContinuedFraction(double x) {
        double f = x;
        for (int k = 60; k >= 1; k--) {
            f = x + (k / 2.0) / f;
        }
        return Math.exp(-x * x) * ONE_OVER_SQRT_PI / f;
    }

    /** GELU, exact form: {@code x * Phi(x)}. */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x * SQRT_HALF));
    }

    static double sigmoid(double x) {
        // Split by sign so exp never overflows.
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** Python/PyTorch remainder: the result takes the divisor's sign. */
    static double remainder(double a, double b) {
        double r = a % b;
        if (r != 0 && (r < 0) != (b < 0)) {
            r += b;
        }
        return r;
    }

    static double sign(double x) {
        return x > 0 ? 1 : x < 0 ? -1 : 0 * x;
    }
}
