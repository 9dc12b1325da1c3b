package dev.kiln.graph;

/**
 * Every differentiable operation that core records. A {@link Node} carries the kind, edges to its
 * inputs, the tensors its derivative needs and its attributes; the derivative rules live in the
 * autograd module, in one exhaustive switch over this enum, so adding a kind without a rule fails
 * the build. Attribute conventions (what {@link Node#ints()}, {@link Node#longs()},
 * {@link Node#doubles()} and {@link Node#attr()} hold) are given per kind; "saved" lists
 * {@link Node#saved()} in order.
 */
public enum OpKind {
    // Binary, inputs (a, b), outputs broadcast; each saves what its rule needs (null otherwise).
    /** saved: none. */
    ADD,
    /** saved: none. */
    SUB,
    /** saved: (a or null, b or null): a when b needs grad, b when a does. */
    MUL,
    /** saved: (a or null, b). */
    DIV,
    /** saved: (a, b, out). */
    POW,
    /** saved: (a, b). */
    MAXIMUM,
    /** saved: (a, b). */
    MINIMUM,
    /** inputs (a, b); saved: (cond). */
    WHERE,

    // Unary, input (x).
    NEG,
    /** saved: (x). */
    ABS,
    /** saved: (out). */
    EXP,
    /** saved: (x). */
    LOG,
    /** saved: (out). */
    SQRT,
    /** saved: (out). */
    RSQRT,
    /** saved: (x). */
    SIN,
    /** saved: (x). */
    COS,
    /** saved: (out). */
    TANH,
    /** saved: (out). */
    SIGMOID,
    /** saved: (out). */
    RELU,
    /** saved: (x). */
    GELU,
    /** saved: (x). */
    SILU,
    /** saved: (x). */
    LOG1P,
    /** saved: (out). */
    EXPM1,
    /** saved: (x). */
    ERF,
    /** saved: (out). */
    RECIPROCAL,
    /** saved: (x). */
    SQUARE,
    /** saved: (x); doubles: (lo, hi), infinite when absent. */
    CLAMP,
    /** saved: (x); doubles: (slope). */
    LEAKY_RELU,
    /** saved: (x, out); doubles: (alpha). */
    ELU,
    /** Piecewise-constant ops (sign, floor, ceil, round): the gradient is zero. */
    STEP,

    // Reductions, input (x).
    /** ints: the reduced dims (sorted); attr: Boolean keepdim. */
    SUM,
    /** saved: (x, out); ints: dims; attr: keepdim. */
    PROD,
    /** amax/amin and full max/min: the gradient is shared evenly among ties. saved: (x, out); ints: dims; attr: keepdim. */
    EXTREMUM,
    /** saved: (out); ints: (dim). */
    SOFTMAX,
    /** saved: (out); ints: (dim). */
    LOG_SOFTMAX,
    /**
     * Matrix product of rank-3 inputs (a, b) with equal batches, or of rank-2 inputs. saved: (a or null,
     * b or null); ints (rank 2 only): (a transposed ? 1 : 0, b transposed ? 1 : 0), the layout to make each
     * gradient in.
     */
    MATMUL,

    // Shape and movement.
    /** The input shape is in {@link Node#inputShape(int)}. */
    RESHAPE,
    /** ints: the permutation. */
    PERMUTE,
    /** Broadcast to a larger shape; the gradient is summed back to {@link Node#inputShape(int)}. */
    EXPAND,
    /** longs: (dim, start, length, step). */
    SLICE,
    /** longs: (dim, index). */
    SELECT,
    /** Inputs are the pieces; ints: (dim). */
    CAT,
    /** Identity on values: clone, contiguous. */
    CLONE,
    /** dtype conversion; the input dtype is {@link Node#inputDType(int)}. */
    CAST,
    /** Device transfer; attr: the input's {@link dev.kiln.Device}. */
    TO_DEVICE,

    // Indexing, with int64 indices saved.
    /** input (x); saved: (index); ints: (dim). */
    GATHER,
    /** inputs (self, src); saved: (index); ints: (dim). */
    SCATTER,
    /** inputs (self, src); saved: (index); ints: (dim). */
    SCATTER_ADD,
    /** input (x); saved: (index); ints: (dim). */
    INDEX_SELECT,
    /** inputs (self, src); saved: (index); ints: (dim). */
    INDEX_ADD,

    // Convolution building blocks, each the other's adjoint.
    /** input (x [N,C,H,W]); attr: {@link dev.kiln.spi.ConvGeometry}. */
    IM2COL,
    /** input (cols); attr: {@link dev.kiln.spi.ConvGeometry}. */
    COL2IM,
    /** input (x [N,C,H,W]); saved: (argmax within each window); attr: {@link dev.kiln.spi.ConvGeometry}. */
    MAX_POOL2D,
    /** input (grad of the pooled output); saved: (argmax); attr: {@link dev.kiln.spi.ConvGeometry}. */
    MAX_POOL2D_BACKWARD,
    /**
     * 2-D convolution without bias: inputs (x [N,C,H,W], weight [O,C/groups,kh,kw]); saved: (x, weight),
     * each only when the other's gradient is needed; attr: {@link dev.kiln.spi.ConvGeometry}; ints: (groups).
     */
    CONV2D,
    /** Its input gradient (the transposed convolution): inputs (grad, weight); saved: (grad, weight); as CONV2D. */
    CONV2D_BACKWARD_INPUT,
    /** Its weight gradient: inputs (grad, x); saved: (grad, x); as CONV2D. */
    CONV2D_BACKWARD_WEIGHT,
    /**
     * Batch normalization with batch statistics: inputs (x, then weight and bias where present);
     * saved: (x, weight or null, batch mean, batch inverse std); ints: (has weight, has bias);
     * doubles: (eps).
     */
    BATCH_NORM,

    /** A user-defined function; attr: its {@link CustomBackward}. */
    CUSTOM
}
