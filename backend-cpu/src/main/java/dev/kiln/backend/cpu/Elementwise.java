package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.BinaryOp;
import dev.kiln.spi.UnaryOp;

import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

/**
 * Strided elementwise kernels: copy with casts, fill, unary, binary and where. Float types compute
 * in double and round once; int64 computes in long; the hottest float32 ops have their own loops so
 * that the JIT can vectorise them.
 */
final class Elementwise {

    private Elementwise() {
    }

    // ------------------------------------------------------------------ element access by dtype

    /** Reads element i of a storage as a double (bool is 0/1, 16-bit floats are widened). */
    static double read(CpuStorage s, int i) {
        return switch (s.dtype()) {
            case FLOAT32 -> s.floats()[i];
            case FLOAT64 -> s.doubles()[i];
            case INT64 -> s.longs()[i];
            case BOOL -> s.bools()[i] ? 1 : 0;
            case FLOAT16 -> HalfFloats.halfToFloat(s.shorts()[i]);
            case BFLOAT16 -> HalfFloats.bf16ToFloat(s.shorts()[i]);
        };
    }

    /** Writes a double into element i, converting as a cast does (float to int truncates). */
    static void write(CpuStorage s, int i, double v) {
        switch (s.dtype()) {
            case FLOAT32 -> s.floats()[i] = (float) v;
            case FLOAT64 -> s.doubles()[i] = v;
            case INT64 -> s.longs()[i] = (long) v;
            case BOOL -> s.bools()[i] = v != 0;
            case FLOAT16 -> s.shorts()[i] = HalfFloats.floatToHalf((float) v);
            case BFLOAT16 -> s.shorts()[i] = HalfFloats.floatToBf16((float) v);
        }
    }

    static void requireComputable(String op, DType t) {
        if (t == DType.FLOAT16 || t == DType.BFLOAT16) {
            throw new UnsupportedOperationException(op + ": the CPU backend stores " + t + " but does not compute in it;"
                    + " convert with to(DType.FLOAT32) first");
        }
    }

    // ------------------------------------------------------------------ copy and fill

    static void copy(CpuStorage src, Layout sl, CpuStorage dst, Layout dl) {
        Strided it = new Strided(sl, dl);
        int ss = it.innerStride(0);
        int ds = it.innerStride(1);
        DType s = src.dtype();
        DType d = dst.dtype();
        if (s == d) {
            Object a = src.data();
            Object o = dst.data();
            it.forEachRow((st, n) -> {
                if (ss == 1 && ds == 1) {
                    System.arraycopy(a, st[0], o, st[1], n);
                    return;
                }
                switch (s) {
                    case FLOAT32 -> {
                        float[] x = (float[]) a;
                        float[] y = (float[]) o;
                        for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                            y[q] = x[p];
                        }
                    }
                    case FLOAT64 -> {
                        double[] x = (double[]) a;
                        double[] y = (double[]) o;
                        for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                            y[q] = x[p];
                        }
                    }
                    case INT64 -> {
                        long[] x = (long[]) a;
                        long[] y = (long[]) o;
                        for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                            y[q] = x[p];
                        }
                    }
                    case BOOL -> {
                        boolean[] x = (boolean[]) a;
                        boolean[] y = (boolean[]) o;
                        for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                            y[q] = x[p];
                        }
                    }
                    case FLOAT16, BFLOAT16 -> {
                        short[] x = (short[]) a;
                        short[] y = (short[]) o;
                        for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                            y[q] = x[p];
                        }
                    }
                }
            });
        } else if (s == DType.FLOAT32 && d == DType.FLOAT64) {
            float[] x = src.floats();
            double[] y = dst.doubles();
            it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                    y[q] = x[p];
                }
            });
        } else if (s == DType.FLOAT64 && d == DType.FLOAT32) {
            double[] x = src.doubles();
            float[] y = dst.floats();
            it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                    y[q] = (float) x[p];
                }
            });
        } else if (s == DType.BOOL && d == DType.FLOAT32) {
            boolean[] x = src.bools();
            float[] y = dst.floats();
            it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                    y[q] = x[p] ? 1f : 0f;
                }
            });
        } else if (s == DType.FLOAT32 && d == DType.BOOL) {
            float[] x = src.floats();
            boolean[] y = dst.bools();
            it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                    y[q] = x[p] != 0;
                }
            });
        } else {
            // Other casts go through double; int64 values beyond 2^53 only matter to int-to-int copies, handled above.
            it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += ss, q += ds) {
                    write(dst, q, read(src, p));
                }
            });
        }
    }

    static void fill(CpuStorage dst, Layout l, double value) {
        Strided it = new Strided(l);
        int ds = it.innerStride(0);
        switch (dst.dtype()) {
            case FLOAT32 -> {
                float v = (float) value;
                float[] y = dst.floats();
                it.forEachRow((st, n) -> {
                    for (int j = 0, q = st[0]; j < n; j++, q += ds) {
                        y[q] = v;
                    }
                });
            }
            case FLOAT64 -> {
                double[] y = dst.doubles();
                it.forEachRow((st, n) -> {
                    for (int j = 0, q = st[0]; j < n; j++, q += ds) {
                        y[q] = value;
                    }
                });
            }
            default -> it.forEachRow((st, n) -> {
                for (int j = 0, q = st[0]; j < n; j++, q += ds) {
                    write(dst, q, value);
                }
            });
        }
    }

    // ------------------------------------------------------------------ unary

    /**
     * A unary op on one float value, as one static switch: a loop calling it has one monomorphic
     * call site instead of a megamorphic lambda call per element. Float types compute in double.
     */
    static double apply(UnaryOp op, double x, double p0, double p1) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> SpecialFunctions.sigmoid(x);
            case RELU -> x > 0 ? x : (Double.isNaN(x) ? x : 0);
            case GELU -> SpecialFunctions.gelu(x);
            case SILU -> x * SpecialFunctions.sigmoid(x);
            case SIGN -> Double.isNaN(x) ? 0 : SpecialFunctions.sign(x);
            case FLOOR -> Math.floor(x);
            case CEIL -> Math.ceil(x);
            case ROUND -> Math.rint(x);
            case RECIPROCAL -> 1 / x;
            case SQUARE -> x * x;
            case LOG1P -> Math.log1p(x);
            case EXPM1 -> Math.expm1(x);
            case ERF -> SpecialFunctions.erf(x);
            case LOGICAL_NOT -> x == 0 ? 1 : 0;
            case CLAMP -> Double.isNaN(x) ? x : Math.min(Math.max(x, p0), p1);
            case LEAKY_RELU -> x > 0 ? x : x * p0;
            case ELU -> x > 0 ? x : p0 * Math.expm1(x);
        };
    }

    private static LongUnaryOperator longFunction(UnaryOp op, double p0, double p1) {
        return switch (op) {
            case NEG -> x -> -x;
            case ABS -> Math::abs;
            case RELU -> x -> Math.max(x, 0);
            case SIGN -> Long::signum;
            case FLOOR, CEIL, ROUND -> x -> x;
            case SQUARE -> x -> x * x;
            case LOGICAL_NOT -> x -> x == 0 ? 1 : 0;
            case CLAMP -> x -> (long) Math.min(Math.max(x, p0), p1);
            default -> throw new UnsupportedOperationException(op.kernelName() + ": not defined for int64 tensors");
        };
    }

    static void unary(UnaryOp op, double p0, double p1, CpuStorage src, Layout sl, CpuStorage dst, Layout dl) {
        requireComputable(op.kernelName(), src.dtype());
        Strided it = new Strided(sl, dl);
        int as = it.innerStride(0);
        int os = it.innerStride(1);
        switch (src.dtype()) {
            case FLOAT32 -> {
                float[] a = src.floats();
                float[] o = dst.floats();
                if (as == 1 && os == 1 && unitRunOp(op)) {
                    it.forEachRow((st, n) -> unitRun(op, a, st[0], o, st[1], n));
                    return;
                }
                if (floatFastPath(op, it, a, as, o, os)) {
                    return;
                }
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                        o[q] = (float) apply(op, a[p], p0, p1);
                    }
                });
            }
            case FLOAT64 -> {
                double[] a = src.doubles();
                double[] o = dst.doubles();
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                        o[q] = apply(op, a[p], p0, p1);
                    }
                });
            }
            case INT64 -> {
                long[] a = src.longs();
                long[] o = dst.longs();
                LongUnaryOperator f = longFunction(op, p0, p1);
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                        o[q] = f.applyAsLong(a[p]);
                    }
                });
            }
            case BOOL -> {
                boolean[] a = src.bools();
                boolean[] o = dst.bools();
                boolean not = switch (op) {
                    case LOGICAL_NOT -> true;
                    case ABS, RELU, SIGN, FLOOR, CEIL, ROUND, SQUARE, CLAMP -> false;
                    default -> throw new UnsupportedOperationException(op.kernelName() + ": not defined for bool tensors");
                };
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                        o[q] = a[p] ^ not;
                    }
                });
            }
            default -> throw new AssertionError(src.dtype());
        }
    }

    /** Float32 ops with a branch-free, vectorisable loop over unit-stride runs ({@link #unitRun}). */
    private static boolean unitRunOp(UnaryOp op) {
        return switch (op) {
            case RELU, NEG, SQUARE, ABS, SIGN, SQRT, RECIPROCAL -> true;
            default -> false;
        };
    }

    /**
     * {@code o[oo + j] = op(a[ao + j])} for {@code j < n}: unit-stride runs (whole contiguous
     * tensors, or rows of them) in loops C2 vectorises, with the results of the strided loops. The
     * loops have no data-dependent branches: with random signs a branch per element mispredicts
     * half the time and ran 10x slower.
     */
    static void unitRun(UnaryOp op, float[] a, int ao, float[] o, int oo, int n) {
        switch (op) {
            case RELU -> {
                // max(x, 0) is relu exactly: NaN stays NaN, -0 becomes +0.
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.max(a[ao + j], 0f);
                }
            }
            case NEG -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = -a[ao + j];
                }
            }
            case SQUARE -> {
                for (int j = 0; j < n; j++) {
                    float x = a[ao + j];
                    o[oo + j] = x * x;
                }
            }
            case ABS -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.abs(a[ao + j]);
                }
            }
            case SIGN -> {
                if (signRun(a, ao, o, oo, n)) {
                    return;
                }
                for (int j = 0; j < n; j++) {
                    float x = a[ao + j];
                    o[oo + j] = x > 0 ? 1f : x < 0 ? -1f : x == x ? x : 0f;
                }
            }
            case SQRT -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = (float) Math.sqrt(a[ao + j]);
                }
            }
            case RECIPROCAL -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = 1f / a[ao + j];
                }
            }
            default -> throw new AssertionError(op);
        }
    }

    /**
     * sign(x) without branches: {@code clamp(x * MAX * MAX, -1, 1)} is -1, 0 (keeping the sign of
     * zero) or 1 for every number, but NaN for NaN, where sign is 0. A max-reduction notices NaN
     * in the same pass; the run is then redone by the exact loop (returns false). Only for
     * {@code o} not aliasing {@code a} at other positions.
     */
    static boolean signRun(float[] a, int ao, float[] o, int oo, int n) {
        float seen = 0f;
        for (int j = 0; j < n; j++) {
            float x = a[ao + j];
            seen = Math.max(seen, x);
            o[oo + j] = Math.min(Math.max(x * Float.MAX_VALUE * Float.MAX_VALUE, -1f), 1f);
        }
        return seen == seen;
    }

    /** Dedicated float32 loops for the unary ops that dominate training, so the JIT inlines and vectorises them. */
    private static boolean floatFastPath(UnaryOp op, Strided it, float[] a, int as, float[] o, int os) {
        switch (op) {
            case RELU -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    float x = a[p];
                    o[q] = x > 0 || x != x ? x : 0f;
                }
            });
            case NEG -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = -a[p];
                }
            });
            case SQUARE -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = a[p] * a[p];
                }
            });
            case ABS -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = Math.abs(a[p]);
                }
            });
            case SIGN -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    float x = a[p];
                    o[q] = x > 0 ? 1f : x < 0 ? -1f : x == x ? x : 0f;
                }
            });
            case EXP -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = (float) Math.exp(a[p]);
                }
            });
            case SQRT -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = (float) Math.sqrt(a[p]);
                }
            });
            case TANH -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = (float) Math.tanh(a[p]);
                }
            });
            case SIGMOID -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1]; j < n; j++, p += as, q += os) {
                    o[q] = (float) SpecialFunctions.sigmoid(a[p]);
                }
            });
            default -> {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ binary

    /** A binary op on float values, as one static switch (see {@link #apply(UnaryOp, double, double, double)}). */
    static double apply(BinaryOp op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case POW -> Math.pow(x, y);
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            case REMAINDER -> SpecialFunctions.remainder(x, y);
            case EQ -> x == y ? 1 : 0;
            case NE -> x != y ? 1 : 0;
            case LT -> x < y ? 1 : 0;
            case LE -> x <= y ? 1 : 0;
            case GT -> x > y ? 1 : 0;
            case GE -> x >= y ? 1 : 0;
            case LOGICAL_AND -> x != 0 && y != 0 ? 1 : 0;
            case LOGICAL_OR -> x != 0 || y != 0 ? 1 : 0;
        };
    }

    private static LongBinaryOperator longFunction(BinaryOp op) {
        return switch (op) {
            case ADD -> Long::sum;
            case SUB -> (x, y) -> x - y;
            case MUL -> (x, y) -> x * y;
            case DIV -> (x, y) -> {
                if (y == 0) {
                    throw new ArithmeticException("div: integer division by zero");
                }
                return Math.floorDiv(x, y);
            };
            case POW -> Elementwise::longPow;
            case MAXIMUM -> Math::max;
            case MINIMUM -> Math::min;
            case REMAINDER -> (x, y) -> {
                if (y == 0) {
                    throw new ArithmeticException("remainder: integer division by zero");
                }
                return Math.floorMod(x, y);
            };
            case EQ -> (x, y) -> x == y ? 1 : 0;
            case NE -> (x, y) -> x != y ? 1 : 0;
            case LT -> (x, y) -> x < y ? 1 : 0;
            case LE -> (x, y) -> x <= y ? 1 : 0;
            case GT -> (x, y) -> x > y ? 1 : 0;
            case GE -> (x, y) -> x >= y ? 1 : 0;
            case LOGICAL_AND -> (x, y) -> x != 0 && y != 0 ? 1 : 0;
            case LOGICAL_OR -> (x, y) -> x != 0 || y != 0 ? 1 : 0;
        };
    }

    private static long longPow(long base, long exp) {
        if (exp < 0) {
            throw new ArithmeticException("pow: integers to negative integer powers are not allowed");
        }
        long r = 1;
        long b = base;
        while (exp > 0) {
            if ((exp & 1) != 0) {
                r *= b;
            }
            b *= b;
            exp >>= 1;
        }
        return r;
    }

    static void binary(BinaryOp op, CpuStorage a, Layout al, CpuStorage b, Layout bl, CpuStorage dst, Layout dl) {
        requireComputable(op.kernelName(), a.dtype());
        Strided it = new Strided(al, bl, dl);
        int as = it.innerStride(0);
        int bs = it.innerStride(1);
        int os = it.innerStride(2);
        boolean cmp = op.isComparison();
        switch (a.dtype()) {
            case FLOAT32 -> {
                float[] x = a.floats();
                float[] y = b.floats();
                if (cmp) {
                    boolean[] o = dst.bools();
                    if (floatCompareFastPath(op, it, x, as, y, bs, o, os)) {
                        return;
                    }
                    it.forEachRow((st, n) -> {
                        for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                            o[r] = apply(op, x[p], y[q]) != 0;
                        }
                    });
                    return;
                }
                float[] o = dst.floats();
                if (floatFastPath(op, it, x, as, y, bs, o, os)) {
                    return;
                }
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                        o[r] = (float) apply(op, x[p], y[q]);
                    }
                });
            }
            case FLOAT64 -> {
                double[] x = a.doubles();
                double[] y = b.doubles();
                if (cmp) {
                    boolean[] o = dst.bools();
                    it.forEachRow((st, n) -> {
                        for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                            o[r] = apply(op, x[p], y[q]) != 0;
                        }
                    });
                    return;
                }
                double[] o = dst.doubles();
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                        o[r] = apply(op, x[p], y[q]);
                    }
                });
            }
            case INT64 -> {
                long[] x = a.longs();
                long[] y = b.longs();
                LongBinaryOperator f = longFunction(op);
                if (cmp) {
                    boolean[] o = dst.bools();
                    it.forEachRow((st, n) -> {
                        for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                            o[r] = f.applyAsLong(x[p], y[q]) != 0;
                        }
                    });
                    return;
                }
                long[] o = dst.longs();
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                        o[r] = f.applyAsLong(x[p], y[q]);
                    }
                });
            }
            case BOOL -> {
                boolean[] x = a.bools();
                boolean[] y = b.bools();
                boolean[] o = dst.bools();
                LongBinaryOperator f = longFunction(op == BinaryOp.ADD ? BinaryOp.LOGICAL_OR
                        : op == BinaryOp.MUL ? BinaryOp.LOGICAL_AND
                        : op == BinaryOp.MAXIMUM ? BinaryOp.LOGICAL_OR
                        : op == BinaryOp.MINIMUM ? BinaryOp.LOGICAL_AND : op);
                it.forEachRow((st, n) -> {
                    for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                        o[r] = f.applyAsLong(x[p] ? 1 : 0, y[q] ? 1 : 0) != 0;
                    }
                });
            }
            default -> throw new AssertionError(a.dtype());
        }
    }

    /** Dedicated float32 loops for the arithmetic that dominates training. */
    private static boolean floatFastPath(BinaryOp op, Strided it, float[] x, int as, float[] y, int bs, float[] o, int os) {
        boolean arithmetic = op == BinaryOp.ADD || op == BinaryOp.SUB || op == BinaryOp.MUL || op == BinaryOp.DIV
                || op == BinaryOp.MAXIMUM || op == BinaryOp.MINIMUM;
        if (arithmetic && os == 1 && (as == 1 || as == 0) && (bs == 1 || bs == 0) && (as | bs) != 0) {
            // Unit-stride runs, or runs against one value per run (a scalar, a broadcast column).
            it.forEachRow((st, n) -> {
                if (as == 1 && bs == 1) {
                    unitRun(op, x, st[0], y, st[1], o, st[2], n);
                } else if (as == 1) {
                    valueRun(op, x, st[0], y[st[1]], false, o, st[2], n);
                } else {
                    valueRun(op, y, st[1], x[st[0]], true, o, st[2], n);
                }
            });
            return true;
        }
        switch (op) {
            case ADD -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] + y[q];
                }
            });
            case SUB -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] - y[q];
                }
            });
            case MUL -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] * y[q];
                }
            });
            case DIV -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] / y[q];
                }
            });
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code o[oo + j] = x[xo + j] op y[yo + j]} for {@code j < n}: loops over one induction
     * variable with fixed offsets, which C2 vectorises (the strided loops, stepping each operand by
     * a variable stride, it does not).
     */
    static void unitRun(BinaryOp op, float[] x, int xo, float[] y, int yo, float[] o, int oo, int n) {
        switch (op) {
            case ADD -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] + y[yo + j];
                }
            }
            case SUB -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] - y[yo + j];
                }
            }
            case MUL -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] * y[yo + j];
                }
            }
            case DIV -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] / y[yo + j];
                }
            }
            case MAXIMUM -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.max(x[xo + j], y[yo + j]);
                }
            }
            default -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.min(x[xo + j], y[yo + j]);
                }
            }
        }
    }

    /**
     * {@code o[oo + j] = x[xo + j] op v} for {@code j < n}, or {@code v op x[xo + j]} when
     * {@code swapped}: a run against a scalar or a value broadcast along the run.
     */
    static void valueRun(BinaryOp op, float[] x, int xo, float v, boolean swapped, float[] o, int oo, int n) {
        switch (op) {
            case ADD -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] + v;
                }
            }
            case SUB -> {
                if (swapped) {
                    for (int j = 0; j < n; j++) {
                        o[oo + j] = v - x[xo + j];
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        o[oo + j] = x[xo + j] - v;
                    }
                }
            }
            case MUL -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = x[xo + j] * v;
                }
            }
            case DIV -> {
                if (swapped) {
                    for (int j = 0; j < n; j++) {
                        o[oo + j] = v / x[xo + j];
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        o[oo + j] = x[xo + j] / v;
                    }
                }
            }
            case MAXIMUM -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.max(x[xo + j], v);
                }
            }
            default -> {
                for (int j = 0; j < n; j++) {
                    o[oo + j] = Math.min(x[xo + j], v);
                }
            }
        }
    }

    private static boolean floatCompareFastPath(BinaryOp op, Strided it, float[] x, int as, float[] y, int bs,
                                                boolean[] o, int os) {
        switch (op) {
            case GT -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] > y[q];
                }
            });
            case LT -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] < y[q];
                }
            });
            case EQ -> it.forEachRow((st, n) -> {
                for (int j = 0, p = st[0], q = st[1], r = st[2]; j < n; j++, p += as, q += bs, r += os) {
                    o[r] = x[p] == y[q];
                }
            });
            default -> {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ where

    static void where(CpuStorage cond, Layout cl, CpuStorage a, Layout al, CpuStorage b, Layout bl,
                      CpuStorage dst, Layout dl) {
        Strided it = new Strided(cl, al, bl, dl);
        int cs = it.innerStride(0);
        int as = it.innerStride(1);
        int bs = it.innerStride(2);
        int os = it.innerStride(3);
        boolean[] c = cond.bools();
        if (dst.dtype() == DType.FLOAT32) {
            float[] x = a.floats();
            float[] y = b.floats();
            float[] o = dst.floats();
            it.forEachRow((st, n) -> {
                for (int j = 0, k = st[0], p = st[1], q = st[2], r = st[3]; j < n; j++, k += cs, p += as, q += bs, r += os) {
                    o[r] = c[k] ? x[p] : y[q];
                }
            });
            return;
        }
        if (dst.dtype() == DType.INT64) {
            long[] x = a.longs();
            long[] y = b.longs();
            long[] o = dst.longs();
            it.forEachRow((st, n) -> {
                for (int j = 0, k = st[0], p = st[1], q = st[2], r = st[3]; j < n; j++, k += cs, p += as, q += bs, r += os) {
                    o[r] = c[k] ? x[p] : y[q];
                }
            });
            return;
        }
        it.forEachRow((st, n) -> {
            for (int j = 0, k = st[0], p = st[1], q = st[2], r = st[3]; j < n; j++, k += cs, p += as, q += bs, r += os) {
                write(dst, r, c[k] ? read(a, p) : read(b, q));
            }
        });
    }
}
