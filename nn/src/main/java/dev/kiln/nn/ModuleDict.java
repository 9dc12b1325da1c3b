package dev.kiln.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Named submodules in insertion order, as {@code torch.nn.ModuleDict}: their parameters belong to
 * the owning module under {@code name.key}. It has no forward.
 *
 * @param <M> the value type ({@link Module} for a mixed dict)
 */
public class ModuleDict<M extends Module> extends Module {

    private final Map<String, M> items = new LinkedHashMap<>();

    public ModuleDict() {
    }

    public ModuleDict(Map<String, ? extends M> modules) {
        modules.forEach(this::put);
    }

    /** Adds or replaces the module under {@code key}. Returns this. */
    public ModuleDict<M> put(String key, M module) {
        register(key, module);
        items.put(key, module);
        return this;
    }

    /** The module under {@code key}, or null. */
    public M get(String key) {
        return items.get(key);
    }

    public boolean containsKey(String key) {
        return items.containsKey(key);
    }

    /** The keys in insertion order (a copy). */
    public Set<String> keySet() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(items.keySet()));
    }

    /** The entries in insertion order (a copy). */
    public Map<String, M> items() {
        return new LinkedHashMap<>(items);
    }

    public int size() {
        return items.size();
    }
}
