package dev.kiln;

import dev.kiln.graph.GradientEngine;
import dev.kiln.graph.Node;
import dev.kiln.graph.OpKind;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BatchNormOperands;
import dev.kiln.spi.BinaryOp;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.PinnedBuffer;
import dev.kiln.spi.ReduceOp;
import dev.kiln.spi.Storage;
import dev.kiln.spi.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.UnaryOperator;

/**
 * An n-dimensional array on one {@link Device}, the counterpart of {@code torch.Tensor}.
 *
 * <p>A tensor is a view: a {@link Layout} (shape, strides, offset) over a storage that it may share
 * with other views. {@link #view}, {@link #transpose}, {@link #narrow}, {@link #expand} and friends
 * copy nothing. Operations follow PyTorch's names and semantics (NumPy broadcasting, type
 * promotion, {@code keepdim}), and every user error fails at the call with a message that names the
 * operation and the shapes or dtypes involved.
 *
 * <p>While grad mode is on ({@link Kiln#noGrad()} turns it off) and an input
 * {@link #requiresGrad()}, operations record the graph that {@link #backward()} walks. Methods
 * ending in {@code _} work in place and bump the storage's version counter.
 *
 * <p>Tensors are {@link AutoCloseable}: {@link #close()} frees device memory now instead of when the
 * garbage collector gets to it; on the CPU it is optional.
 */
public final class Tensor implements AutoCloseable {

    private StorageRef ref;
    private Layout layout;
    private DType dtype;
    /** The tensor whose storage this one views, or null for a tensor that owns its storage. */
    private final Tensor viewBase;
    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;
    private List<UnaryOperator<Tensor>> hooks;
    private boolean closed;

    private Tensor(StorageRef ref, Layout layout, DType dtype, Tensor viewBase) {
        this.ref = ref;
        this.layout = layout;
        this.dtype = dtype;
        this.viewBase = viewBase;
        ref.retain();
    }

    // ---------------------------------------------------------------- creation

    /** A tensor of {@code shape} with unspecified contents. */
    public static Tensor empty(long[] shape, DType dtype, Device device) {
        checkShape("empty", shape);
        Backend backend = Backends.get(device);
        Storage s = backend.allocate(dtype, Shapes.numel(shape));
        return new Tensor(new StorageRef(s, backend), Layout.contiguous(shape), dtype, null);
    }

    public static Tensor empty(long... shape) {
        return empty(shape, DType.FLOAT32, Device.cpu());
    }

    public static Tensor zeros(long... shape) {
        return full(shape, 0, DType.FLOAT32, Device.cpu());
    }

    public static Tensor zeros(long[] shape, DType dtype) {
        return full(shape, 0, dtype, Device.cpu());
    }

    public static Tensor zeros(long[] shape, DType dtype, Device device) {
        return full(shape, 0, dtype, device);
    }

    public static Tensor ones(long... shape) {
        return full(shape, 1, DType.FLOAT32, Device.cpu());
    }

    public static Tensor ones(long[] shape, DType dtype) {
        return full(shape, 1, dtype, Device.cpu());
    }

    public static Tensor ones(long[] shape, DType dtype, Device device) {
        return full(shape, 1, dtype, device);
    }

    /** A float32 CPU tensor filled with {@code value}. */
    public static Tensor full(long[] shape, double value) {
        return full(shape, value, DType.FLOAT32, Device.cpu());
    }

    /** An int64 CPU tensor filled with {@code value} (PyTorch infers int64 from an integer fill). */
    public static Tensor full(long[] shape, long value) {
        return full(shape, value, DType.INT64, Device.cpu());
    }

    public static Tensor full(long[] shape, double value, DType dtype, Device device) {
        Tensor t = empty(shape, dtype, device);
        t.backend().fill(t.storage(), t.layout, value);
        return t;
    }

    /** A 0-dim float32 tensor. */
    public static Tensor scalar(double value) {
        return full(new long[0], value, DType.FLOAT32, Device.cpu());
    }

    /** A 0-dim tensor of the given type on the given device. */
    public static Tensor scalar(double value, DType dtype, Device device) {
        return full(new long[0], value, dtype, device);
    }

    public Tensor zerosLike() {
        return full(shape(), 0, dtype, device());
    }

    public Tensor onesLike() {
        return full(shape(), 1, dtype, device());
    }

    public Tensor fullLike(double value) {
        return full(shape(), value, dtype, device());
    }

    public Tensor emptyLike() {
        return empty(shape(), dtype, device());
    }

    public Tensor randLike() {
        return empty(shape(), dtype, device()).uniform_(0, 1);
    }

    public Tensor randnLike() {
        return empty(shape(), dtype, device()).normal_(0, 1);
    }

    /** {@code [0, 1, ..., end - 1]} as int64. */
    public static Tensor arange(long end) {
        return arange(0, end);
    }

    /** {@code [start, ..., end - 1]} as int64. */
    public static Tensor arange(long start, long end) {
        return arange(start, end, 1);
    }

    /** {@code start, start + step, ...} up to but excluding {@code end}, as int64. */
    public static Tensor arange(long start, long end, long step) {
        if (step == 0) {
            throw new IllegalArgumentException("arange: step must be nonzero");
        }
        long n = Math.max(0, (end - start + step - Long.signum(step)) / step);
        long[] v = new long[checkedInt("arange", n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = start + i * step;
        }
        return fromArray(v, n);
    }

    /**
     * {@code start, start + step, ...} up to but excluding {@code end}, as float32 (PyTorch's
     * {@code torch.arange(0, 1, 0.02)}).
     */
    public static Tensor arange(double start, double end, double step) {
        if (step == 0 || Double.isNaN(step)) {
            throw new IllegalArgumentException("arange: step must be nonzero, got " + step);
        }
        if ((end - start) / step < 0) {
            throw new IllegalArgumentException("arange: upper bound and step are inconsistent: start=" + start
                    + ", end=" + end + ", step=" + step);
        }
        long n = (long) Math.ceil((end - start) / step);
        float[] v = new float[checkedInt("arange", n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (start + i * step);
        }
        return fromArray(v, n);
    }

    /** {@code steps} evenly spaced float32 values from {@code start} to {@code end} inclusive. */
    public static Tensor linspace(double start, double end, long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("linspace: number of steps must be non-negative, got " + steps);
        }
        float[] v = new float[checkedInt("linspace", steps)];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        long half = steps / 2;
        for (int i = 0; i < v.length; i++) {
            // As PyTorch: fill from both ends so the last value is exactly end.
            v[i] = (float) (i < half || steps == 1 ? start + step * i : end - step * (steps - 1 - i));
        }
        return fromArray(v, steps);
    }

    /** The {@code n x n} float32 identity matrix. */
    public static Tensor eye(long n) {
        return eye(n, n);
    }

    /** An {@code n x m} float32 matrix with ones on the diagonal. */
    public static Tensor eye(long n, long m) {
        checkShape("eye", new long[] {n, m});
        float[] v = new float[checkedInt("eye", n * m)];
        for (long i = 0; i < Math.min(n, m); i++) {
            v[(int) (i * m + i)] = 1;
        }
        return fromArray(v, n, m);
    }

    /** Uniform float32 numbers in [0, 1) from the default generator. */
    public static Tensor rand(long... shape) {
        return rand(shape, Generator.defaultGenerator());
    }

    public static Tensor rand(long[] shape, Generator generator) {
        return empty(shape, DType.FLOAT32, Device.cpu()).uniform_(0, 1, generator);
    }

    /** Standard normal float32 numbers from the default generator. */
    public static Tensor randn(long... shape) {
        return randn(shape, Generator.defaultGenerator());
    }

    public static Tensor randn(long[] shape, Generator generator) {
        return empty(shape, DType.FLOAT32, Device.cpu()).normal_(0, 1, generator);
    }

    /** Uniform int64 integers in {@code [low, high)}. */
    public static Tensor randint(long low, long high, long... shape) {
        return randint(low, high, shape, Generator.defaultGenerator());
    }

    public static Tensor randint(long low, long high, long[] shape, Generator generator) {
        if (high <= low) {
            throw new IllegalArgumentException("randint: expected low < high, got low=" + low + ", high=" + high);
        }
        Tensor u = empty(shape, DType.FLOAT64, Device.cpu()).uniform_(0, 1, generator);
        try (var s = Kiln.noGrad()) {
            return u.mul((double) (high - low)).floor().add((double) low).to(DType.INT64);
        }
    }

    /** A random permutation of {@code 0 .. n-1} as int64. */
    public static Tensor randperm(long n) {
        return randperm(n, Generator.defaultGenerator());
    }

    public static Tensor randperm(long n, Generator generator) {
        int size = checkedInt("randperm", n);
        double[] u = generator.uniformDoubles(size);
        long[] perm = new long[size];
        for (int i = 0; i < size; i++) {
            perm[i] = i;
        }
        // Fisher-Yates, back to front.
        for (int i = size - 1; i > 0; i--) {
            int j = (int) (u[i] * (i + 1));
            long tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        return fromArray(perm, n);
    }

    /** A 1-D float32 tensor of the values (as {@code torch.tensor([...])}). */
    public static Tensor of(float... values) {
        return fromArray(values, values.length);
    }

    /** A 1-D float32 tensor: like PyTorch, Java doubles become the default float type. */
    public static Tensor of(double... values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return fromArray(f, f.length);
    }

    /** A 1-D int64 tensor. */
    public static Tensor of(long... values) {
        return fromArray(values, values.length);
    }

    /** A 1-D int64 tensor. */
    public static Tensor of(int... values) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = values[i];
        }
        return fromArray(l, l.length);
    }

    /** A 1-D bool tensor. */
    public static Tensor of(boolean... values) {
        return fromArray(values, values.length);
    }

    /** A 2-D float32 tensor from rows of equal length. */
    public static Tensor of(float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("Tensor.of: row " + i + " has " + rows[i].length
                        + " elements, row 0 has " + cols);
            }
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return fromArray(flat, rows.length, cols);
    }

    /** A 2-D float32 tensor from rows of equal length. */
    public static Tensor of(double[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("Tensor.of: row " + i + " has " + rows[i].length
                        + " elements, row 0 has " + cols);
            }
            for (int j = 0; j < cols; j++) {
                flat[i * cols + j] = (float) rows[i][j];
            }
        }
        return fromArray(flat, rows.length, cols);
    }

    /**
     * A CPU tensor holding a copy of {@code data} in {@code shape}, with the array's own type
     * ({@code float[]} float32, {@code double[]} float64, {@code long[]} int64, {@code boolean[]} bool),
     * as {@code torch.from_numpy}. An empty shape means a 1-D tensor of the array's length.
     */
    public static Tensor fromArray(Object data, long... shape) {
        DType dtype;
        int length;
        if (data instanceof float[] a) {
            dtype = DType.FLOAT32;
            length = a.length;
        } else if (data instanceof double[] a) {
            dtype = DType.FLOAT64;
            length = a.length;
        } else if (data instanceof long[] a) {
            dtype = DType.INT64;
            length = a.length;
        } else if (data instanceof boolean[] a) {
            dtype = DType.BOOL;
            length = a.length;
        } else {
            throw new IllegalArgumentException("fromArray: expected float[], double[], long[] or boolean[], got "
                    + (data == null ? "null" : data.getClass().getSimpleName()));
        }
        if (shape.length == 0 && length != 1) {
            shape = new long[] {length};
        }
        checkShape("fromArray", shape);
        if (Shapes.numel(shape) != length) {
            throw new IllegalArgumentException("fromArray: shape " + Shapes.str(shape) + " holds " + Shapes.numel(shape)
                    + " elements but the array has " + length);
        }
        Backend backend = Backends.get(Device.cpu());
        return new Tensor(new StorageRef(backend.fromHost(data, dtype), backend), Layout.contiguous(shape), dtype, null);
    }

    /** A tensor over a freshly created storage, for backends and loaders. */
    public static Tensor wrap(Storage storage, long... shape) {
        Backend backend = Backends.get(storage.device());
        if (storage.numel() != Shapes.numel(shape)) {
            throw new IllegalArgumentException("wrap: shape " + Shapes.str(shape) + " holds " + Shapes.numel(shape)
                    + " elements but the storage has " + storage.numel());
        }
        return new Tensor(new StorageRef(storage, backend), Layout.contiguous(shape), storage.dtype(), null);
    }

    // ---------------------------------------------------------------- metadata

    public long[] shape() {
        return layout.shape();
    }

    /** The shape, as {@code torch.Tensor.size()}. */
    public long[] size() {
        return layout.shape();
    }

    /** The size of one dim (negative dims count from the end). */
    public long size(int dim) {
        return layout.size(Shapes.dim("size", dim, rank()));
    }

    public long[] stride() {
        return layout.strides();
    }

    public long stride(int dim) {
        return layout.stride(Shapes.dim("stride", dim, rank()));
    }

    /** The number of dims, as {@code torch.Tensor.dim()}. */
    public int dim() {
        return layout.rank();
    }

    private int rank() {
        return layout.rank();
    }

    public long numel() {
        return layout.numel();
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return ref.storage.device();
    }

    public Layout layout() {
        return layout;
    }

    public boolean isContiguous() {
        return layout.isContiguous();
    }

    /** True when this tensor and {@code other} view the same storage. */
    public boolean sharesStorageWith(Tensor other) {
        return ref == other.ref;
    }

    /** The backend storage under this view (for backends, serialization and kernels). */
    public Storage storage() {
        checkOpen();
        return ref.storage;
    }

    Backend backend() {
        return ref.backend;
    }

    /** The storage's version counter, bumped by every in-place operation. */
    public int version() {
        return ref.version();
    }

    /** Marks an in-place write done behind core's back (by {@link Fused}). */
    void bumpVersion() {
        ref.bumpVersion();
    }

    private void checkOpen() {
        if (closed || ref.isFreed()) {
            throw new IllegalStateException("this tensor (" + dtype + " " + Shapes.str(layout.shape())
                    + ") was closed and its memory freed");
        }
    }

    /** Releases this view's hold on the storage; the memory goes when the last view closes. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ref.release();
        }
    }

    private static void checkShape(String op, long[] shape) {
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException(op + ": negative dimension in shape " + Shapes.str(shape));
            }
        }
    }

    private static int checkedInt(String op, long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + ": " + n + " elements is more than a Java array can hold");
        }
        return (int) n;
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Sets whether gradients are recorded for this leaf tensor. Only floating-point tensors can
     * require gradients; a non-leaf's flag comes from its inputs and cannot be turned off.
     */
    public Tensor requiresGrad(boolean requires) {
        if (requires && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("requiresGrad: only floating-point tensors can require gradients, got "
                    + dtype + " " + Shapes.str(layout.shape()));
        }
        if (!requires && gradFn != null) {
            throw new IllegalStateException("requiresGrad: this tensor is not a leaf (it was computed by "
                    + gradFn.name() + "); use detach() to get a tensor that does not require grad");
        }
        this.requiresGrad = requires;
        return this;
    }

    /** {@code requiresGrad(true)}, as {@code torch.Tensor.requires_grad_()}. */
    public Tensor requiresGrad_() {
        return requiresGrad(true);
    }

    /** The accumulated gradient, or null before any backward reaches this tensor. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient (null clears it), as assigning {@code tensor.grad} in PyTorch. */
    public void setGrad(Tensor grad) {
        if (grad != null && !Arrays.equals(grad.shape(), layout.shape())) {
            throw new IllegalArgumentException("setGrad: gradient shape " + Shapes.str(grad.shape())
                    + " differs from the tensor's shape " + Shapes.str(layout.shape()));
        }
        this.grad = grad;
    }

    /** True for tensors the user created, as opposed to results of recorded operations. */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The node that computed this tensor, or null for a leaf. */
    public Node gradFn() {
        return gradFn;
    }

    /** A view of the same data that does not require grad and has no history. */
    public Tensor detach() {
        return new Tensor(ref, layout, dtype, viewRoot());
    }

    /** Keeps this non-leaf's gradient in {@link #grad()} after backward, as {@code retain_grad()}. */
    public Tensor retainGrad() {
        if (!requiresGrad) {
            throw new IllegalStateException("retainGrad: the tensor does not require grad");
        }
        if (gradFn != null) {
            gradFn.retainOutput(this);
        }
        return this;
    }

    /**
     * Registers a hook called with this tensor's gradient during backward; it may return a
     * replacement gradient (or its argument unchanged).
     */
    public Tensor registerHook(UnaryOperator<Tensor> hook) {
        if (!requiresGrad) {
            throw new IllegalStateException("registerHook: cannot register a hook on a tensor that does not require grad");
        }
        if (gradFn != null) {
            gradFn.addHook(hook);
        } else {
            synchronized (this) {
                if (hooks == null) {
                    hooks = new ArrayList<>();
                }
                hooks.add(hook);
            }
        }
        return this;
    }

    /** The hooks of a leaf tensor (non-leaf hooks live on {@link #gradFn()}). */
    public synchronized List<UnaryOperator<Tensor>> hooks() {
        return hooks == null ? List.of() : List.copyOf(hooks);
    }

    /** Backpropagates from this scalar: accumulates d(this)/d(leaf) into every leaf's {@link #grad()}. */
    public void backward() {
        backward(null, false, false);
    }

    /** Backpropagates with {@code gradient} as d(output)/d(this); required for non-scalars. */
    public void backward(Tensor gradient) {
        backward(gradient, false, false);
    }

    /**
     * The full form: {@code retainGraph} keeps saved tensors for another backward,
     * {@code createGraph} records the backward itself for higher-order derivatives.
     */
    public void backward(Tensor gradient, boolean retainGraph, boolean createGraph) {
        engine().backward(List.of(this), Arrays.asList(gradient), retainGraph || createGraph, createGraph);
    }

    static GradientEngine engine() {
        GradientEngine e = EngineHolder.ENGINE;
        if (e == null) {
            throw new IllegalStateException("backward: no autograd engine on the class path (add the kiln-autograd module)");
        }
        return e;
    }

    private static final class EngineHolder {
        static final GradientEngine ENGINE = ServiceLoader.load(GradientEngine.class).findFirst().orElse(null);
    }

    private static boolean recording(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad) {
                return true;
            }
        }
        return false;
    }

    /** Makes {@code node} this tensor's history. Only floating-point results take part in autograd. */
    private Tensor attach(Node node) {
        if (dtype.isFloatingPoint()) {
            this.gradFn = node;
            this.requiresGrad = true;
        }
        return this;
    }

    private static Node node(OpKind kind, Tensor[] inputs, Tensor... saved) {
        return new Node(kind, inputs, saved, GradMode.anomalyEnabled());
    }

    /**
     * Records a user-defined operation: {@code output} (computed without grad from {@code inputs})
     * gets a {@link OpKind#CUSTOM} node whose backward is {@code backward}. Used by the autograd
     * module's {@code Function}.
     */
    public static Tensor recordCustom(Tensor output, Tensor[] inputs, dev.kiln.graph.CustomBackward backward) {
        if (recording(inputs)) {
            output.attach(node(OpKind.CUSTOM, inputs).attr(backward));
        }
        return output;
    }

    // ---------------------------------------------------------------- views

    private Tensor viewRoot() {
        return viewBase != null ? viewBase : this;
    }

    private Tensor viewOf(Layout l) {
        checkOpen();
        return new Tensor(ref, l, dtype, viewRoot());
    }

    private long[] inferShape(String op, long[] shape) {
        long[] out = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException(op + ": only one dimension can be inferred, got " + Shapes.str(shape));
                }
                infer = i;
            } else if (out[i] < 0) {
                throw new IllegalArgumentException(op + ": invalid shape dimension " + out[i] + " in " + Shapes.str(shape));
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException(op + ": shape " + Shapes.str(shape) + " is invalid for input of size "
                        + numel() + " (shape " + Shapes.str(layout.shape()) + ")");
            }
            out[infer] = numel() / known;
        }
        if (Shapes.numel(out) != numel()) {
            throw new IllegalArgumentException(op + ": shape " + Shapes.str(shape) + " is invalid for input of size "
                    + numel() + " (shape " + Shapes.str(layout.shape()) + ")");
        }
        return out;
    }

    private Tensor reshapeView(Layout l) {
        Tensor out = viewOf(l);
        if (recording(this)) {
            out.attach(node(OpKind.RESHAPE, new Tensor[] {this}));
        }
        return out;
    }

    /**
     * The same data in another shape (one dim may be -1), without copying; fails when the strides
     * do not allow it, as {@code torch.Tensor.view} (use {@link #reshape} then).
     */
    public Tensor view(long... shape) {
        long[] s = inferShape("view", shape);
        Layout l = layout.view(s);
        if (l == null) {
            throw new IllegalArgumentException("view: shape " + Shapes.str(s) + " is not compatible with the input's size "
                    + Shapes.str(layout.shape()) + " and stride " + Shapes.str(layout.strides())
                    + " (at least one dimension spans two contiguous subspaces); use reshape() instead");
        }
        return reshapeView(l);
    }

    /** The same data in another shape: a view when the strides allow, else a copy. */
    public Tensor reshape(long... shape) {
        long[] s = inferShape("reshape", shape);
        Layout l = layout.view(s);
        if (l != null) {
            return reshapeView(l);
        }
        return contiguous().view(s);
    }

    /** Views this tensor in {@code other}'s shape. */
    public Tensor viewAs(Tensor other) {
        return view(other.shape());
    }

    public Tensor reshapeAs(Tensor other) {
        return reshape(other.shape());
    }

    /** Reorders the dims: {@code out.shape[i] = shape[dims[i]]}. */
    public Tensor permute(int... dims) {
        if (dims.length != rank()) {
            throw new IllegalArgumentException("permute: got " + dims.length + " dims " + Arrays.toString(dims)
                    + " for a tensor of rank " + rank());
        }
        int[] d = new int[dims.length];
        boolean[] seen = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = Shapes.dim("permute", dims[i], rank());
            if (seen[d[i]]) {
                throw new IllegalArgumentException("permute: dim " + d[i] + " repeats in " + Arrays.toString(dims));
            }
            seen[d[i]] = true;
        }
        Tensor out = viewOf(layout.permute(d));
        if (recording(this)) {
            out.attach(node(OpKind.PERMUTE, new Tensor[] {this}).ints(d));
        }
        return out;
    }

    /** Swaps two dims. */
    public Tensor transpose(int dim0, int dim1) {
        if (rank() == 0) {
            return this;
        }
        int a = Shapes.dim("transpose", dim0, rank());
        int b = Shapes.dim("transpose", dim1, rank());
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        perm[a] = b;
        perm[b] = a;
        return permute(perm);
    }

    /** The transpose of a matrix (rank 0 and 1 are returned as they are), as {@code torch.Tensor.t()}. */
    public Tensor t() {
        if (rank() > 2) {
            throw new IllegalArgumentException("t: expects a tensor with <= 2 dimensions, but got " + rank()
                    + " (shape " + Shapes.str(layout.shape()) + "); use transpose(dim0, dim1)");
        }
        return rank() < 2 ? this : transpose(0, 1);
    }

    /** The transpose of the last two dims, as {@code .mT}. */
    public Tensor mT() {
        if (rank() < 2) {
            throw new IllegalArgumentException("mT: expects a tensor with >= 2 dimensions, got shape " + Shapes.str(layout.shape()));
        }
        return transpose(-2, -1);
    }

    /** Removes every size-1 dim. */
    public Tensor squeeze() {
        long[] s = Arrays.stream(layout.shape()).filter(x -> x != 1).toArray();
        return s.length == rank() ? this : reshape(s);
    }

    /** Removes {@code dim} when its size is 1 (else returns this tensor, as PyTorch does). */
    public Tensor squeeze(int dim) {
        if (rank() == 0) {
            return this;
        }
        int d = Shapes.dim("squeeze", dim, rank());
        if (layout.size(d) != 1) {
            return this;
        }
        return reshapeView(layout.select(d, 0));
    }

    /** Inserts a size-1 dim at {@code dim} (in {@code [-rank-1, rank]}). */
    public Tensor unsqueeze(int dim) {
        int d = Shapes.dim("unsqueeze", dim, rank() + 1);
        return reshapeView(layout.unsqueeze(d));
    }

    /** Flattens all dims into one. */
    public Tensor flatten() {
        return reshape(numel());
    }

    /** Flattens dims {@code startDim..endDim} (inclusive) into one. */
    public Tensor flatten(int startDim, int endDim) {
        if (rank() == 0) {
            return reshape(1);
        }
        int s = Shapes.dim("flatten", startDim, rank());
        int e = Shapes.dim("flatten", endDim, rank());
        if (s > e) {
            throw new IllegalArgumentException("flatten: start dim " + startDim + " comes after end dim " + endDim);
        }
        long[] shape = layout.shape();
        long[] out = new long[rank() - (e - s)];
        int j = 0;
        for (int i = 0; i < s; i++) {
            out[j++] = shape[i];
        }
        long m = 1;
        for (int i = s; i <= e; i++) {
            m *= shape[i];
        }
        out[j++] = m;
        for (int i = e + 1; i < shape.length; i++) {
            out[j++] = shape[i];
        }
        return reshape(out);
    }

    /** Splits {@code dim} into {@code sizes} (one may be -1), as {@code torch.Tensor.unflatten}. */
    public Tensor unflatten(int dim, long... sizes) {
        int d = Shapes.dim("unflatten", dim, rank());
        long[] shape = layout.shape();
        long known = 1;
        int infer = -1;
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == -1) {
                infer = i;
            } else {
                known *= sizes[i];
            }
        }
        long[] sz = sizes.clone();
        if (infer >= 0) {
            sz[infer] = known == 0 ? 0 : shape[d] / known;
        }
        if (Shapes.numel(sz) != shape[d]) {
            throw new IllegalArgumentException("unflatten: sizes " + Shapes.str(sizes) + " don't multiply up to the size of dim "
                    + d + " (" + shape[d] + ") of shape " + Shapes.str(shape));
        }
        long[] out = new long[shape.length - 1 + sz.length];
        System.arraycopy(shape, 0, out, 0, d);
        System.arraycopy(sz, 0, out, d, sz.length);
        System.arraycopy(shape, d + 1, out, d + sz.length, shape.length - d - 1);
        return view(out);
    }

    /**
     * Broadcasts to a larger shape without copying (size-1 dims get stride 0; -1 keeps a size).
     */
    public Tensor expand(long... sizes) {
        if (sizes.length < rank()) {
            throw new IllegalArgumentException("expand: the number of sizes " + Shapes.str(sizes)
                    + " must be >= the tensor's rank " + rank() + " (shape " + Shapes.str(layout.shape()) + ")");
        }
        long[] target = sizes.clone();
        int extra = sizes.length - rank();
        for (int i = 0; i < rank(); i++) {
            if (target[i + extra] == -1) {
                target[i + extra] = layout.size(i);
            }
        }
        long[] shape = layout.shape();
        for (int i = 0; i < rank(); i++) {
            if (shape[i] != 1 && shape[i] != target[i + extra]) {
                throw new IllegalArgumentException("expand: the expanded size " + target[i + extra] + " must match the existing"
                        + " size " + shape[i] + " at non-singleton dim " + i + "; target " + Shapes.str(target)
                        + ", tensor " + Shapes.str(shape));
            }
        }
        if (Arrays.equals(target, shape)) {
            return this;
        }
        Tensor out = viewOf(layout.broadcastTo(target));
        if (recording(this)) {
            out.attach(node(OpKind.EXPAND, new Tensor[] {this}));
        }
        return out;
    }

    public Tensor expandAs(Tensor other) {
        return expand(other.shape());
    }

    /** The view of {@code length} elements of {@code dim} starting at {@code start}. */
    public Tensor narrow(int dim, long start, long length) {
        int d = Shapes.dim("narrow", dim, rank());
        long size = layout.size(d);
        if (start < 0) {
            start += size;
        }
        if (start < 0 || length < 0 || start + length > size) {
            throw new IndexOutOfBoundsException("narrow: start " + start + " + length " + length + " exceeds dim " + d
                    + " of size " + size + " (shape " + Shapes.str(layout.shape()) + ")");
        }
        return slice(d, start, start + length, 1);
    }

    /**
     * Python's {@code x[..., start:end:step, ...]} on {@code dim}: negative bounds count from the end,
     * out-of-range bounds are clamped, step must be positive.
     */
    public Tensor slice(int dim, long start, long end, long step) {
        int d = Shapes.dim("slice", dim, rank());
        if (step <= 0) {
            throw new IllegalArgumentException("slice: step must be positive, got " + step);
        }
        long size = layout.size(d);
        long s = start < 0 ? Math.max(0, start + size) : Math.min(start, size);
        long e = end < 0 ? Math.max(0, end + size) : Math.min(end, size);
        long length = e > s ? (e - s + step - 1) / step : 0;
        Tensor out = viewOf(layout.slice(d, s, length, step));
        if (recording(this)) {
            out.attach(node(OpKind.SLICE, new Tensor[] {this}).longs(d, s, length, step));
        }
        return out;
    }

    /** {@code x[start:end]} on {@code dim}. */
    public Tensor slice(int dim, long start, long end) {
        return slice(dim, start, end, 1);
    }

    /** The slice at {@code index} of {@code dim}, with that dim removed (negative index counts from the end). */
    public Tensor select(int dim, long index) {
        if (rank() == 0) {
            throw new IllegalArgumentException("select: cannot select on a 0-dim tensor");
        }
        int d = Shapes.dim("select", dim, rank());
        long size = layout.size(d);
        long i = index < 0 ? index + size : index;
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("select: index " + index + " is out of bounds for dim " + d + " with size "
                    + size + " (shape " + Shapes.str(layout.shape()) + ")");
        }
        Tensor out = viewOf(layout.select(d, i));
        if (recording(this)) {
            out.attach(node(OpKind.SELECT, new Tensor[] {this}).longs(d, i));
        }
        return out;
    }

    /** {@code x[i0][i1]...}: selects along the leading dims. */
    public Tensor get(long... indices) {
        Tensor t = this;
        for (long i : indices) {
            t = t.select(0, i);
        }
        return t;
    }

    /** A contiguous tensor with the same values: this one when already contiguous. */
    public Tensor contiguous() {
        return isContiguous() ? this : copyOp(OpKind.CLONE);
    }

    /** A copy with its own storage ({@code torch.Tensor.clone}). */
    public Tensor clone() {
        return copyOp(OpKind.CLONE);
    }

    private Tensor copyOp(OpKind kind) {
        Tensor out = empty(layout.shape(), dtype, device());
        backend().copy(storage(), layout, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(kind, new Tensor[] {this}));
        }
        return out;
    }

    /** This tensor converted to {@code target} (this one when already of that type). */
    public Tensor to(DType target) {
        if (target == dtype) {
            return this;
        }
        Tensor out = empty(layout.shape(), target, device());
        backend().copy(storage(), layout, out.storage(), out.layout);
        if (recording(this) && target.isFloatingPoint()) {
            out.attach(node(OpKind.CAST, new Tensor[] {this}));
        }
        return out;
    }

    /**
     * This tensor on {@code target} (this one when already there); gradients flow back across. From
     * a contiguous {@link #isPinned() pinned} tensor to a CUDA device the copy is queued on the
     * device's stream and this returns at once; the host waits only when it reads device values.
     */
    public Tensor to(Device target) {
        if (target.equals(device())) {
            return this;
        }
        Backend dst = Backends.get(target);
        Storage moved;
        StorageRef.Pinned pinned = ref.pinned();
        if (pinned != null && layout.isContiguous() && numel() > 0) {
            // From page-locked memory: the device copies asynchronously on its stream.
            checkOpen();
            PinnedBuffer staged = stagedPinned(pinned);
            moved = dst.fromPinned(staged, layout.offset() * dtype.byteSize(), dtype, numel());
        } else {
            Tensor src = contiguous();
            Object host = hostArray(dtype, checkedInt("to", numel()));
            src.backend().toHost(src.storage(), src.layout, host);
            moved = dst.fromHost(host, dtype);
        }
        Tensor out = new Tensor(new StorageRef(moved, dst), Layout.contiguous(layout.shape()), dtype, null);
        if (recording(this)) {
            out.attach(node(OpKind.TO_DEVICE, new Tensor[] {this}).attr(device()));
        }
        return out;
    }

    /**
     * A copy of this CPU tensor in page-locked ("pinned") host memory, as
     * {@code torch.Tensor.pin_memory()}; this tensor itself when it is already pinned. Copies of a
     * pinned tensor to a CUDA device ({@link #to(Device)}) run asynchronously on the device's stream
     * and the host waits only when it reads values from the device.
     *
     * <p>The page-locked memory comes from the CUDA backend's caching host allocator and returns to
     * it when the tensor (with its views) is closed or collected; a block is reused only after the
     * copies queued from it have completed. The pinned tensor is an ordinary CPU tensor to every
     * operation: its values stay in a Java array that the CPU kernels use, and the page-locked
     * memory holds a copy of them for transfers (restaged when the values change in place), so a
     * pinned tensor takes twice its size in host memory. Views of it are pinned too. Gradients flow
     * through, as through {@link #clone()}.
     *
     * @throws IllegalStateException when the tensor is not on the CPU, or no CUDA backend lends
     *         page-locked memory (see {@link Kiln#isPinnedMemoryAvailable()})
     */
    public Tensor pinMemory() {
        checkOpen();
        if (!device().isCpu()) {
            throw new IllegalStateException("pinMemory: only CPU tensors can be pinned, got a tensor on " + device()
                    + " (shape " + Shapes.str(layout.shape()) + ", " + dtype + ")");
        }
        if (isPinned()) {
            return this;
        }
        Backend owner = Backends.pinnedMemoryBackend();
        if (owner == null) {
            throw new IllegalStateException("pinMemory: cannot pin a tensor of shape " + Shapes.str(layout.shape()) + ": "
                    + Backends.pinnedMemoryUnavailableReason());
        }
        Tensor out = copyOp(OpKind.CLONE);
        long bytes = out.ref.storage.numel() * dtype.byteSize();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("pinMemory: " + bytes + " bytes (shape " + Shapes.str(layout.shape()) + ", "
                    + dtype + ") is more than one pinned buffer holds (2 GiB)");
        }
        out.ref.setPinned(new StorageRef.Pinned(stage(out.ref, owner), owner, out.ref.version()));
        return out;
    }

    /**
     * Whether this tensor's storage is in page-locked host memory ({@code torch.Tensor.is_pinned()}):
     * true for tensors made by {@link #pinMemory()} and their views.
     */
    public boolean isPinned() {
        return ref.pinned() != null;
    }

    /** A page-locked copy of the bytes of {@code r}'s whole storage, from {@code owner}. */
    private static PinnedBuffer stage(StorageRef r, Backend owner) {
        long n = r.storage.numel();
        PinnedBuffer p = owner.allocatePinned(n * r.storage.dtype().byteSize());
        try {
            r.backend.toHostBytes(r.storage, Layout.contiguous(n), p.buffer());
        } catch (RuntimeException | Error e) {
            p.release();
            throw e;
        }
        return p;
    }

    /**
     * The page-locked copy of this pinned storage, restaged into fresh memory when in-place
     * operations changed the values since (the old memory may still be the source of a queued
     * copy; its allocator reuses it only once that copy is done).
     */
    private PinnedBuffer stagedPinned(StorageRef.Pinned current) {
        synchronized (ref) {
            StorageRef.Pinned p = ref.pinned();
            if (p == null) {
                p = current;
            }
            if (p.version() == ref.version()) {
                return p.buffer();
            }
            StorageRef.Pinned fresh = new StorageRef.Pinned(stage(ref, p.owner()), p.owner(), ref.version());
            StorageRef.Pinned old = ref.setPinned(fresh);
            if (old != null) {
                old.buffer().release();
            }
            return fresh.buffer();
        }
    }

    /** {@code to(device)} then {@code to(dtype)}. */
    public Tensor to(Device device, DType dtype) {
        return to(device).to(dtype);
    }

    public Tensor cpu() {
        return to(Device.cpu());
    }

    public Tensor cuda() {
        return to(Device.cuda(0));
    }

    public Tensor toFloat() {
        return to(DType.FLOAT32);
    }

    public Tensor toDouble() {
        return to(DType.FLOAT64);
    }

    public Tensor toLong() {
        return to(DType.INT64);
    }

    public Tensor toBool() {
        return to(DType.BOOL);
    }

    // ---------------------------------------------------------------- elementwise

    private void checkSameDevice(String op, Tensor other) {
        if (!device().equals(other.device())) {
            throw new IllegalArgumentException(op + ": expected all tensors on the same device, got " + device()
                    + " and " + other.device() + " (shapes " + Shapes.str(layout.shape()) + " and "
                    + Shapes.str(other.layout.shape()) + ")");
        }
    }

    /** A 0-dim tensor holding a Java number for an op with this tensor, typed as PyTorch wraps numbers. */
    private Tensor wrapScalar(double value) {
        DType t;
        if (dtype.isFloatingPoint()) {
            t = dtype;
        } else if (value == Math.rint(value) && !Double.isInfinite(value)) {
            t = dtype == DType.BOOL ? DType.INT64 : dtype;
        } else {
            t = DType.FLOAT32;
        }
        return scalar(value, t, device());
    }

    private Tensor binary(String name, BinaryOp op, Tensor other) {
        checkOpen();
        other.checkOpen();
        checkSameDevice(name, other);
        long[] shape = Shapes.broadcast(name, layout.shape(), other.layout.shape());
        DType common = DType.promote(dtype, other.dtype);
        if (op == BinaryOp.DIV && !common.isFloatingPoint()) {
            common = DType.FLOAT32; // true division, as torch.div
        }
        if (op == BinaryOp.LOGICAL_AND || op == BinaryOp.LOGICAL_OR) {
            common = DType.BOOL;
        }
        Tensor a = to(common);
        Tensor b = other.to(common);
        Tensor out = empty(shape, op.isComparison() ? DType.BOOL : common, device());
        backend().binary(op, a.storage(), a.layout.broadcastTo(shape), b.storage(), b.layout.broadcastTo(shape),
                out.storage(), out.layout);
        if (op.isComparison() || !recording(a, b)) {
            return out;
        }
        if (op == BinaryOp.REMAINDER) {
            if (b.requiresGrad) {
                throw new UnsupportedOperationException("remainder: the gradient with respect to the divisor is not "
                        + "implemented; detach() the divisor");
            }
            // a - floor(a / b) * b has gradient 1 with respect to a, as an addition of a constant.
            return out.attach(node(OpKind.ADD, new Tensor[] {a, b.detach()}));
        }
        OpKind kind = switch (op) {
            case ADD -> OpKind.ADD;
            case SUB -> OpKind.SUB;
            case MUL -> OpKind.MUL;
            case DIV -> OpKind.DIV;
            case POW -> OpKind.POW;
            case MAXIMUM -> OpKind.MAXIMUM;
            case MINIMUM -> OpKind.MINIMUM;
            default -> throw new AssertionError(op);
        };
        Tensor[] saved = switch (kind) {
            case ADD, SUB -> new Tensor[0];
            case MUL -> new Tensor[] {b.requiresGrad ? a : null, a.requiresGrad ? b : null};
            case DIV -> new Tensor[] {b.requiresGrad ? a : null, b};
            case POW -> new Tensor[] {a, b, out};
            default -> new Tensor[] {a, b};
        };
        return out.attach(node(kind, new Tensor[] {a, b}, saved));
    }

    /** {@code this + other}, broadcasting. */
    public Tensor add(Tensor other) {
        return binary("add", BinaryOp.ADD, other);
    }

    public Tensor add(double other) {
        return add(wrapScalar(other));
    }

    /** {@code this + alpha * other}. */
    public Tensor add(Tensor other, double alpha) {
        return add(alpha == 1 ? other : other.mul(alpha));
    }

    public Tensor sub(Tensor other) {
        return binary("sub", BinaryOp.SUB, other);
    }

    public Tensor sub(double other) {
        return sub(wrapScalar(other));
    }

    public Tensor sub(Tensor other, double alpha) {
        return sub(alpha == 1 ? other : other.mul(alpha));
    }

    /** {@code other - this}, as {@code torch.rsub}. */
    public Tensor rsub(double other) {
        return wrapScalar(other).sub(this);
    }

    public Tensor mul(Tensor other) {
        return binary("mul", BinaryOp.MUL, other);
    }

    public Tensor mul(double other) {
        return mul(wrapScalar(other));
    }

    /** True division: integers divide to float32. */
    public Tensor div(Tensor other) {
        return binary("div", BinaryOp.DIV, other);
    }

    public Tensor div(double other) {
        return div(wrapScalar(other));
    }

    public Tensor pow(Tensor exponent) {
        return binary("pow", BinaryOp.POW, exponent);
    }

    public Tensor pow(double exponent) {
        if (exponent == 2) {
            return square();
        }
        return pow(wrapScalar(exponent));
    }

    /** {@code base ** exponent} elementwise, as {@code torch.pow(2.0, x)}. */
    public static Tensor pow(double base, Tensor exponent) {
        return exponent.wrapScalar(base).pow(exponent);
    }

    /** Python's {@code %}: the result has the sign of the divisor. */
    public Tensor remainder(Tensor other) {
        return binary("remainder", BinaryOp.REMAINDER, other);
    }

    public Tensor remainder(double other) {
        return remainder(wrapScalar(other));
    }

    public Tensor maximum(Tensor other) {
        return binary("maximum", BinaryOp.MAXIMUM, other);
    }

    public Tensor minimum(Tensor other) {
        return binary("minimum", BinaryOp.MINIMUM, other);
    }

    public Tensor eq(Tensor other) {
        return binary("eq", BinaryOp.EQ, other);
    }

    public Tensor eq(double other) {
        return eq(wrapScalar(other));
    }

    public Tensor ne(Tensor other) {
        return binary("ne", BinaryOp.NE, other);
    }

    public Tensor ne(double other) {
        return ne(wrapScalar(other));
    }

    public Tensor lt(Tensor other) {
        return binary("lt", BinaryOp.LT, other);
    }

    public Tensor lt(double other) {
        return lt(wrapScalar(other));
    }

    public Tensor le(Tensor other) {
        return binary("le", BinaryOp.LE, other);
    }

    public Tensor le(double other) {
        return le(wrapScalar(other));
    }

    public Tensor gt(Tensor other) {
        return binary("gt", BinaryOp.GT, other);
    }

    public Tensor gt(double other) {
        return gt(wrapScalar(other));
    }

    public Tensor ge(Tensor other) {
        return binary("ge", BinaryOp.GE, other);
    }

    public Tensor ge(double other) {
        return ge(wrapScalar(other));
    }

    public Tensor logicalAnd(Tensor other) {
        return binary("logicalAnd", BinaryOp.LOGICAL_AND, other);
    }

    public Tensor logicalOr(Tensor other) {
        return binary("logicalOr", BinaryOp.LOGICAL_OR, other);
    }

    public Tensor logicalXor(Tensor other) {
        return to(DType.BOOL).ne(other.to(DType.BOOL));
    }

    public Tensor logicalNot() {
        return to(DType.BOOL).unary(UnaryOp.LOGICAL_NOT, OpKind.STEP, 0, 0);
    }

    /** True when both have the same shape and equal values. */
    public boolean equal(Tensor other) {
        return Arrays.equals(shape(), other.shape()) && (numel() == 0 || eq(other).all().item() != 0);
    }

    /**
     * Elementwise {@code |a - b| <= atol + rtol * |b|} over broadcast shapes, with NaNs unequal, as
     * {@code torch.allclose}.
     */
    public boolean allclose(Tensor other, double rtol, double atol) {
        try (var s = Kiln.noGrad()) {
            Tensor a = to(DType.FLOAT64);
            Tensor b = other.to(DType.FLOAT64);
            return a.sub(b).abs().le(b.abs().mul(rtol).add(atol)).all().item() != 0;
        }
    }

    /** {@code cond ? a : b}, broadcasting all three; {@code cond} must be bool. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype != DType.BOOL) {
            throw new IllegalArgumentException("where: expected a bool condition, got " + cond.dtype);
        }
        a.checkSameDevice("where", b);
        a.checkSameDevice("where", cond);
        long[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        DType common = DType.promote(a.dtype, b.dtype);
        Tensor x = a.to(common);
        Tensor y = b.to(common);
        Tensor out = empty(shape, common, a.device());
        a.backend().where(cond.storage(), cond.layout.broadcastTo(shape), x.storage(), x.layout.broadcastTo(shape),
                y.storage(), y.layout.broadcastTo(shape), out.storage(), out.layout);
        if (recording(x, y)) {
            out.attach(node(OpKind.WHERE, new Tensor[] {x, y}, cond));
        }
        return out;
    }

    public static Tensor where(Tensor cond, Tensor a, double b) {
        return where(cond, a, a.wrapScalar(b));
    }

    public static Tensor where(Tensor cond, double a, Tensor b) {
        return where(cond, b.wrapScalar(a), b);
    }

    /** {@code where(mask, value, this)}. */
    public Tensor maskedFill(Tensor mask, double value) {
        return where(mask, wrapScalar(value), this);
    }

    public Tensor maskedFill(Tensor mask, Tensor value) {
        return where(mask, value, this);
    }

    private Tensor unary(UnaryOp op, OpKind kind, double p0, double p1) {
        checkOpen();
        Tensor x = this;
        boolean needsFloat = switch (op) {
            case EXP, LOG, SQRT, RSQRT, SIN, COS, TANH, SIGMOID, GELU, SILU, LOG1P, EXPM1, ERF, RECIPROCAL, ELU -> true;
            default -> false;
        };
        if (needsFloat && !dtype.isFloatingPoint()) {
            x = to(DType.FLOAT32);
        }
        Tensor out = empty(layout.shape(), x.dtype, device());
        backend().unary(op, p0, p1, x.storage(), x.layout, out.storage(), out.layout);
        if (recording(x)) {
            Tensor[] saved = switch (kind) {
                case EXP, SQRT, RSQRT, TANH, SIGMOID, RELU, EXPM1, RECIPROCAL -> new Tensor[] {out};
                case ELU -> new Tensor[] {x, out};
                case NEG, STEP -> new Tensor[0];
                default -> new Tensor[] {x};
            };
            out.attach(node(kind, new Tensor[] {x}, saved).doubles(p0, p1));
        }
        return out;
    }

    public Tensor neg() {
        return unary(UnaryOp.NEG, OpKind.NEG, 0, 0);
    }

    public Tensor abs() {
        return unary(UnaryOp.ABS, OpKind.ABS, 0, 0);
    }

    public Tensor exp() {
        return unary(UnaryOp.EXP, OpKind.EXP, 0, 0);
    }

    public Tensor log() {
        return unary(UnaryOp.LOG, OpKind.LOG, 0, 0);
    }

    public Tensor sqrt() {
        return unary(UnaryOp.SQRT, OpKind.SQRT, 0, 0);
    }

    public Tensor rsqrt() {
        return unary(UnaryOp.RSQRT, OpKind.RSQRT, 0, 0);
    }

    public Tensor sin() {
        return unary(UnaryOp.SIN, OpKind.SIN, 0, 0);
    }

    public Tensor cos() {
        return unary(UnaryOp.COS, OpKind.COS, 0, 0);
    }

    public Tensor tanh() {
        return unary(UnaryOp.TANH, OpKind.TANH, 0, 0);
    }

    public Tensor sigmoid() {
        return unary(UnaryOp.SIGMOID, OpKind.SIGMOID, 0, 0);
    }

    public Tensor relu() {
        return unary(UnaryOp.RELU, OpKind.RELU, 0, 0);
    }

    /** GELU, exact (erf) form. */
    public Tensor gelu() {
        return unary(UnaryOp.GELU, OpKind.GELU, 0, 0);
    }

    /**
     * GELU with PyTorch's {@code approximate='tanh'} form when {@code tanhApproximation}, else the
     * exact form.
     */
    public Tensor gelu(boolean tanhApproximation) {
        if (!tanhApproximation) {
            return gelu();
        }
        Tensor inner = add(pow(3.0).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
        return mul(0.5).mul(inner.tanh().add(1.0));
    }

    public Tensor silu() {
        return unary(UnaryOp.SILU, OpKind.SILU, 0, 0);
    }

    public Tensor leakyRelu(double negativeSlope) {
        return unary(UnaryOp.LEAKY_RELU, OpKind.LEAKY_RELU, negativeSlope, 0);
    }

    public Tensor elu(double alpha) {
        return unary(UnaryOp.ELU, OpKind.ELU, alpha, 0);
    }

    public Tensor sign() {
        return unary(UnaryOp.SIGN, OpKind.STEP, 0, 0);
    }

    public Tensor floor() {
        return unary(UnaryOp.FLOOR, OpKind.STEP, 0, 0);
    }

    public Tensor ceil() {
        return unary(UnaryOp.CEIL, OpKind.STEP, 0, 0);
    }

    /** Rounds half to even, as {@code torch.round}. */
    public Tensor round() {
        return unary(UnaryOp.ROUND, OpKind.STEP, 0, 0);
    }

    public Tensor reciprocal() {
        return unary(UnaryOp.RECIPROCAL, OpKind.RECIPROCAL, 0, 0);
    }

    public Tensor square() {
        return unary(UnaryOp.SQUARE, OpKind.SQUARE, 0, 0);
    }

    public Tensor log1p() {
        return unary(UnaryOp.LOG1P, OpKind.LOG1P, 0, 0);
    }

    public Tensor expm1() {
        return unary(UnaryOp.EXPM1, OpKind.EXPM1, 0, 0);
    }

    public Tensor erf() {
        return unary(UnaryOp.ERF, OpKind.ERF, 0, 0);
    }

    /** Clamps into {@code [min, max]}; pass infinities for a missing bound. */
    public Tensor clamp(double min, double max) {
        return unary(UnaryOp.CLAMP, OpKind.CLAMP, min, max);
    }

    public Tensor clampMin(double min) {
        return clamp(min, Double.POSITIVE_INFINITY);
    }

    public Tensor clampMax(double max) {
        return clamp(Double.NEGATIVE_INFINITY, max);
    }

    /** {@code this + weight * (end - this)}. */
    public Tensor lerp(Tensor end, double weight) {
        return add(end.sub(this).mul(weight));
    }

    /** Elementwise true where the value is NaN. */
    public Tensor isnan() {
        return ne(this);
    }

    /** Elementwise true where the value is finite. */
    public Tensor isfinite() {
        if (!dtype.isFloatingPoint()) {
            return fullLike(1).to(DType.BOOL);
        }
        return sub(this).eq(0.0);
    }

    // ---------------------------------------------------------------- reductions

    private Tensor reduce(String name, ReduceOp op, int[] dims, boolean keepdim, DType outType) {
        checkOpen();
        int[] d = rank() == 0 ? new int[0] : Shapes.dims(name, dims, rank());
        long[] keepShape = Shapes.reduced(layout.shape(), d, true);
        if ((op == ReduceOp.MAX || op == ReduceOp.MIN || op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN) && numel() == 0) {
            throw new IllegalArgumentException(name + ": cannot reduce an empty tensor of shape " + Shapes.str(layout.shape())
                    + " (the reduction has no identity)");
        }
        Tensor out = empty(keepShape, outType, device());
        Tensor src = outType == dtype || op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN || outType == DType.BOOL
                ? this : to(outType);
        backend().reduce(op, src.storage(), src.layout, d, out.storage(), out.layout);
        long[] finalShape = Shapes.reduced(layout.shape(), d, keepdim);
        Tensor result = keepdim ? out : new Tensor(out.ref, Layout.contiguous(finalShape), outType, null);
        if (recording(src) && outType.isFloatingPoint()) {
            Node n = switch (op) {
                case SUM -> node(OpKind.SUM, new Tensor[] {src});
                case PROD -> node(OpKind.PROD, new Tensor[] {src}, src, out);
                case MAX, MIN -> node(OpKind.EXTREMUM, new Tensor[] {src}, src, out);
                default -> throw new AssertionError(op);
            };
            result.attach(n.ints(d).attr(keepdim));
        }
        return result;
    }

    private DType sumType() {
        return dtype.isFloatingPoint() ? dtype : DType.INT64;
    }

    /** The sum of all elements (int and bool sum to int64). */
    public Tensor sum() {
        return reduce("sum", ReduceOp.SUM, new int[0], false, sumType());
    }

    /** The sum over {@code dims}, removing them. */
    public Tensor sum(int... dims) {
        return sum(dims, false);
    }

    public Tensor sum(int dim, boolean keepdim) {
        return sum(new int[] {dim}, keepdim);
    }

    public Tensor sum(int[] dims, boolean keepdim) {
        if (dims.length == 0) {
            return reduce("sum", ReduceOp.SUM, allDims(), keepdim, sumType());
        }
        return reduce("sum", ReduceOp.SUM, dims, keepdim, sumType());
    }

    private int[] allDims() {
        int[] all = new int[rank()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return all;
    }

    public Tensor prod() {
        return reduce("prod", ReduceOp.PROD, new int[0], false, sumType());
    }

    public Tensor prod(int dim, boolean keepdim) {
        return reduce("prod", ReduceOp.PROD, new int[] {dim}, keepdim, sumType());
    }

    private long reducedCount(int[] dims) {
        if (rank() == 0) {
            return 1;
        }
        long n = 1;
        for (int d : Shapes.dims("mean", dims, rank())) {
            n *= layout.size(d);
        }
        return n;
    }

    private void requireFloat(String op) {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException(op + ": expected a floating-point input, got " + dtype
                    + " (shape " + Shapes.str(layout.shape()) + "); convert it with toFloat() first");
        }
    }

    /** The mean of all elements. */
    public Tensor mean() {
        return mean(new int[0], false);
    }

    public Tensor mean(int... dims) {
        return mean(dims, false);
    }

    public Tensor mean(int dim, boolean keepdim) {
        return mean(new int[] {dim}, keepdim);
    }

    public Tensor mean(int[] dims, boolean keepdim) {
        requireFloat("mean");
        return sum(dims, keepdim).div((double) reducedCount(dims));
    }

    /**
     * The variance over {@code dims} with Bessel's correction ({@code correction} 1, PyTorch's
     * default) or without (0).
     */
    public Tensor var(int[] dims, int correction, boolean keepdim) {
        requireFloat("var");
        Tensor centered = sub(mean(dims, true));
        double n = Math.max(0, reducedCount(dims) - correction);
        return centered.square().sum(dims, keepdim).div(n);
    }

    /** The unbiased variance of all elements. */
    public Tensor var() {
        return var(new int[0], 1, false);
    }

    public Tensor var(int dim, boolean keepdim) {
        return var(new int[] {dim}, 1, keepdim);
    }

    public Tensor std(int[] dims, int correction, boolean keepdim) {
        return var(dims, correction, keepdim).sqrt();
    }

    public Tensor std() {
        return var().sqrt();
    }

    public Tensor std(int dim, boolean keepdim) {
        return var(dim, keepdim).sqrt();
    }

    /** The largest value over {@code dims} (all when empty); ties share the gradient. */
    public Tensor amax(int[] dims, boolean keepdim) {
        return reduce("amax", ReduceOp.MAX, dims.length == 0 ? allDims() : dims, keepdim, dtype);
    }

    public Tensor amax(int... dims) {
        return amax(dims, false);
    }

    public Tensor amin(int[] dims, boolean keepdim) {
        return reduce("amin", ReduceOp.MIN, dims.length == 0 ? allDims() : dims, keepdim, dtype);
    }

    public Tensor amin(int... dims) {
        return amin(dims, false);
    }

    /** The largest element, 0-dim. */
    public Tensor max() {
        return amax(allDims(), false);
    }

    public Tensor min() {
        return amin(allDims(), false);
    }

    /** Values and int64 indices of a max or min along a dim, as PyTorch's {@code (values, indices)}. */
    public record ValuesIndices(Tensor values, Tensor indices) {
    }

    /** The maximum along {@code dim} with its index (first among ties); the gradient goes to that index. */
    public ValuesIndices max(int dim, boolean keepdim) {
        return extremum("max", ReduceOp.ARGMAX, dim, keepdim);
    }

    public ValuesIndices max(int dim) {
        return max(dim, false);
    }

    public ValuesIndices min(int dim, boolean keepdim) {
        return extremum("min", ReduceOp.ARGMIN, dim, keepdim);
    }

    public ValuesIndices min(int dim) {
        return min(dim, false);
    }

    private ValuesIndices extremum(String name, ReduceOp op, int dim, boolean keepdim) {
        if (rank() == 0) {
            return new ValuesIndices(this, zeros(new long[0], DType.INT64, device()));
        }
        int d = Shapes.dim(name, dim, rank());
        Tensor idx = reduce(name, op, new int[] {d}, true, DType.INT64);
        Tensor values = gather(d, idx);
        return keepdim ? new ValuesIndices(values, idx) : new ValuesIndices(values.squeeze(d), idx.squeeze(d));
    }

    /** The flat index of the largest element, 0-dim int64. */
    public Tensor argmax() {
        return reshape(-1).reduce("argmax", ReduceOp.ARGMAX, new int[] {0}, false, DType.INT64);
    }

    public Tensor argmax(int dim) {
        return argmax(dim, false);
    }

    public Tensor argmax(int dim, boolean keepdim) {
        return reduce("argmax", ReduceOp.ARGMAX, new int[] {dim}, keepdim, DType.INT64);
    }

    public Tensor argmin() {
        return reshape(-1).reduce("argmin", ReduceOp.ARGMIN, new int[] {0}, false, DType.INT64);
    }

    public Tensor argmin(int dim) {
        return argmin(dim, false);
    }

    public Tensor argmin(int dim, boolean keepdim) {
        return reduce("argmin", ReduceOp.ARGMIN, new int[] {dim}, keepdim, DType.INT64);
    }

    /** True (a 0-dim bool) when every element is nonzero. */
    public Tensor all() {
        return reduce("all", ReduceOp.ALL, allDims(), false, DType.BOOL);
    }

    public Tensor all(int dim, boolean keepdim) {
        return reduce("all", ReduceOp.ALL, new int[] {dim}, keepdim, DType.BOOL);
    }

    public Tensor any() {
        return reduce("any", ReduceOp.ANY, allDims(), false, DType.BOOL);
    }

    public Tensor any(int dim, boolean keepdim) {
        return reduce("any", ReduceOp.ANY, new int[] {dim}, keepdim, DType.BOOL);
    }

    /** {@code log(sum(exp(x)))} over {@code dims}, computed stably. */
    public Tensor logsumexp(int[] dims, boolean keepdim) {
        requireFloat("logsumexp");
        Tensor m;
        try (var s = Kiln.noGrad()) {
            m = amax(dims, true);
            m = where(m.isfinite(), m, 0.0);
        }
        Tensor r = sub(m).exp().sum(dims, true).log().add(m);
        return keepdim ? r : r.squeezeDims(dims);
    }

    public Tensor logsumexp(int dim, boolean keepdim) {
        return logsumexp(new int[] {dim}, keepdim);
    }

    private Tensor squeezeDims(int[] dims) {
        int[] d = Shapes.dims("squeeze", dims, rank());
        return reshape(Shapes.reduced(layout.shape(), d, false));
    }

    /**
     * Running sum along {@code dim}. Computed as a log-step scan of shifted additions, so it runs on
     * any backend and is differentiable; integers and bool sum in int64.
     */
    public Tensor cumsum(int dim) {
        if (rank() == 0) {
            return dtype.isFloatingPoint() ? clone() : to(DType.INT64);
        }
        int d = Shapes.dim("cumsum", dim, rank());
        Tensor x = dtype.isFloatingPoint() ? this : to(DType.INT64);
        long n = layout.size(d);
        for (long shift = 1; shift < n; shift *= 2) {
            long[] padShape = x.shape();
            padShape[d] = shift;
            Tensor shifted = cat(List.of(zeros(padShape, x.dtype, device()), x.narrow(d, 0, n - shift)), d);
            x = x.add(shifted);
        }
        return x == this ? clone() : x;
    }

    /** Softmax along {@code dim}. */
    public Tensor softmax(int dim) {
        return softmaxOp("softmax", false, dim);
    }

    /** Log-softmax along {@code dim}, stable for large logits. */
    public Tensor logSoftmax(int dim) {
        return softmaxOp("logSoftmax", true, dim);
    }

    private Tensor softmaxOp(String name, boolean log, int dim) {
        requireFloat(name);
        if (rank() == 0) {
            return log ? zerosLike() : onesLike();
        }
        int d = Shapes.dim(name, dim, rank());
        Tensor out = empty(layout.shape(), dtype, device());
        backend().softmax(log, d, storage(), layout, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(log ? OpKind.LOG_SOFTMAX : OpKind.SOFTMAX, new Tensor[] {this}, out).ints(d));
        }
        return out;
    }

    // ---------------------------------------------------------------- linear algebra

    /**
     * Matrix product with PyTorch's rules: 1-D operands are promoted to matrices and the added dim
     * removed afterwards; leading batch dims broadcast.
     */
    public Tensor matmul(Tensor other) {
        checkSameDevice("matmul", other);
        if (rank() == 0 || other.rank() == 0) {
            throw new IllegalArgumentException("matmul: both arguments need at least 1 dimension, got "
                    + Shapes.str(layout.shape()) + " @ " + Shapes.str(other.layout.shape()));
        }
        if (dtype != other.dtype) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(layout.shape()) + " @ " + Shapes.str(other.layout.shape())
                    + ": expected both operands of one dtype, got " + dtype + " and " + other.dtype);
        }
        Tensor a = rank() == 1 ? unsqueeze(0) : this;
        Tensor b = other.rank() == 1 ? other.unsqueeze(1) : other;
        long k = a.size(-1);
        if (b.size(-2) != k) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(layout.shape()) + " @ " + Shapes.str(other.layout.shape())
                    + ": inner sizes " + k + " and " + b.size(-2) + " differ");
        }
        long m = a.size(-2);
        long n = b.size(-1);
        if (rank() == 2 && other.rank() == 2) {
            // A plain product: the result owns its storage (no reshaped batch view), so that linear
            // layers can add their bias into it in place.
            checkOpen();
            other.checkOpen();
            Tensor out = empty(new long[] {m, n}, dtype, device());
            backend().matmul(storage(), layout.unsqueeze(0), other.storage(), other.layout.unsqueeze(0), out.storage(),
                    out.layout.unsqueeze(0));
            if (recording(this, other)) {
                // ints: whether each operand is a transposed view, so that its gradient is made in the
                // same layout (a linear layer's weight gradient then comes out contiguous).
                out.attach(node(OpKind.MATMUL, new Tensor[] {this, other}, other.requiresGrad ? this : null,
                        requiresGrad ? other : null).ints(transposedMatrix() ? 1 : 0, other.transposedMatrix() ? 1 : 0));
            }
            return out;
        }
        long[] aBatch = Arrays.copyOf(a.shape(), a.rank() - 2);
        long[] bBatch = Arrays.copyOf(b.shape(), b.rank() - 2);
        long[] batch = Shapes.broadcast("matmul", aBatch, bBatch);
        long batchSize = Shapes.numel(batch);
        Tensor a3 = a.expand(concat(batch, m, k)).reshape(batchSize, m, k);
        Tensor b3 = b.expand(concat(batch, k, n)).reshape(batchSize, k, n);
        Tensor out3 = bmm(a3, b3);
        Tensor out = out3.reshape(concat(batch, m, n));
        if (rank() == 1) {
            out = out.squeeze(-2);
        }
        if (other.rank() == 1) {
            out = out.squeeze(-1);
        }
        return out;
    }

    /** A rank-2 tensor stored column-major (the transpose of a contiguous matrix), as {@code w.t()}. */
    private boolean transposedMatrix() {
        return rank() == 2 && !layout.isContiguous() && layout.stride(0) == 1 && layout.stride(1) == layout.size(0);
    }

    /** Batched product of rank-3 tensors {@code [B, M, K] @ [B, K, N]}. */
    public static Tensor bmm(Tensor a, Tensor b) {
        if (a.rank() != 3 || b.rank() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
            throw new IllegalArgumentException("bmm: expected [B, M, K] @ [B, K, N], got " + Shapes.str(a.shape())
                    + " @ " + Shapes.str(b.shape()));
        }
        a.checkSameDevice("bmm", b);
        Tensor out = empty(new long[] {a.size(0), a.size(1), b.size(2)}, a.dtype, a.device());
        a.backend().matmul(a.storage(), a.layout, b.storage(), b.layout, out.storage(), out.layout);
        if (recording(a, b)) {
            out.attach(node(OpKind.MATMUL, new Tensor[] {a, b}, b.requiresGrad ? a : null, a.requiresGrad ? b : null));
        }
        return out;
    }

    private static long[] concat(long[] head, long... tail) {
        long[] out = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    // ---------------------------------------------------------------- indexing

    private void checkIndex(String op, Tensor index) {
        if (index.dtype != DType.INT64) {
            throw new IllegalArgumentException(op + ": expected an int64 index, got " + index.dtype
                    + " (shape " + Shapes.str(index.shape()) + ")");
        }
        checkSameDevice(op, index);
    }

    private void checkGatherShapes(String op, int d, Tensor index, Tensor values) {
        if (index.rank() != Math.max(rank(), 1) && !(rank() == 0 && index.rank() <= 1)) {
            throw new IllegalArgumentException(op + ": index " + Shapes.str(index.shape()) + " must have the same number of"
                    + " dims as the input " + Shapes.str(layout.shape()));
        }
        for (int i = 0; i < index.rank(); i++) {
            if (i != d && index.size(i) > size(i)) {
                throw new IllegalArgumentException(op + ": index " + Shapes.str(index.shape()) + " is larger than the input "
                        + Shapes.str(layout.shape()) + " at dim " + i);
            }
            if (values != null && index.size(i) > values.size(i)) {
                throw new IllegalArgumentException(op + ": index " + Shapes.str(index.shape()) + " is larger than src "
                        + Shapes.str(values.shape()) + " at dim " + i);
            }
        }
    }

    /** {@code out[i][j] = this[i][index[i][j]]} for {@code dim = 1}, as {@code torch.gather}. */
    public Tensor gather(int dim, Tensor index) {
        checkIndex("gather", index);
        int d = Shapes.dim("gather", dim, rank());
        checkGatherShapes("gather", d, index, null);
        Tensor out = empty(index.shape(), dtype, device());
        backend().gather(d, storage(), layout, index.storage(), index.layout, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(OpKind.GATHER, new Tensor[] {this}, index).ints(d));
        }
        return out;
    }

    /** A copy with {@code out[i][index[i][j]] = src[i][j]} for {@code dim = 1}. */
    public Tensor scatter(int dim, Tensor index, Tensor src) {
        return scatterOp("scatter", false, dim, index, src);
    }

    public Tensor scatter(int dim, Tensor index, double value) {
        return scatter(dim, index, full(index.shape(), value, dtype, device()));
    }

    /** A copy with {@code out[i][index[i][j]] += src[i][j]} for {@code dim = 1}. */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) {
        return scatterOp("scatterAdd", true, dim, index, src);
    }

    private Tensor scatterOp(String name, boolean add, int dim, Tensor index, Tensor src) {
        checkIndex(name, index);
        checkSameDevice(name, src);
        int d = Shapes.dim(name, dim, rank());
        checkGatherShapes(name, d, index, src);
        Tensor s = src.to(dtype);
        Tensor out = clone().detach();
        backend().scatter(d, add, index.storage(), index.layout, s.storage(), s.layout, out.storage(), out.layout);
        if (recording(this, s)) {
            out.attach(node(add ? OpKind.SCATTER_ADD : OpKind.SCATTER, new Tensor[] {this, s}, index).ints(d));
        }
        return out;
    }

    /** The slices of {@code dim} at the 1-D int64 {@code index}, as {@code torch.index_select}. */
    public Tensor indexSelect(int dim, Tensor index) {
        checkIndex("indexSelect", index);
        if (index.rank() > 1) {
            throw new IllegalArgumentException("indexSelect: index must be 0-D or 1-D, got " + Shapes.str(index.shape()));
        }
        int d = Shapes.dim("indexSelect", dim, rank());
        Tensor idx = index.reshape(-1);
        long[] shape = layout.shape();
        if (rank() > 0) {
            shape[d] = idx.numel();
        }
        Tensor out = empty(shape, dtype, device());
        backend().indexSelect(d, storage(), layout, idx.storage(), idx.layout, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(OpKind.INDEX_SELECT, new Tensor[] {this}, idx).ints(d));
        }
        return out;
    }

    /** A copy with {@code out.select(dim, index[i]) += source.select(dim, i)}. */
    public Tensor indexAdd(int dim, Tensor index, Tensor source) {
        checkIndex("indexAdd", index);
        checkSameDevice("indexAdd", source);
        int d = Shapes.dim("indexAdd", dim, rank());
        Tensor idx = index.reshape(-1);
        long[] expected = layout.shape();
        if (rank() > 0) {
            expected[d] = idx.numel();
        }
        if (!Arrays.equals(expected, source.shape())) {
            throw new IllegalArgumentException("indexAdd: source shape " + Shapes.str(source.shape()) + " must be "
                    + Shapes.str(expected) + " for input " + Shapes.str(layout.shape()) + " and " + idx.numel() + " indices");
        }
        Tensor s = source.to(dtype);
        Tensor out = clone().detach();
        backend().indexAdd(d, idx.storage(), idx.layout, s.storage(), s.layout, out.storage(), out.layout);
        if (recording(this, s)) {
            out.attach(node(OpKind.INDEX_ADD, new Tensor[] {this, s}, idx).ints(d));
        }
        return out;
    }

    // ---------------------------------------------------------------- convolution building blocks

    /**
     * Unfolds the sliding windows of an {@code [N, C, H, W]} input into {@code [N, C*kh*kw, L]}
     * columns ({@code torch.nn.functional.unfold}); {@code padValue} fills the padding.
     */
    public Tensor im2col(ConvGeometry g, double padValue) {
        if (rank() != 4 || size(2) != g.h() || size(3) != g.w()) {
            throw new IllegalArgumentException("im2col: expected an [N, C, " + g.h() + ", " + g.w() + "] input, got "
                    + Shapes.str(layout.shape()));
        }
        if (g.outH() <= 0 || g.outW() <= 0) {
            throw new IllegalArgumentException("im2col: the kernel (" + g.kh() + ", " + g.kw() + ") with dilation and padding"
                    + " does not fit the input " + Shapes.str(layout.shape()) + "; output size would be ("
                    + g.outH() + ", " + g.outW() + ")");
        }
        Tensor out = empty(new long[] {size(0), size(1) * g.kh() * g.kw(), g.outH() * g.outW()}, dtype, device());
        backend().im2col(storage(), layout, g, padValue, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(OpKind.IM2COL, new Tensor[] {this}).attr(g));
        }
        return out;
    }

    /** The adjoint of {@link #im2col}: sums {@code [N, C*kh*kw, L]} columns into {@code [N, C, H, W]}. */
    public Tensor col2im(ConvGeometry g) {
        long kk = (long) g.kh() * g.kw();
        if (rank() != 3 || size(1) % kk != 0 || size(2) != g.outH() * g.outW()) {
            throw new IllegalArgumentException("col2im: expected [N, C*" + kk + ", " + g.outH() * g.outW() + "] columns, got "
                    + Shapes.str(layout.shape()));
        }
        Tensor out = empty(new long[] {size(0), size(1) / kk, g.h(), g.w()}, dtype, device());
        backend().col2im(storage(), layout, g, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(OpKind.COL2IM, new Tensor[] {this}).attr(g));
        }
        return out;
    }

    /**
     * Max pooling of an {@code [N, C, H, W]} input over the windows of {@code g} (padding counts as
     * minus infinity); the gradient goes to each window's first maximum, as in PyTorch.
     */
    public Tensor maxPool2d(ConvGeometry g) {
        if (rank() != 4 || size(2) != g.h() || size(3) != g.w()) {
            throw new IllegalArgumentException("maxPool2d: expected an [N, C, " + g.h() + ", " + g.w() + "] input, got "
                    + Shapes.str(layout.shape()));
        }
        if (g.outH() <= 0 || g.outW() <= 0) {
            throw new IllegalArgumentException("maxPool2d: the window (" + g.kh() + ", " + g.kw() + ") does not fit the input "
                    + Shapes.str(layout.shape()));
        }
        requireFloat("maxPool2d");
        long[] outShape = {size(0), size(1), g.outH(), g.outW()};
        Tensor values = empty(outShape, dtype, device());
        Tensor argmax = empty(outShape, DType.INT64, device());
        backend().maxPool2d(storage(), layout, g, values.storage(), values.layout, argmax.storage(), argmax.layout);
        if (recording(this)) {
            values.attach(node(OpKind.MAX_POOL2D, new Tensor[] {this}, argmax).attr(g));
        }
        return values;
    }

    /**
     * The gradient of {@link #maxPool2d} given this tensor as the pooled output's gradient and the
     * saved window argmax: an {@code [N, C, H, W]} tensor. Differentiable (for double backward).
     */
    public Tensor maxPool2dBackward(Tensor argmax, ConvGeometry g) {
        Tensor out = empty(new long[] {size(0), size(1), g.h(), g.w()}, dtype, device());
        backend().maxPool2dBackward(storage(), layout, argmax.storage(), argmax.layout, g, out.storage(), out.layout);
        if (recording(this)) {
            out.attach(node(OpKind.MAX_POOL2D_BACKWARD, new Tensor[] {this}, argmax).attr(g));
        }
        return out;
    }

    /**
     * 2-D convolution (cross-correlation, as PyTorch's {@code conv2d} without bias) of this
     * {@code [N, C, H, W]} input with {@code weight} {@code [O, C / groups, kh, kw]} over the windows of
     * {@code g}: an {@code [N, O, outH, outW]} tensor. The backend computes it in one call (cuDNN on
     * CUDA where it loads; im2col and one batched matrix product by default).
     */
    public Tensor conv2d(Tensor weight, ConvGeometry g, int groups) {
        String op = "conv2d";
        checkConv(op, this, "input", size(1), weight, g, groups);
        if (size(1) != weight.size(1) * groups) {
            throw new IllegalArgumentException(op + ": input " + Shapes.str(layout.shape()) + " has " + size(1) + " channels but weight "
                    + Shapes.str(weight.layout.shape()) + " with groups=" + groups + " expects " + weight.size(1) * groups);
        }
        if (size(2) != g.h() || size(3) != g.w()) {
            throw new IllegalArgumentException(op + ": expected an [N, C, " + g.h() + ", " + g.w() + "] input, got "
                    + Shapes.str(layout.shape()));
        }
        Tensor out = empty(new long[] {size(0), weight.size(0), g.outH(), g.outW()}, dtype, device());
        backend().conv2d(storage(), layout, weight.storage(), weight.layout, g, groups, out.storage(), out.layout);
        if (recording(this, weight)) {
            out.attach(node(OpKind.CONV2D, new Tensor[] {this, weight}, weight.requiresGrad ? this : null,
                    requiresGrad ? weight : null).attr(g).ints(groups));
        }
        return out;
    }

    /**
     * The gradient of {@link #conv2d} with respect to its input, this tensor being the gradient
     * {@code [N, O, outH, outW]} of the convolution's output: an {@code [N, C, H, W]} tensor with
     * {@code C = weight.size(1) * groups}. This is also the transposed convolution. Differentiable.
     */
    public Tensor conv2dBackwardInput(Tensor weight, ConvGeometry g, int groups) {
        String op = "conv2dBackwardInput";
        checkConv(op, this, "grad", size(1), weight, g, groups);
        checkConvGrad(op, g);
        Tensor out = empty(new long[] {size(0), weight.size(1) * groups, g.h(), g.w()}, dtype, device());
        backend().conv2dBackwardInput(storage(), layout, weight.storage(), weight.layout, g, groups, out.storage(), out.layout);
        if (recording(this, weight)) {
            out.attach(node(OpKind.CONV2D_BACKWARD_INPUT, new Tensor[] {this, weight}, this, weight).attr(g).ints(groups));
        }
        return out;
    }

    /**
     * The gradient of {@link #conv2d} with respect to its weight, this tensor being the gradient
     * {@code [N, O, outH, outW]} of the output and {@code input} the convolution's {@code [N, C, H, W]}
     * input: an {@code [O, C / groups, kh, kw]} tensor. Differentiable.
     */
    public Tensor conv2dBackwardWeight(Tensor input, ConvGeometry g, int groups) {
        String op = "conv2dBackwardWeight";
        checkSameDevice(op, input);
        if (input.rank() != 4 || input.size(2) != g.h() || input.size(3) != g.w() || groups <= 0 || input.size(1) % groups != 0
                || rank() != 4 || size(0) != input.size(0) || size(1) % groups != 0 || dtype != input.dtype) {
            throw new IllegalArgumentException(op + ": grad " + Shapes.str(layout.shape()) + " (" + dtype + ") and input "
                    + Shapes.str(input.layout.shape()) + " (" + input.dtype + ") do not fit an [N, C, " + g.h() + ", " + g.w()
                    + "] input with groups=" + groups + " dividing both channel counts, both of one dtype");
        }
        requireFloat(op);
        checkConvGrad(op, g);
        Tensor out = empty(new long[] {size(1), input.size(1) / groups, g.kh(), g.kw()}, dtype, device());
        backend().conv2dBackwardWeight(storage(), layout, input.storage(), input.layout, g, groups, out.storage(), out.layout);
        if (recording(this, input)) {
            out.attach(node(OpKind.CONV2D_BACKWARD_WEIGHT, new Tensor[] {this, input}, this, input).attr(g).ints(groups));
        }
        return out;
    }

    /**
     * Batch normalization of this {@code [N, C, *]} tensor per channel (dim 1), as PyTorch's
     * {@code batch_norm}: with batch statistics when {@code training} or when a running statistic
     * is null, updating the running statistics in place (momentum, unbiased variance) when
     * training; with the running statistics otherwise. {@code weight}, {@code bias},
     * {@code runningMean} and {@code runningVar} are {@code [C]} tensors of this dtype and device,
     * each may be null. The backend computes it in one call (cuDNN on CUDA where it loads);
     * differentiable in this tensor, weight and bias, to any order. {@code nn.F.batchNorm} is the
     * user-facing form.
     */
    public Tensor batchNorm(Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, boolean training,
                            double momentum, double eps) {
        String op = "batchNorm";
        requireFloat(op);
        if (rank() < 2) {
            throw new IllegalArgumentException(op + ": expected an input of at least 2 dims [N, C, ...], got "
                    + Shapes.str(layout.shape()));
        }
        long c = size(1);
        for (Tensor t : new Tensor[] {weight, bias, runningMean, runningVar}) {
            if (t == null) {
                continue;
            }
            checkSameDevice(op, t);
            if (t.rank() != 1 || t.size(0) != c || t.dtype != dtype) {
                throw new IllegalArgumentException(op + ": input " + Shapes.str(layout.shape()) + " (" + dtype + ") has " + c
                        + " channels but a weight, bias or running statistic is " + t.dtype + " " + Shapes.str(t.shape()));
            }
        }
        Tensor out = empty(layout.shape(), dtype, device());
        boolean batchStats = training || runningMean == null || runningVar == null;
        if (!batchStats) {
            if (recording(this, weight, bias)) {
                // The evaluation map is affine per channel: recorded as one scale and one shift.
                long[] perChannel = Shapes.along(rank(), 1, c);
                Tensor scale = runningVar.add(eps).rsqrt();
                scale = weight == null ? scale : scale.mul(weight);
                Tensor shift = runningMean.mul(scale).neg();
                shift = bias == null ? shift : shift.add(bias);
                return mul(scale.view(perChannel)).add(shift.view(perChannel));
            }
            backend().batchNormInference(storage(), layout, operands(weight, bias, runningMean, runningVar), eps,
                    out.storage(), out.layout);
            return out;
        }
        long count = numel() / Math.max(c, 1);
        if (count <= 1 && training) {
            throw new IllegalArgumentException(op + ": expected more than 1 value per channel when training, got input of shape "
                    + Shapes.str(layout.shape()));
        }
        boolean update = training && runningMean != null && runningVar != null;
        Tensor mean = empty(new long[] {c}, dtype, device());
        Tensor invstd = empty(new long[] {c}, dtype, device());
        backend().batchNormTraining(storage(), layout, operands(weight, bias, update ? runningMean : null,
                update ? runningVar : null), momentum, eps, out.storage(), out.layout, mean.storage(), invstd.storage());
        if (update) {
            runningMean.bumpVersion();
            runningVar.bumpVersion();
        }
        if (recording(this, weight, bias)) {
            List<Tensor> inputs = new ArrayList<>(List.of(this));
            if (weight != null) {
                inputs.add(weight);
            }
            if (bias != null) {
                inputs.add(bias);
            }
            out.attach(node(OpKind.BATCH_NORM, inputs.toArray(new Tensor[0]), this, weight, mean, invstd)
                    .ints(weight != null ? 1 : 0, bias != null ? 1 : 0).doubles(eps));
        }
        return out;
    }

    private static BatchNormOperands operands(Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar) {
        return new BatchNormOperands(weight == null ? null : weight.storage(), weight == null ? null : weight.layout,
                bias == null ? null : bias.storage(), bias == null ? null : bias.layout,
                runningMean == null ? null : runningMean.storage(), runningMean == null ? null : runningMean.layout,
                runningVar == null ? null : runningVar.storage(), runningVar == null ? null : runningVar.layout);
    }

    /** Rank, dtype, device and kernel checks shared by the convolution ops; {@code channels} is what weight.size(0) must equal. */
    private static void checkConv(String op, Tensor x, String what, long channels, Tensor weight, ConvGeometry g, int groups) {
        x.checkSameDevice(op, weight);
        if (x.rank() != 4 || weight.rank() != 4) {
            throw new IllegalArgumentException(op + ": expected a 4-D " + what + " and a 4-D [O, C/groups, kh, kw] weight, got "
                    + what + " " + Shapes.str(x.layout.shape()) + " and weight " + Shapes.str(weight.layout.shape()));
        }
        if (x.dtype != weight.dtype) {
            throw new IllegalArgumentException(op + ": " + what + " " + Shapes.str(x.layout.shape()) + " and weight "
                    + Shapes.str(weight.layout.shape()) + ": expected one dtype, got " + x.dtype + " and " + weight.dtype);
        }
        x.requireFloat(op);
        if (weight.size(2) != g.kh() || weight.size(3) != g.kw()) {
            throw new IllegalArgumentException(op + ": weight " + Shapes.str(weight.layout.shape()) + " does not have the kernel size ("
                    + g.kh() + ", " + g.kw() + ")");
        }
        if (groups <= 0 || weight.size(0) % groups != 0 || weight.size(0) != channels && !what.equals("input")) {
            throw new IllegalArgumentException(op + ": weight " + Shapes.str(weight.layout.shape()) + " with groups=" + groups
                    + " does not fit " + what + " " + Shapes.str(x.layout.shape()) + " (out channels must be divisible by groups"
                    + (what.equals("input") ? "" : " and equal the grad's channels") + ")");
        }
        if (g.outH() <= 0 || g.outW() <= 0) {
            throw new IllegalArgumentException(op + ": the kernel (" + g.kh() + ", " + g.kw() + ") with dilation and padding does not"
                    + " fit the input (" + g.h() + ", " + g.w() + "); output size would be (" + g.outH() + ", " + g.outW() + ")");
        }
    }

    private void checkConvGrad(String op, ConvGeometry g) {
        if (size(2) != g.outH() || size(3) != g.outW()) {
            throw new IllegalArgumentException(op + ": grad " + Shapes.str(layout.shape()) + " must be [N, O, " + g.outH() + ", "
                    + g.outW() + "] for an input of (" + g.h() + ", " + g.w() + ")");
        }
    }

    // ---------------------------------------------------------------- joining and splitting

    /** Concatenates along {@code dim}; all tensors share every other size. */
    public static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("cat: expected a non-empty list of tensors");
        }
        Tensor first = tensors.get(0);
        if (first.rank() == 0) {
            throw new IllegalArgumentException("cat: zero-dimensional tensor cannot be concatenated");
        }
        int d = Shapes.dim("cat", dim, first.rank());
        DType type = first.dtype;
        long total = 0;
        for (Tensor t : tensors) {
            first.checkSameDevice("cat", t);
            if (t.rank() != first.rank()) {
                throw new IllegalArgumentException("cat: tensors must have the same number of dims, got "
                        + Shapes.str(first.shape()) + " and " + Shapes.str(t.shape()));
            }
            for (int i = 0; i < t.rank(); i++) {
                if (i != d && t.size(i) != first.size(i)) {
                    throw new IllegalArgumentException("cat: sizes must match except in dim " + d + ", got "
                            + Shapes.str(first.shape()) + " and " + Shapes.str(t.shape()));
                }
            }
            type = DType.promote(type, t.dtype);
            total += t.size(d);
        }
        long[] shape = first.shape();
        shape[d] = total;
        Tensor out = empty(shape, type, first.device());
        long at = 0;
        Tensor[] inputs = new Tensor[tensors.size()];
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = tensors.get(i).to(type);
            inputs[i] = t;
            long len = t.size(d);
            first.backend().copy(t.storage(), t.layout, out.storage(), out.layout.narrow(d, at, len));
            at += len;
        }
        if (recording(inputs)) {
            out.attach(node(OpKind.CAT, inputs).ints(d));
        }
        return out;
    }

    public static Tensor cat(int dim, Tensor... tensors) {
        return cat(List.of(tensors), dim);
    }

    /** Stacks equal-shaped tensors along a new dim. */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("stack: expected a non-empty list of tensors");
        }
        long[] shape = tensors.get(0).shape();
        List<Tensor> parts = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException("stack: expects each tensor to be equal size, but got "
                        + Shapes.str(shape) + " and " + Shapes.str(t.shape()));
            }
            parts.add(t.unsqueeze(dim));
        }
        return cat(parts, Shapes.dim("stack", dim, shape.length + 1));
    }

    public static Tensor stack(int dim, Tensor... tensors) {
        return stack(List.of(tensors), dim);
    }

    /** Views of {@code splitSize} elements along {@code dim} (the last may be smaller). */
    public List<Tensor> split(long splitSize, int dim) {
        if (splitSize <= 0) {
            throw new IllegalArgumentException("split: split size must be positive, got " + splitSize);
        }
        int d = Shapes.dim("split", dim, rank());
        List<Tensor> out = new ArrayList<>();
        long size = size(d);
        for (long at = 0; at < size || (size == 0 && out.isEmpty()); at += splitSize) {
            out.add(narrow(d, at, Math.min(splitSize, size - at)));
        }
        return out;
    }

    /** Views of the given sizes along {@code dim}; they must add up to the dim's size. */
    public List<Tensor> split(long[] sizes, int dim) {
        int d = Shapes.dim("split", dim, rank());
        long sum = 0;
        for (long s : sizes) {
            sum += s;
        }
        if (sum != size(d)) {
            throw new IllegalArgumentException("split: sizes " + Shapes.str(sizes) + " add up to " + sum + " but dim " + d
                    + " of " + Shapes.str(layout.shape()) + " has size " + size(d));
        }
        List<Tensor> out = new ArrayList<>();
        long at = 0;
        for (long s : sizes) {
            out.add(narrow(d, at, s));
            at += s;
        }
        return out;
    }

    /** Up to {@code chunks} views of equal size (the last may be smaller) along {@code dim}. */
    public List<Tensor> chunk(int chunks, int dim) {
        if (chunks <= 0) {
            throw new IllegalArgumentException("chunk: number of chunks must be positive, got " + chunks);
        }
        long size = size(dim);
        return split(Math.max(1, (size + chunks - 1) / chunks), dim);
    }

    // ---------------------------------------------------------------- in place

    /**
     * Writes {@code result} (computed out of place from this tensor) into this tensor's storage,
     * bumping the version, and makes its history this tensor's.
     */
    private Tensor assign(String op, Tensor result) {
        if (!Arrays.equals(result.layout.shape(), layout.shape())) {
            throw new IllegalArgumentException(op + ": the result's shape " + Shapes.str(result.shape())
                    + " doesn't match the tensor's shape " + Shapes.str(layout.shape()) + " (in-place ops cannot broadcast self)");
        }
        if (result.dtype.isFloatingPoint() && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException(op + ": the result type " + result.dtype + " can't be cast to the tensor's type "
                    + dtype);
        }
        if (result.gradFn != null && viewBase != null) {
            throw new UnsupportedOperationException(op + ": in-place operation on a view (" + Shapes.str(layout.shape())
                    + ") whose result requires grad is not supported; clone() the view first");
        }
        backend().copy(result.storage(), result.layout, storage(), layout);
        ref.bumpVersion();
        if (result.gradFn != null) {
            gradFn = result.gradFn;
            requiresGrad = true;
        }
        return this;
    }

    private void checkInPlace(String op) {
        checkOpen();
        if (GradMode.isEnabled() && requiresGrad && gradFn == null) {
            throw new IllegalStateException(op + ": a leaf tensor that requires grad (" + Shapes.str(layout.shape())
                    + ") is being used in an in-place operation; do it under Kiln.noGrad() or use the out-of-place form");
        }
    }

    /**
     * True when this layout never maps two indices to one storage element, so a kernel may write
     * its result here while reading the same positions: no stride-0 dims, and each dim's stride
     * clears the span of the dims with smaller strides.
     */
    private boolean writableInPlace() {
        long[] shape = layout.shape();
        long[] strides = layout.strides();
        Integer[] order = new Integer[shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1) {
                if (strides[d] <= 0) {
                    return false;
                }
                order[n++] = d;
            }
        }
        Arrays.sort(order, 0, n, (x, y) -> Long.compare(strides[x], strides[y]));
        long span = 1;
        for (int i = 0; i < n; i++) {
            int d = order[i];
            if (strides[d] < span) {
                return false;
            }
            span = strides[d] * (shape[d] - 1) + span;
        }
        return true;
    }

    /**
     * {@code this = this op other} computed straight into this storage when the result keeps this
     * tensor's dtype and shape and {@code other} cannot be overwritten before it is read (another
     * storage, or exactly this view), and autograd either records nothing or an add/sub on a tensor
     * that is no view (as PyTorch records {@code AddBackward} for {@code add_}); else null, and the
     * caller takes the out-of-place route (which also reports errors).
     */
    private Tensor binaryInPlace(BinaryOp op, Tensor other) {
        if (!device().equals(other.device()) || other.closed || other.ref.isFreed()
                || !dtype.isFloatingPoint() || DType.promote(dtype, other.dtype) != dtype) {
            return null;
        }
        // Under autograd only add and sub (whose rules save nothing) on a tensor that is no view.
        boolean record = recording(this, other);
        if (record && ((op != BinaryOp.ADD && op != BinaryOp.SUB) || viewBase != null || ref == other.ref)) {
            return null;
        }
        long[] shape = layout.shape();
        long[] os = other.layout.shape();
        if (os.length > shape.length) {
            return null;
        }
        for (int i = 1; i <= os.length; i++) {
            long o = os[os.length - i];
            if (o != 1 && o != shape[shape.length - i]) {
                return null;
            }
        }
        if (ref == other.ref && !layout.equals(other.layout)) {
            return null;
        }
        if (!writableInPlace()) {
            return null;
        }
        Tensor b = other.to(dtype);
        Node n = record ? node(op == BinaryOp.ADD ? OpKind.ADD : OpKind.SUB, new Tensor[] {this, b}) : null;
        backend().binary(op, storage(), layout, b.storage(), b.layout.broadcastTo(shape), storage(), layout);
        ref.bumpVersion();
        if (n != null) {
            gradFn = n;
            requiresGrad = true;
        }
        return this;
    }

    /** {@code this = op(this)} straight into this storage when nothing is recorded; else null. */
    private Tensor unaryInPlace(UnaryOp op, double p0, double p1) {
        if (recording(this) || !dtype.isFloatingPoint() || !writableInPlace()) {
            return null;
        }
        backend().unary(op, p0, p1, storage(), layout, storage(), layout);
        ref.bumpVersion();
        return this;
    }

    public Tensor add_(Tensor other) {
        checkInPlace("add_");
        Tensor done = binaryInPlace(BinaryOp.ADD, other);
        return done != null ? done : assign("add_", add(other));
    }

    public Tensor add_(double other) {
        checkInPlace("add_");
        Tensor done = dtype.isFloatingPoint() ? binaryInPlace(BinaryOp.ADD, wrapScalar(other)) : null;
        return done != null ? done : assign("add_", add(other));
    }

    /** {@code this += alpha * other}. */
    public Tensor add_(Tensor other, double alpha) {
        checkInPlace("add_");
        return add_(alpha == 1 ? other : other.mul(alpha));
    }

    public Tensor sub_(Tensor other) {
        checkInPlace("sub_");
        Tensor done = binaryInPlace(BinaryOp.SUB, other);
        return done != null ? done : assign("sub_", sub(other));
    }

    public Tensor sub_(double other) {
        checkInPlace("sub_");
        Tensor done = dtype.isFloatingPoint() ? binaryInPlace(BinaryOp.SUB, wrapScalar(other)) : null;
        return done != null ? done : assign("sub_", sub(other));
    }

    public Tensor mul_(Tensor other) {
        checkInPlace("mul_");
        Tensor done = binaryInPlace(BinaryOp.MUL, other);
        return done != null ? done : assign("mul_", mul(other));
    }

    public Tensor mul_(double other) {
        checkInPlace("mul_");
        Tensor done = dtype.isFloatingPoint() ? binaryInPlace(BinaryOp.MUL, wrapScalar(other)) : null;
        return done != null ? done : assign("mul_", mul(other));
    }

    public Tensor div_(Tensor other) {
        checkInPlace("div_");
        Tensor done = binaryInPlace(BinaryOp.DIV, other);
        return done != null ? done : assign("div_", div(other));
    }

    public Tensor div_(double other) {
        checkInPlace("div_");
        Tensor done = dtype.isFloatingPoint() ? binaryInPlace(BinaryOp.DIV, wrapScalar(other)) : null;
        return done != null ? done : assign("div_", div(other));
    }

    public Tensor pow_(double exponent) {
        checkInPlace("pow_");
        return assign("pow_", pow(exponent));
    }

    public Tensor clamp_(double min, double max) {
        checkInPlace("clamp_");
        return assign("clamp_", clamp(min, max));
    }

    public Tensor relu_() {
        checkInPlace("relu_");
        Tensor done = unaryInPlace(UnaryOp.RELU, 0, 0);
        return done != null ? done : assign("relu_", relu());
    }

    public Tensor neg_() {
        checkInPlace("neg_");
        Tensor done = unaryInPlace(UnaryOp.NEG, 0, 0);
        return done != null ? done : assign("neg_", neg());
    }

    public Tensor sqrt_() {
        checkInPlace("sqrt_");
        Tensor done = unaryInPlace(UnaryOp.SQRT, 0, 0);
        return done != null ? done : assign("sqrt_", sqrt());
    }

    public Tensor maskedFill_(Tensor mask, double value) {
        checkInPlace("maskedFill_");
        return assign("maskedFill_", maskedFill(mask, value));
    }

    /** {@code this = this + weight * (end - this)}. */
    public Tensor lerp_(Tensor end, double weight) {
        checkInPlace("lerp_");
        return assign("lerp_", lerp(end, weight));
    }

    /** Copies {@code src} (broadcast, converted) into this tensor. */
    public Tensor copy_(Tensor src) {
        checkInPlace("copy_");
        if (!recording(this, src) && device().equals(src.device()) && !sharesStorageWith(src) && !src.closed
                && !src.ref.isFreed() && writableInPlace()
                && Arrays.equals(Shapes.broadcast("copy_", layout.shape(), src.shape()), layout.shape())) {
            // The copy kernel converts dtypes itself: no intermediate tensor.
            backend().copy(src.storage(), src.layout.broadcastTo(layout.shape()), storage(), layout);
            ref.bumpVersion();
            return this;
        }
        Tensor s = src.to(device()).expand(Shapes.broadcast("copy_", layout.shape(), src.shape()));
        return assign("copy_", s.to(dtype));
    }

    /** Sets every element to {@code value}. */
    public Tensor fill_(double value) {
        checkInPlace("fill_");
        backend().fill(storage(), layout, value);
        ref.bumpVersion();
        return this;
    }

    public Tensor zero_() {
        return fill_(0);
    }

    /** Fills with uniform numbers in [lo, hi) from the default generator. */
    public Tensor uniform_(double lo, double hi) {
        return uniform_(lo, hi, Generator.defaultGenerator());
    }

    public Tensor uniform_(double lo, double hi, Generator generator) {
        checkInPlace("uniform_");
        requireFloat("uniform_");
        long[] at = generator.reserve(Philox.blocksForUniform(numel(), dtype));
        backend().uniform(storage(), layout, at[0], at[1], lo, hi);
        ref.bumpVersion();
        return this;
    }

    /** Fills with normal numbers from the default generator. */
    public Tensor normal_(double mean, double std) {
        return normal_(mean, std, Generator.defaultGenerator());
    }

    public Tensor normal_(double mean, double std, Generator generator) {
        checkInPlace("normal_");
        requireFloat("normal_");
        long[] at = generator.reserve(Philox.blocksForNormal(numel()));
        backend().normal(storage(), layout, at[0], at[1], mean, std);
        ref.bumpVersion();
        return this;
    }

    /**
     * Replaces this tensor's data with {@code source}'s storage and layout (same shape), keeping the
     * object: how a module's {@code to(device)} moves parameters in place. Returns this tensor.
     */
    public Tensor setData(Tensor source) {
        if (!Arrays.equals(source.shape(), layout.shape())) {
            throw new IllegalArgumentException("setData: new data of shape " + Shapes.str(source.shape())
                    + " must match the tensor's shape " + Shapes.str(layout.shape()));
        }
        if (source.dtype != dtype && requiresGrad && !source.dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("setData: a tensor that requires grad cannot take " + source.dtype + " data");
        }
        source.checkOpen();
        source.ref.retain();
        StorageRef old = ref;
        ref = source.ref;
        layout = source.layout;
        dtype = source.dtype;
        if (!closed) {
            old.release();
        }
        closed = false;
        if (grad != null && !grad.device().equals(device())) {
            grad = grad.detach().to(device());
        }
        return this;
    }

    // ---------------------------------------------------------------- values out

    private static Object hostArray(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new float[n];
            case FLOAT64 -> new double[n];
            case INT64 -> new long[n];
            case BOOL -> new boolean[n];
            case FLOAT16, BFLOAT16 -> new short[n];
        };
    }

    private Object copyOut(DType as) {
        checkOpen();
        Tensor t = to(as);
        Object host = hostArray(as, checkedInt("toArray", numel()));
        t.backend().toHost(t.storage(), t.layout, host);
        return host;
    }

    /** The values, row-major, converted to float. */
    public float[] toFloatArray() {
        return (float[]) copyOut(DType.FLOAT32);
    }

    /** The values, row-major, converted to double. */
    public double[] toDoubleArray() {
        return (double[]) copyOut(DType.FLOAT64);
    }

    /** The values, row-major, converted to long (floats truncate toward zero). */
    public long[] toLongArray() {
        return (long[]) copyOut(DType.INT64);
    }

    /** The values, row-major, converted to boolean (nonzero is true). */
    public boolean[] toBooleanArray() {
        return (boolean[]) copyOut(DType.BOOL);
    }

    /**
     * The value of a one-element tensor as a double (bool gives 0 or 1), as {@code torch.Tensor.item()};
     * waits for the device when needed.
     */
    public double item() {
        if (numel() != 1) {
            throw new IllegalStateException("item: a tensor with " + numel() + " elements (shape " + Shapes.str(layout.shape())
                    + ") cannot be converted to a scalar");
        }
        return toDoubleArray()[0];
    }

    /** The value of a one-element tensor as a long. */
    public long itemLong() {
        if (numel() != 1) {
            throw new IllegalStateException("itemLong: a tensor with " + numel() + " elements (shape "
                    + Shapes.str(layout.shape()) + ") cannot be converted to a scalar");
        }
        return toLongArray()[0];
    }

    /** The element at {@code indices} (one per dim) as a double. */
    public double getDouble(long... indices) {
        if (indices.length != rank()) {
            throw new IllegalArgumentException("getDouble: expected " + rank() + " indices for shape "
                    + Shapes.str(layout.shape()) + ", got " + indices.length);
        }
        return get(indices).item();
    }

    /** The values as PyTorch prints them: {@code tensor([[1., 2.], [3., 4.]], requires_grad=True)}. */
    @Override
    public String toString() {
        if (closed || ref.isFreed()) {
            return "tensor(<closed>, shape=" + Shapes.str(layout.shape()) + ")";
        }
        String suffix = "";
        if (device().isCuda()) {
            suffix += ", device='" + device() + "'";
        }
        if (dtype != DType.FLOAT32 && dtype != DType.INT64 && dtype != DType.BOOL || numel() == 0 && dtype != DType.FLOAT32) {
            suffix += ", dtype=torch." + dtype;
        }
        if (gradFn != null) {
            suffix += ", grad_fn=<" + gradFn.name() + ">";
        } else if (requiresGrad) {
            suffix += ", requires_grad=True";
        }
        return TensorPrinter.format(this, suffix);
    }
}
