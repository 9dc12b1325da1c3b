package dev.kiln.kernels;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every kernel the CUDA backend may launch, with its parameter kinds. This list is the Java
 * side's own description of the kernels; the build checks that the PTX built by nvcc and the
 * emulator's registry hold exactly these names with these parameter lists.
 *
 * <p>Names are {@code kiln_<family>_<op>_<dtype>}; the helpers below build them from the SPI's
 * op names ({@code UnaryOp.kernelName()}: {@code "leaky_relu"}) and {@link KernelDType}s. The
 * argument conventions of each family are in {@code docs/kernels.md} and in the comment at the
 * top of each {@code .cu} file.
 */
public final class KernelCatalog {

    /** Float-only unary ops (f32, f64). */
    public static final List<String> UNARY_FLOAT_OPS = List.of(
            "neg", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "gelu",
            "silu", "sign", "floor", "ceil", "round", "reciprocal", "square", "log1p", "expm1", "erf", "clamp",
            "leaky_relu", "elu");
    /** Unary ops that also exist for int64. */
    public static final List<String> UNARY_INT64_OPS = List.of("neg", "abs", "sign", "square", "relu", "clamp");
    /** Binary ops that write the operand dtype. */
    public static final List<String> BINARY_ARITHMETIC_OPS = List.of(
            "add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder");
    /** Binary ops that write bool. */
    public static final List<String> BINARY_BOOL_RESULT_OPS = List.of(
            "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or");
    /** Reductions with the input dtype (or int64 for the arg ones) as output, for f32, f64, i64. */
    public static final List<String> REDUCE_NUMERIC_OPS = List.of("sum", "prod", "max", "min", "argmax", "argmin");
    /** Float-only reductions. */
    public static final List<String> REDUCE_FLOAT_OPS = List.of("mean", "var", "logsumexp");
    /** Reductions to bool, for every dtype but the 16-bit floats. */
    public static final List<String> REDUCE_BOOL_OPS = List.of("all", "any");

    public static final String UNARY = "ppGdd";
    public static final String BINARY = "pppG";
    public static final String WHERE = "ppppG";
    public static final String CAST = "ppG";
    public static final String FILL = "pGl";
    public static final String REDUCE = "ppGGd";
    public static final String SOFTMAX = "ppGlll";
    public static final String CROSS_ENTROPY_FWD = "pppplll";
    public static final String CROSS_ENTROPY_BWD = "pppppllll";
    public static final String GATHER = "pppGlll";
    public static final String INDEX_SELECT = "pppGllll";
    public static final String IM2COL = "pp" + "l".repeat(14) + "d";
    public static final String COL2IM = "pp" + "l".repeat(14);
    public static final String MAXPOOL = "ppp" + "l".repeat(14);
    public static final String AVGPOOL = "pp" + "l".repeat(14);
    public static final String BATCHNORM_STATS = "ppplll";
    public static final String ADAM = "ppppl" + "d".repeat(7) + "ii";
    public static final String RANDOM = "pllldd";
    public static final String DROPOUT = "pppllld";

    private static final Set<KernelDType> FLOATS = EnumSet.of(KernelDType.F32, KernelDType.F64);
    private static final Set<KernelDType> NUMERIC = EnumSet.of(KernelDType.F32, KernelDType.F64, KernelDType.I64);
    private static final Set<KernelDType> LOGICAL =
            EnumSet.of(KernelDType.F32, KernelDType.F64, KernelDType.I64, KernelDType.BOOL);
    private static final Set<KernelDType> ALL = EnumSet.allOf(KernelDType.class);

    private static final KernelCatalog STANDARD = new KernelCatalog();

    private final Map<String, KernelSpec> byName = new LinkedHashMap<>();

    private KernelCatalog() {
        for (KernelDType t : FLOATS) {
            for (String op : UNARY_FLOAT_OPS) {
                add(unary(op, t), UNARY, "unary");
            }
        }
        for (String op : UNARY_INT64_OPS) {
            add(unary(op, KernelDType.I64), UNARY, "unary");
        }
        for (KernelDType t : LOGICAL) {
            add(unary("logical_not", t), UNARY, "unary");
        }
        for (KernelDType t : NUMERIC) {
            for (String op : BINARY_ARITHMETIC_OPS) {
                add(binary(op, t), BINARY, "binary");
            }
            for (String op : BINARY_BOOL_RESULT_OPS) {
                add(binary(op, t), BINARY, "binary");
            }
        }
        for (String op : BINARY_BOOL_RESULT_OPS) {
            add(binary(op, KernelDType.BOOL), BINARY, "binary");
        }
        add(binary("maximum", KernelDType.BOOL), BINARY, "binary");
        add(binary("minimum", KernelDType.BOOL), BINARY, "binary");
        for (KernelDType t : ALL) {
            add(where(t), WHERE, "where");
            add(fill(t), FILL, "fill");
            for (KernelDType to : ALL) {
                add(cast(t, to), CAST, "cast");
            }
        }
        for (KernelDType t : NUMERIC) {
            for (String op : REDUCE_NUMERIC_OPS) {
                add(reduce(op, t), REDUCE, "reduce");
            }
        }
        for (KernelDType t : FLOATS) {
            for (String op : REDUCE_FLOAT_OPS) {
                add(reduce(op, t), REDUCE, "reduce");
            }
        }
        for (KernelDType t : LOGICAL) {
            for (String op : REDUCE_BOOL_OPS) {
                add(reduce(op, t), REDUCE, "reduce");
            }
        }
        for (KernelDType t : FLOATS) {
            add(softmax(false, t), SOFTMAX, "softmax");
            add(softmax(true, t), SOFTMAX, "softmax");
            add(crossEntropyForward(t), CROSS_ENTROPY_FWD, "cross_entropy");
            add(crossEntropyBackward(t), CROSS_ENTROPY_BWD, "cross_entropy");
        }
        for (KernelDType t : ALL) {
            add(gather(t), GATHER, "index");
            add(scatter(t), GATHER, "index");
            add(indexSelect(t), INDEX_SELECT, "index");
        }
        for (KernelDType t : NUMERIC) {
            add(scatterAdd(t), GATHER, "index");
            add(indexAdd(t), INDEX_SELECT, "index");
        }
        for (KernelDType t : FLOATS) {
            add(im2col(t), IM2COL, "conv");
            add(col2im(t), COL2IM, "conv");
            add(maxPool2dForward(t), MAXPOOL, "pool");
            add(maxPool2dBackward(t), MAXPOOL, "pool");
            add(avgPool2dForward(t), AVGPOOL, "pool");
            add(avgPool2dBackward(t), AVGPOOL, "pool");
            add(batchNormStats(t), BATCHNORM_STATS, "batchnorm");
            add(adamStep(t), ADAM, "optim");
            add(randUniform(t), RANDOM, "random");
            add(randNormal(t), RANDOM, "random");
            add(dropout(t), DROPOUT, "random");
        }
    }

    private void add(String name, String kinds, String family) {
        if (byName.put(name, new KernelSpec(name, kinds, family)) != null) {
            throw new IllegalStateException("kernel listed twice: " + name);
        }
    }

    /** The catalog of Kiln's kernels. */
    public static KernelCatalog standard() {
        return STANDARD;
    }

    /** Every kernel, in a stable order. */
    public List<KernelSpec> all() {
        return Collections.unmodifiableList(new ArrayList<>(byName.values()));
    }

    public int size() {
        return byName.size();
    }

    public Optional<KernelSpec> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The kernel of that name, or an exception that says which family lacks it. */
    public KernelSpec require(String name) {
        KernelSpec s = byName.get(name);
        if (s == null) {
            throw new IllegalArgumentException("no kernel named " + name + " (see docs/kernels.md for the kernels"
                    + " and the dtypes each op has)");
        }
        return s;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    // ---- names ------------------------------------------------------------------------------

    private static String op(String op) {
        return op.toLowerCase(Locale.ROOT);
    }

    /** {@code kiln_unary_<op>_<dt>}: op as {@code UnaryOp.kernelName()} spells it. */
    public static String unary(String op, KernelDType t) {
        return "kiln_unary_" + op(op) + "_" + t.suffix();
    }

    /** {@code kiln_binary_<op>_<dt>}, dt being the operands' dtype (comparisons write bool). */
    public static String binary(String op, KernelDType t) {
        return "kiln_binary_" + op(op) + "_" + t.suffix();
    }

    public static String where(KernelDType t) {
        return "kiln_where_" + t.suffix();
    }

    /** Strided copy with conversion; {@code cast(t, t)} is the plain strided copy. */
    public static String cast(KernelDType from, KernelDType to) {
        return "kiln_cast_" + from.suffix() + "_" + to.suffix();
    }

    public static String fill(KernelDType t) {
        return "kiln_fill_" + t.suffix();
    }

    /** {@code kiln_reduce_<op>_<dt>}, dt being the input's dtype. */
    public static String reduce(String op, KernelDType t) {
        return "kiln_reduce_" + op(op) + "_" + t.suffix();
    }

    public static String softmax(boolean log, KernelDType t) {
        return (log ? "kiln_log_softmax_" : "kiln_softmax_") + t.suffix();
    }

    public static String crossEntropyForward(KernelDType t) {
        return "kiln_cross_entropy_fwd_" + t.suffix();
    }

    public static String crossEntropyBackward(KernelDType t) {
        return "kiln_cross_entropy_bwd_" + t.suffix();
    }

    public static String gather(KernelDType t) {
        return "kiln_gather_" + t.suffix();
    }

    public static String scatter(KernelDType t) {
        return "kiln_scatter_" + t.suffix();
    }

    public static String scatterAdd(KernelDType t) {
        return "kiln_scatter_add_" + t.suffix();
    }

    public static String indexSelect(KernelDType t) {
        return "kiln_index_select_" + t.suffix();
    }

    public static String indexAdd(KernelDType t) {
        return "kiln_index_add_" + t.suffix();
    }

    public static String im2col(KernelDType t) {
        return "kiln_im2col_" + t.suffix();
    }

    public static String col2im(KernelDType t) {
        return "kiln_col2im_" + t.suffix();
    }

    public static String maxPool2dForward(KernelDType t) {
        return "kiln_maxpool2d_fwd_" + t.suffix();
    }

    public static String maxPool2dBackward(KernelDType t) {
        return "kiln_maxpool2d_bwd_" + t.suffix();
    }

    public static String avgPool2dForward(KernelDType t) {
        return "kiln_avgpool2d_fwd_" + t.suffix();
    }

    public static String avgPool2dBackward(KernelDType t) {
        return "kiln_avgpool2d_bwd_" + t.suffix();
    }

    public static String batchNormStats(KernelDType t) {
        return "kiln_batchnorm_stats_" + t.suffix();
    }

    public static String adamStep(KernelDType t) {
        return "kiln_adam_step_" + t.suffix();
    }

    public static String randUniform(KernelDType t) {
        return "kiln_rand_uniform_" + t.suffix();
    }

    public static String randNormal(KernelDType t) {
        return "kiln_rand_normal_" + t.suffix();
    }

    public static String dropout(KernelDType t) {
        return "kiln_dropout_" + t.suffix();
    }
}
