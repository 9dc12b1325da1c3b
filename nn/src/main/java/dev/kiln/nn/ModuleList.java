package dev.kiln.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A list of submodules registered under {@code "0"}, {@code "1"}, ..., as {@code torch.nn.ModuleList}:
 * their parameters belong to the owning module. It has no forward; iterate it in yours.
 *
 * @param <M> the element type ({@link Module} for a mixed list)
 */
public class ModuleList<M extends Module> extends Module implements Iterable<M> {

    private final List<M> items = new ArrayList<>();

    @SafeVarargs
    public ModuleList(M... modules) {
        for (M m : modules) {
            add(m);
        }
    }

    public ModuleList(Iterable<? extends M> modules) {
        for (M m : modules) {
            add(m);
        }
    }

    /** Appends {@code module}. Returns this. */
    public ModuleList<M> add(M module) {
        register(Integer.toString(items.size()), module);
        items.add(module);
        return this;
    }

    /** The {@code index}th module (negative counts from the end). */
    public M get(int index) {
        int i = index < 0 ? index + items.size() : index;
        if (i < 0 || i >= items.size()) {
            throw new IndexOutOfBoundsException("ModuleList: index " + index + " is out of range for " + items.size()
                    + " modules");
        }
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    @Override
    public Iterator<M> iterator() {
        return List.copyOf(items).iterator();
    }
}
