package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Shapes;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The base class of every layer and model, as {@code torch.nn.Module}: it owns named parameters
 * (tensors that require grad and that optimizers update), named buffers (state such as running
 * statistics, saved but not trained) and named child modules, and gives them PyTorch's
 * dotted names ({@code fc1.weight}, {@code bn.running_mean}) in {@link #stateDict()}.
 *
 * <pre>{@code
 * class Net extends Module {
 *     final Linear fc1 = register("fc1", new Linear(784, 128));
 *     final Linear fc2 = register("fc2", new Linear(128, 10));
 *
 *     @Override
 *     public Tensor forward(Tensor x) {
 *         return fc2.forward(fc1.forward(x).relu());
 *     }
 * }
 * }</pre>
 *
 * <p>A module starts in training mode. Modules are not thread-safe; share one between threads
 * only for read-only inference.
 */
@SuppressWarnings("try") // no-grad scopes are opened and closed, never referenced
public abstract class Module {

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Set<String> nonPersistentBuffers = new HashSet<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    protected Module() {
    }

    // ---------------------------------------------------------------- registration

    /**
     * Registers {@code child} as a submodule called {@code name} and returns it, so that it can
     * initialise a field: {@code final Linear fc1 = register("fc1", new Linear(784, 128));}.
     * Registering the same name again replaces the previous child.
     */
    public <T extends Module> T register(String name, T child) {
        checkName(name, children);
        if (child == null) {
            throw new IllegalArgumentException("register: child module \"" + name + "\" of " + typeName() + " is null");
        }
        if (child == this) {
            throw new IllegalArgumentException("register: a module cannot be its own child (\"" + name + "\")");
        }
        children.put(name, child);
        return child;
    }

    /** {@link #registerParameter}, for symmetry with {@link #register(String, Module)}. */
    public Tensor register(String name, Tensor parameter) {
        return registerParameter(name, parameter);
    }

    /**
     * Registers a parameter: a floating-point leaf tensor, which is made to require grad (as
     * wrapping it in {@code nn.Parameter} does). Returns it.
     */
    public Tensor registerParameter(String name, Tensor parameter) {
        checkName(name, parameters);
        if (parameter == null) {
            throw new IllegalArgumentException("registerParameter: parameter \"" + name + "\" of " + typeName() + " is null");
        }
        if (!parameter.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("registerParameter: parameter \"" + name + "\" must be floating point, got "
                    + parameter.dtype() + " " + Shapes.str(parameter.shape()));
        }
        if (!parameter.isLeaf()) {
            throw new IllegalArgumentException("registerParameter: \"" + name + "\" is the result of an operation ("
                    + parameter.gradFn().name() + "); a parameter must be a leaf: pass tensor.detach() or create it under"
                    + " Kiln.noGrad()");
        }
        if (!parameter.requiresGrad()) {
            parameter.requiresGrad(true);
        }
        parameters.put(name, parameter);
        return parameter;
    }

    /** Registers a persistent buffer (saved in the state dict, not trained). Returns it. */
    public Tensor registerBuffer(String name, Tensor buffer) {
        return registerBuffer(name, buffer, true);
    }

    /**
     * Registers a buffer; a non-persistent one moves with {@link #to(Device)} but stays out of the
     * state dict. Returns it.
     */
    public Tensor registerBuffer(String name, Tensor buffer, boolean persistent) {
        checkName(name, buffers);
        if (buffer == null) {
            throw new IllegalArgumentException("registerBuffer: buffer \"" + name + "\" of " + typeName() + " is null");
        }
        buffers.put(name, buffer);
        if (persistent) {
            nonPersistentBuffers.remove(name);
        } else {
            nonPersistentBuffers.add(name);
        }
        return buffer;
    }

    private void checkName(String name, Map<String, ?> kind) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("register: invalid name \"" + name + "\" in " + typeName()
                    + ": names must be non-empty and contain no \".\"");
        }
        boolean taken = (parameters.containsKey(name) && kind != parameters) || (buffers.containsKey(name) && kind != buffers)
                || (children.containsKey(name) && kind != children);
        if (taken) {
            throw new IllegalArgumentException("register: \"" + name + "\" is already registered in " + typeName()
                    + " as a different kind (parameter, buffer or child module)");
        }
    }

    /** This module's own parameter {@code name}, or null. */
    public Tensor getParameter(String name) {
        return parameters.get(name);
    }

    /** This module's own buffer {@code name}, or null. */
    public Tensor getBuffer(String name) {
        return buffers.get(name);
    }

    // ---------------------------------------------------------------- forward

    /**
     * Computes the module's output. Subclasses override it; the default throws, since a module
     * such as a loss or a container may have no one-argument forward.
     */
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException(typeName() + " does not implement forward(Tensor)");
    }

    // ---------------------------------------------------------------- traversal

    /** Every parameter of this module and its descendants, each shared tensor once. */
    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** This module's own parameters ({@code recurse == false}) or all of them. */
    public List<Tensor> parameters(boolean recurse) {
        return recurse ? parameters() : new ArrayList<>(parameters.values());
    }

    /** Parameters by dotted name ({@code fc1.weight}), in registration order, each shared tensor once. */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Module> m : namedModules().entrySet()) {
            for (Map.Entry<String, Tensor> p : m.getValue().parameters.entrySet()) {
                if (seen.add(p.getValue())) {
                    out.put(join(m.getKey(), p.getKey()), p.getValue());
                }
            }
        }
        return out;
    }

    /** Every buffer of this module and its descendants. */
    public List<Tensor> buffers() {
        return new ArrayList<>(namedBuffers().values());
    }

    /** Buffers by dotted name ({@code bn.running_mean}), each shared tensor once. */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Module> m : namedModules().entrySet()) {
            for (Map.Entry<String, Tensor> b : m.getValue().buffers.entrySet()) {
                if (seen.add(b.getValue())) {
                    out.put(join(m.getKey(), b.getKey()), b.getValue());
                }
            }
        }
        return out;
    }

    /** The direct children, in registration order. */
    public List<Module> children() {
        return new ArrayList<>(children.values());
    }

    /** The direct children by name. */
    public Map<String, Module> namedChildren() {
        return new LinkedHashMap<>(children);
    }

    /** All modules of the tree by dotted name, this one first under {@code ""}, each module once. */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collect("", this, out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /** All modules of the tree, this one first. */
    public List<Module> modules() {
        return new ArrayList<>(namedModules().values());
    }

    private static void collect(String prefix, Module m, Map<String, Module> out, Set<Module> seen) {
        if (!seen.add(m)) {
            return;
        }
        out.put(prefix, m);
        for (Map.Entry<String, Module> c : m.children.entrySet()) {
            collect(join(prefix, c.getKey()), c.getValue(), out, seen);
        }
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    /** The total number of parameter elements (shared tensors counted once). */
    public long numParameters() {
        return numParameters(false);
    }

    /** The number of parameter elements, only those that require grad when {@code trainableOnly}. */
    public long numParameters(boolean trainableOnly) {
        long n = 0;
        for (Tensor p : parameters()) {
            if (!trainableOnly || p.requiresGrad()) {
                n += p.numel();
            }
        }
        return n;
    }

    /** Calls {@code fn} on every descendant, then on this module (as PyTorch's {@code apply}). Returns this. */
    public Module apply(Consumer<Module> fn) {
        for (Module c : children.values()) {
            c.apply(fn);
        }
        fn.accept(this);
        return this;
    }

    // ---------------------------------------------------------------- modes

    /** Switches this module and its descendants to training mode. Returns this. */
    public Module train() {
        return train(true);
    }

    /** Switches to training ({@code true}) or evaluation mode, recursively. Returns this. */
    public Module train(boolean mode) {
        for (Module m : modules()) {
            m.training = mode;
        }
        return this;
    }

    /** Switches to evaluation mode (dropout off, batch norm on running statistics). Returns this. */
    public Module eval() {
        return train(false);
    }

    /** Whether this module is in training mode. */
    public boolean isTraining() {
        return training;
    }

    /** Sets {@code requiresGrad} on every parameter (freezing with {@code false}). Returns this. */
    public Module requiresGrad(boolean requires) {
        for (Tensor p : parameters()) {
            p.requiresGrad(requires);
        }
        return this;
    }

    /** Sets every parameter's gradient to null, as PyTorch 2's {@code zero_grad()}. */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /** Sets gradients to null, or with {@code setToNone == false} fills them with zeros. */
    public void zeroGrad(boolean setToNone) {
        for (Tensor p : parameters()) {
            Tensor g = p.grad();
            if (g == null) {
                continue;
            }
            if (setToNone) {
                p.setGrad(null);
            } else {
                try (GradScope s = Kiln.noGrad()) {
                    p.setGrad(g.detach().zero_());
                }
            }
        }
    }

    // ---------------------------------------------------------------- device and dtype

    /**
     * Moves every parameter (with its gradient) and buffer to {@code device} in place: the tensor
     * objects stay the same, so an optimizer built before the move keeps working. Returns this.
     */
    public Module to(Device device) {
        try (GradScope s = Kiln.noGrad()) {
            for (Tensor t : stateTensors()) {
                if (!t.device().equals(device)) {
                    t.setData(t.detach().to(device));
                }
            }
        }
        return this;
    }

    /**
     * Converts every floating-point parameter, gradient and buffer to the floating-point
     * {@code dtype} in place (integer buffers such as {@code num_batches_tracked} keep theirs).
     * Returns this.
     */
    public Module to(DType dtype) {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("Module.to: expected a floating-point dtype, got " + dtype);
        }
        try (GradScope s = Kiln.noGrad()) {
            for (Tensor t : stateTensors()) {
                if (t.dtype().isFloatingPoint() && t.dtype() != dtype) {
                    Tensor g = t.grad();
                    t.setData(t.detach().to(dtype));
                    if (g != null) {
                        t.setGrad(g.detach().to(dtype));
                    }
                }
            }
        }
        return this;
    }

    /** {@code to(device)} then {@code to(dtype)}. */
    public Module to(Device device, DType dtype) {
        return to(device).to(dtype);
    }

    /** Parameters and all buffers (persistent or not), each once. */
    private List<Tensor> stateTensors() {
        List<Tensor> all = new ArrayList<>(parameters());
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        seen.addAll(all);
        for (Tensor b : buffers()) {
            if (seen.add(b)) {
                all.add(b);
            }
        }
        return all;
    }

    // ---------------------------------------------------------------- state dict

    /**
     * The parameters and persistent buffers by PyTorch's keys ({@code fc1.weight},
     * {@code bn.running_mean}, {@code bn.num_batches_tracked}): each module's own parameters, then
     * its buffers, then its children's, depth first. The values are detached views that share
     * storage with the module's tensors.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : liveState().entrySet()) {
            out.put(e.getKey(), e.getValue().detach());
        }
        return out;
    }

    /** State-dict keys to the module's own tensors (not detached), in PyTorch's order. */
    private Map<String, Tensor> liveState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        addState("", this, out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private static void addState(String prefix, Module m, Map<String, Tensor> out, Set<Module> seen) {
        if (!seen.add(m)) {
            return;
        }
        for (Map.Entry<String, Tensor> p : m.parameters.entrySet()) {
            out.put(join(prefix, p.getKey()), p.getValue());
        }
        for (Map.Entry<String, Tensor> b : m.buffers.entrySet()) {
            if (!m.nonPersistentBuffers.contains(b.getKey())) {
                out.put(join(prefix, b.getKey()), b.getValue());
            }
        }
        for (Map.Entry<String, Module> c : m.children.entrySet()) {
            addState(join(prefix, c.getKey()), c.getValue(), out, seen);
        }
    }

    /** What a non-strict {@link #loadStateDict(Map, boolean)} could not match. */
    public record IncompatibleKeys(List<String> missingKeys, List<String> unexpectedKeys) {

        public IncompatibleKeys {
            missingKeys = List.copyOf(missingKeys);
            unexpectedKeys = List.copyOf(unexpectedKeys);
        }

        /** True when every key matched. */
        public boolean isEmpty() {
            return missingKeys.isEmpty() && unexpectedKeys.isEmpty();
        }
    }

    /**
     * Copies {@code stateDict} into this module's tensors, strictly: every key must match, with the
     * same shape. On any mismatch it throws one {@link StateDictException} listing every missing,
     * unexpected and mismatched key, and changes nothing.
     */
    public IncompatibleKeys loadStateDict(Map<String, Tensor> stateDict) {
        return loadStateDict(stateDict, true);
    }

    /**
     * Copies {@code stateDict} into this module's tensors under no-grad (the tensor objects stay
     * the same, so optimizers holding them keep working; values move to each tensor's device).
     * With {@code strict == false}, missing and unexpected keys are returned instead of thrown;
     * shape mismatches always throw, as in PyTorch. Floating-point values convert to the
     * parameter's floating-point dtype; any other dtype difference is a mismatch.
     */
    public IncompatibleKeys loadStateDict(Map<String, Tensor> stateDict, boolean strict) {
        Map<String, Tensor> own = liveState();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = stateDict.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
                continue;
            }
            Tensor dst = e.getValue();
            if (!java.util.Arrays.equals(src.shape(), dst.shape())) {
                mismatched.add("size mismatch for " + e.getKey() + ": copying a tensor of shape " + Shapes.str(src.shape())
                        + " from the state dict, the shape in the current model is " + Shapes.str(dst.shape()));
            } else if (src.dtype() != dst.dtype() && !(src.dtype().isFloatingPoint() && dst.dtype().isFloatingPoint())) {
                mismatched.add("dtype mismatch for " + e.getKey() + ": copying a " + src.dtype()
                        + " tensor from the state dict, the dtype in the current model is " + dst.dtype());
            }
        }
        for (String k : stateDict.keySet()) {
            if (!own.containsKey(k)) {
                unexpected.add(k);
            }
        }
        if (!mismatched.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            throw new StateDictException(typeName(), strict ? missing : List.of(), strict ? unexpected : List.of(), mismatched);
        }
        try (GradScope s = Kiln.noGrad()) {
            for (Map.Entry<String, Tensor> e : own.entrySet()) {
                Tensor src = stateDict.get(e.getKey());
                if (src != null) {
                    e.getValue().copy_(src);
                }
            }
        }
        return new IncompatibleKeys(missing, unexpected);
    }

    // ---------------------------------------------------------------- printing

    /**
     * The module's own settings, printed inside its parentheses ({@code in_features=784,
     * out_features=128, bias=True} for a Linear), as PyTorch's {@code extra_repr}. Empty by default.
     */
    public String extraRepr() {
        return "";
    }

    /** The name printed for this module: its class's simple name. */
    protected String typeName() {
        Class<?> c = getClass();
        while (c.getSimpleName().isEmpty()) {
            c = c.getSuperclass();
        }
        return c.getSimpleName();
    }

    /** The module tree as PyTorch prints it. */
    @Override
    public String toString() {
        String extra = extraRepr();
        List<String> extraLines = extra.isEmpty() ? List.of() : List.of(extra.split("\n", -1));
        List<String> lines = new ArrayList<>(extraLines);
        for (Map.Entry<String, Module> c : children.entrySet()) {
            lines.add("(" + c.getKey() + "): " + Repr.indent(c.getValue().toString(), 2));
        }
        StringBuilder sb = new StringBuilder(typeName()).append('(');
        if (!lines.isEmpty()) {
            if (extraLines.size() == 1 && children.isEmpty()) {
                sb.append(extraLines.get(0));
            } else {
                sb.append("\n  ").append(String.join("\n  ", lines)).append('\n');
            }
        }
        return sb.append(')').toString();
    }
}
