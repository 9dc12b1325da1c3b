package dev.kiln.autograd;

import dev.kiln.GradScope;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.graph.Edge;
import dev.kiln.graph.GradientEngine;
import dev.kiln.graph.Node;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.UnaryOperator;

/**
 * The backward engine. It counts, for every node reachable from the roots, how many consumers
 * will send it a gradient, then runs nodes once all of them have (latest-created first among the
 * ready ones), summing gradients per node and accumulating them into leaves. All state is local to
 * one call, so backward runs concurrently on separate graphs.
 */
public final class Engine implements GradientEngine {

    @Override
    public void backward(List<Tensor> roots, List<Tensor> grads, boolean retainGraph, boolean createGraph) {
        run(roots, grads, retainGraph, createGraph, null);
    }

    @Override
    public List<Tensor> grad(List<Tensor> outputs, List<Tensor> gradOutputs, List<Tensor> inputs,
                             boolean retainGraph, boolean createGraph, boolean allowUnused) {
        Capture capture = new Capture(inputs);
        run(outputs, gradOutputs, retainGraph, createGraph, capture);
        List<Tensor> out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            Tensor g = capture.grads[i];
            if (g == null && !allowUnused) {
                throw new IllegalStateException("grad: input " + i + " (shape " + Arrays.toString(inputs.get(i).shape())
                        + ") was not used in the graph of the outputs; pass allowUnused=true to get null for it");
            }
            out.add(g);
        }
        return out;
    }

    /** Where {@link #grad} collects gradients instead of accumulating into leaves. */
    private static final class Capture {
        final List<Tensor> inputs;
        final Tensor[] grads;
        final Map<Node, Integer> byNode = new IdentityHashMap<>();
        final Map<Tensor, Integer> byLeaf = new IdentityHashMap<>();

        Capture(List<Tensor> inputs) {
            this.inputs = inputs;
            this.grads = new Tensor[inputs.size()];
            for (int i = 0; i < inputs.size(); i++) {
                Tensor t = inputs.get(i);
                if (!t.requiresGrad()) {
                    throw new IllegalArgumentException("grad: input " + i + " does not require grad");
                }
                if (t.gradFn() != null) {
                    byNode.put(t.gradFn(), i);
                } else {
                    byLeaf.put(t, i);
                }
            }
        }

        void add(int i, Tensor g) {
            grads[i] = grads[i] == null ? g : grads[i].add(g);
        }
    }

    /**
     * The gradient tensors a backward creates and alone holds, closed as soon as they are used up,
     * so that their memory (large activations' gradients) goes back to the backend at once instead
     * of waiting for the GC. A tensor counts its places in the pending map; one that no place holds
     * after its node ran is closed, unless it is foreign: given by the caller, returned by a custom
     * function, or handed to user code (hooks, {@code grad()} results, graphs being recorded), which
     * turns the whole mechanism off. Views of a closed tensor keep its storage alive (storages are
     * reference-counted per tensor), so closing is always safe for the tensor objects counted here.
     */
    private static final class Owned {
        final boolean enabled;
        final Map<Tensor, Integer> holds = new IdentityHashMap<>();
        final Map<Tensor, Boolean> foreign = new IdentityHashMap<>();

        Owned(boolean enabled) {
            this.enabled = enabled;
        }

        void foreign(Tensor t) {
            if (t != null) {
                foreign.put(t, Boolean.TRUE);
            }
        }

        void hold(Tensor t) {
            holds.merge(t, 1, Integer::sum);
        }

        void drop(Tensor t) {
            holds.computeIfPresent(t, (k, c) -> c > 1 ? c - 1 : null);
        }

        /** Closes t when nothing holds it any more. */
        void closeIfFree(Tensor t) {
            if (enabled && t != null && !holds.containsKey(t) && !foreign.containsKey(t)) {
                foreign.put(t, Boolean.TRUE); // never twice
                t.close();
            }
        }
    }

    /** Adds g to node's pending gradient, the sum replacing (and releasing) the earlier one. */
    private static void accumulate(Map<Node, Tensor> pending, Owned owned, Node node, Tensor g) {
        Tensor old = pending.get(node);
        if (old == null) {
            pending.put(node, g);
            owned.hold(g);
            return;
        }
        Tensor sum = old.add(g);
        pending.put(node, sum);
        owned.hold(sum);
        owned.drop(old);
        owned.closeIfFree(old);
    }

    private static void run(List<Tensor> roots, List<Tensor> rootGrads, boolean retain, boolean create, Capture capture) {
        Map<Node, Tensor> pending = new IdentityHashMap<>();
        List<Node> starts = new ArrayList<>();
        Owned owned = new Owned(!create && capture == null && !Kiln.isAnomalyEnabled());
        try (GradScope mode = create ? Kiln.enableGrad() : Kiln.noGrad()) {
            for (int i = 0; i < roots.size(); i++) {
                Tensor root = roots.get(i);
                Tensor given = rootGrads.size() > i ? rootGrads.get(i) : null;
                Tensor g = initialGrad(root, given, i);
                if (given != null) {
                    owned.foreign(given);
                    owned.foreign(g);
                }
                if (root.gradFn() == null) {
                    deliverToLeaf(root, g, create, capture, owned);
                } else {
                    accumulate(pending, owned, root.gradFn(), g);
                    starts.add(root.gradFn());
                }
            }
            Map<Node, Integer> dependencies = countDependencies(starts);
            PriorityQueue<Node> ready = new PriorityQueue<>(Comparator.comparingLong(Node::sequence).reversed());
            for (Node n : starts) {
                if (dependencies.getOrDefault(n, 0) == 0 && !ready.contains(n)) {
                    ready.add(n);
                }
            }
            while (!ready.isEmpty()) {
                Node node = ready.poll();
                Tensor g = pending.remove(node);
                owned.drop(g);
                Tensor incoming = g;
                for (UnaryOperator<Tensor> hook : node.hooks()) {
                    owned.foreign(g);
                    Tensor r = hook.apply(g);
                    g = r == null ? g : r;
                    owned.foreign(g);
                }
                if (node.kind() == dev.kiln.graph.OpKind.CUSTOM) {
                    owned.foreign(g); // user code may keep it
                }
                if (node.retainedOutput() != null && capture == null) {
                    node.retainedOutput().setGrad(create ? g : g.detach());
                }
                if (capture != null && capture.byNode.containsKey(node)) {
                    capture.add(capture.byNode.get(node), g);
                }
                Tensor[] inputGrads;
                try {
                    inputGrads = Derivatives.apply(node, g);
                } catch (RuntimeException e) {
                    throw withCreationSite(node, e);
                }
                if (!retain) {
                    node.release();
                }
                if (node.kind() == dev.kiln.graph.OpKind.CUSTOM) {
                    for (Tensor gi : inputGrads) {
                        owned.foreign(gi);
                    }
                }
                Edge[] next = node.next();
                for (int i = 0; i < next.length; i++) {
                    Edge e = next[i];
                    Tensor gi = inputGrads[i];
                    if (e == null || gi == null) {
                        if (e != null && e.node() != null) {
                            release(e.node(), dependencies, ready, pending, retain);
                        }
                        continue;
                    }
                    if (Kiln.isAnomalyEnabled()) {
                        checkFinite(node, i, gi);
                    }
                    if (e.isLeaf()) {
                        deliverToLeaf(e.leaf(), gi, create, capture, owned);
                    } else {
                        accumulate(pending, owned, e.node(), gi);
                        release(e.node(), dependencies, ready, pending, retain);
                    }
                }
                owned.closeIfFree(incoming);
                owned.closeIfFree(g);
                for (Tensor gi : inputGrads) {
                    owned.closeIfFree(gi);
                }
            }
        }
    }

    /**
     * One consumer of {@code node} is done; queue it when it was the last. A node whose consumers
     * all sent nothing has no gradient: it is skipped, and its own inputs are released in turn so
     * that they do not wait for it forever.
     */
    private static void release(Node node, Map<Node, Integer> deps, PriorityQueue<Node> ready, Map<Node, Tensor> pending,
                                boolean retain) {
        Deque<Node> work = new ArrayDeque<>();
        work.push(node);
        while (!work.isEmpty()) {
            Node n = work.pop();
            if (deps.merge(n, -1, Integer::sum) != 0) {
                continue;
            }
            if (pending.containsKey(n)) {
                ready.add(n);
                continue;
            }
            if (!retain) {
                n.release();
            }
            for (Edge e : n.next()) {
                if (e != null && e.node() != null) {
                    work.push(e.node());
                }
            }
        }
    }

    private static Map<Node, Integer> countDependencies(List<Node> starts) {
        Map<Node, Integer> deps = new IdentityHashMap<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        Deque<Node> stack = new ArrayDeque<>();
        for (Node s : starts) {
            if (seen.put(s, Boolean.TRUE) == null) {
                stack.push(s);
            }
        }
        while (!stack.isEmpty()) {
            Node n = stack.pop();
            for (Edge e : n.next()) {
                if (e == null || e.node() == null) {
                    continue;
                }
                deps.merge(e.node(), 1, Integer::sum);
                if (seen.put(e.node(), Boolean.TRUE) == null) {
                    stack.push(e.node());
                }
            }
        }
        return deps;
    }

    private static Tensor initialGrad(Tensor root, Tensor g, int index) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward: element " + index + " of the outputs does not require grad and has no"
                    + " grad_fn (was it computed under noGrad, or from tensors that do not require grad?)");
        }
        if (g == null) {
            if (root.numel() != 1) {
                throw new IllegalArgumentException("backward: grad can be implicitly created only for scalar outputs; this output"
                        + " has shape " + Arrays.toString(root.shape()) + ", so pass a gradient of that shape");
            }
            return root.onesLike();
        }
        if (!Arrays.equals(g.shape(), root.shape())) {
            throw new IllegalArgumentException("backward: gradient of shape " + Arrays.toString(g.shape())
                    + " does not match the output's shape " + Arrays.toString(root.shape()));
        }
        return g.to(root.dtype()).to(root.device());
    }

    private static void deliverToLeaf(Tensor leaf, Tensor g, boolean create, Capture capture, Owned owned) {
        for (UnaryOperator<Tensor> hook : leaf.hooks()) {
            owned.foreign(g);
            Tensor r = hook.apply(g);
            g = r == null ? g : r;
            owned.foreign(g);
        }
        if (!Arrays.equals(g.shape(), leaf.shape())) {
            throw new IllegalStateException("autograd: internal error: gradient of shape " + Arrays.toString(g.shape())
                    + " for a leaf of shape " + Arrays.toString(leaf.shape()));
        }
        if (capture != null) {
            Integer i = capture.byLeaf.get(leaf);
            if (i != null) {
                capture.add(i, g);
            }
            return;
        }
        synchronized (leaf) {
            Tensor old = leaf.grad();
            if (old == null) {
                // Own the buffer: the same gradient tensor may flow to several leaves.
                leaf.setGrad(create ? g : g.detach().clone());
            } else if (create) {
                leaf.setGrad(old.add(g));
            } else {
                try (GradScope s = Kiln.noGrad()) {
                    old.add_(g);
                }
            }
        }
    }

    private static void checkFinite(Node node, int input, Tensor g) {
        boolean finite;
        try (GradScope s = Kiln.noGrad()) {
            finite = g.isfinite().all().item() != 0;
        }
        if (!finite) {
            IllegalStateException e = new IllegalStateException("anomaly: function " + node.name()
                    + " returned non-finite (nan or inf) values in its gradient for input " + input
                    + (node.creationSite() != null ? "; see the cause for where forward created it" : ""));
            if (node.creationSite() != null) {
                e.initCause(node.creationSite());
            }
            throw e;
        }
    }

    private static RuntimeException withCreationSite(Node node, RuntimeException e) {
        if (node.creationSite() != null) {
            e.addSuppressed(node.creationSite());
        }
        return e;
    }
}
