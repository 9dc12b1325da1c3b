package dev.kiln.nn;

import dev.kiln.Tensor;

import java.util.Iterator;
import java.util.Map;

/**
 * Modules applied in order, each to the previous one's output, as {@code torch.nn.Sequential}.
 * Children are named {@code "0"}, {@code "1"}, ... (or by the given names), so the state-dict keys
 * are PyTorch's ({@code 0.weight}, {@code 2.bias}).
 *
 * <pre>{@code
 * Sequential model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * }</pre>
 */
public class Sequential extends Module implements Iterable<Module> {

    public Sequential(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /** Children with the given names, in the map's order. */
    public Sequential(Map<String, ? extends Module> modules) {
        for (Map.Entry<String, ? extends Module> e : modules.entrySet()) {
            register(e.getKey(), e.getValue());
        }
    }

    /** Appends {@code module} under the next index. Returns this. */
    public Sequential add(Module module) {
        register(Integer.toString(size()), module);
        return this;
    }

    /** The {@code index}th module (negative counts from the end). */
    public Module get(int index) {
        int n = size();
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("Sequential: index " + index + " is out of range for " + n + " modules");
        }
        return children().get(i);
    }

    public int size() {
        return namedChildren().size();
    }

    @Override
    public Iterator<Module> iterator() {
        return children().iterator();
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : children()) {
            x = m.forward(x);
        }
        return x;
    }
}
