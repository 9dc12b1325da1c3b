package dev.kiln.autograd;

import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * What a custom {@link Function}'s forward leaves for its backward: saved tensors (checked
 * against in-place changes) and any other values by name.
 */
public final class FunctionContext {

    private Tensor[] saved = new Tensor[0];
    private int[] versions = new int[0];
    private final Map<String, Object> values = new HashMap<>();
    private boolean released;
    private String name = "Function";

    void name(String name) {
        this.name = name;
    }

    /** Saves tensors for backward, as {@code ctx.save_for_backward}. */
    public void saveForBackward(Tensor... tensors) {
        saved = tensors.clone();
        versions = new int[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            versions[i] = tensors[i] == null ? 0 : tensors[i].version();
        }
    }

    /** The saved tensors; throws when they were freed or modified in place since they were saved. */
    public Tensor[] savedTensors() {
        if (released) {
            throw new IllegalStateException(name + ": saved tensors were freed by an earlier backward; pass retainGraph=true");
        }
        for (int i = 0; i < saved.length; i++) {
            if (saved[i] != null && saved[i].version() != versions[i]) {
                throw new IllegalStateException(name + ": saved tensor " + i + " of shape " + Arrays.toString(saved[i].shape())
                        + " was modified by an in-place operation after it was saved");
            }
        }
        return saved.clone();
    }

    public void put(String key, Object value) {
        values.put(key, value);
    }

    @SuppressWarnings("unchecked")
    public <T> T get(String key) {
        return (T) values.get(key);
    }

    void release() {
        released = true;
        saved = new Tensor[0];
    }
}
