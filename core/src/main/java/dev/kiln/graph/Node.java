package dev.kiln.graph;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * One recorded operation in the autograd graph, the {@code grad_fn} of the tensor it produced:
 * its {@link OpKind}, an {@link Edge} per input (null where the input needs no gradient), the
 * input metadata, the tensors saved for backward with their versions, and attributes.
 * Created by core while grad mode is on; read by the autograd engine.
 */
public final class Node {

    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final OpKind kind;
    private final Edge[] next;
    private final long[][] inputShapes;
    private final DType[] inputDTypes;
    private Tensor[] saved;
    private final int[] savedVersions;
    private final long sequence = SEQUENCE.getAndIncrement();
    private int[] ints = new int[0];
    private long[] longs = new long[0];
    private double[] doubles = new double[0];
    private Object attr;
    private final Throwable creationSite;
    private final List<UnaryOperator<Tensor>> hooks = new ArrayList<>();
    private Tensor retainedOutput;
    private boolean released;

    /**
     * Records {@code kind} over {@code inputs}, saving {@code saved} (entries may be null). Only
     * core creates nodes.
     */
    public Node(OpKind kind, Tensor[] inputs, Tensor[] saved, boolean anomalyMode) {
        this.kind = kind;
        this.next = new Edge[inputs.length];
        this.inputShapes = new long[inputs.length][];
        this.inputDTypes = new DType[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = inputs[i];
            inputShapes[i] = t.shape();
            inputDTypes[i] = t.dtype();
            if (t.requiresGrad()) {
                next[i] = t.gradFn() != null ? new Edge(t.gradFn(), null) : new Edge(null, t);
            }
        }
        this.saved = saved;
        this.savedVersions = new int[saved.length];
        for (int i = 0; i < saved.length; i++) {
            savedVersions[i] = saved[i] == null ? 0 : saved[i].version();
        }
        this.creationSite = anomalyMode ? new Throwable("forward of " + name() + " was called here") : null;
    }

    public OpKind kind() {
        return kind;
    }

    /** PyTorch-style name, e.g. {@code MulBackward}; a custom function's own name. */
    public String name() {
        if (kind == OpKind.CUSTOM && attr instanceof CustomBackward c) {
            return c.name() + "Backward";
        }
        StringBuilder sb = new StringBuilder();
        for (String part : kind.name().split("_")) {
            sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
        }
        return sb.append("Backward").toString();
    }

    /** One edge per input, null where that input needs no gradient. */
    public Edge[] next() {
        return next;
    }

    public int numInputs() {
        return next.length;
    }

    public long[] inputShape(int i) {
        return inputShapes[i].clone();
    }

    public DType inputDType(int i) {
        return inputDTypes[i];
    }

    /** Creation order; the engine runs later nodes first. */
    public long sequence() {
        return sequence;
    }

    /**
     * The saved tensors, checked: throws when the graph was already freed by a backward without
     * {@code retainGraph}, or when a saved tensor was modified in place after it was saved.
     */
    public Tensor[] saved() {
        if (released) {
            throw new IllegalStateException(name() + ": trying to backward through the graph a second time (or to use "
                    + "saved tensors after they were freed); pass retainGraph=true to the first backward to keep them");
        }
        for (int i = 0; i < saved.length; i++) {
            Tensor t = saved[i];
            if (t != null && t.version() != savedVersions[i]) {
                throw new IllegalStateException(name() + ": one of the tensors needed for gradient computation has been "
                        + "modified by an in-place operation: " + t.dtype() + " " + java.util.Arrays.toString(t.shape())
                        + " is at version " + t.version() + "; expected version " + savedVersions[i]
                        + ". Use an out-of-place operation or clone() the tensor before changing it");
            }
        }
        return saved;
    }

    /** Frees the saved tensors (after a backward that does not retain the graph). */
    public void release() {
        released = true;
        saved = new Tensor[0];
        if (attr instanceof CustomBackward c) {
            c.release();
        }
    }

    public boolean isReleased() {
        return released;
    }

    public int[] ints() {
        return ints;
    }

    public Node ints(int... values) {
        this.ints = values;
        return this;
    }

    public long[] longs() {
        return longs;
    }

    public Node longs(long... values) {
        this.longs = values;
        return this;
    }

    public double[] doubles() {
        return doubles;
    }

    public Node doubles(double... values) {
        this.doubles = values;
        return this;
    }

    public Object attr() {
        return attr;
    }

    public Node attr(Object value) {
        this.attr = value;
        return this;
    }

    /** The device of input 0 for {@link OpKind#TO_DEVICE}. */
    public Device sourceDevice() {
        return (Device) attr;
    }

    /** Where forward created this node, when anomaly mode was on; else null. */
    public Throwable creationSite() {
        return creationSite;
    }

    /** Hooks run on the gradient of this node's output before it flows on. */
    public synchronized List<UnaryOperator<Tensor>> hooks() {
        return List.copyOf(hooks);
    }

    public synchronized void addHook(UnaryOperator<Tensor> hook) {
        hooks.add(hook);
    }

    /** The non-leaf output whose {@code grad} should be kept ({@code retainGrad()}), or null. */
    public Tensor retainedOutput() {
        return retainedOutput;
    }

    public void retainOutput(Tensor output) {
        this.retainedOutput = output;
    }

    @Override
    public String toString() {
        return "<" + name() + ">";
    }
}
