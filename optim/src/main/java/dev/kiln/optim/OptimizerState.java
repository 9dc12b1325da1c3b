package dev.kiln.optim;

import dev.kiln.Json;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An optimizer's state dict, with PyTorch's structure: per-parameter {@link #state() state} keyed by
 * the parameter's index (parameters numbered across all groups in order, as PyTorch numbers them)
 * and the {@link #paramGroups() param groups}' options, each with a {@code "params"} list of those
 * indices.
 *
 * <p>For files it splits into tensors and a JSON string, which safetensors holds as tensors and
 * one metadata string:
 * <ul>
 *   <li>{@link #tensors()}: {@code state.<index>.<name>}, e.g. {@code state.0.exp_avg},
 *       {@code state.0.exp_avg_sq}, {@code state.0.step} (a 0-dim float32 tensor, as in PyTorch),
 *       {@code state.3.momentum_buffer};</li>
 *   <li>{@link #json()}: {@code {"optimizer": "Adam", "param_groups": [{"lr": 0.001, "betas":
 *       [0.9, 0.999], ..., "params": [0, 1]}], "extra": {...}}}, where {@code extra} holds
 *       optimizer-wide state that is not a tensor (AdamZ's loss history) and non-finite numbers
 *       are written as the strings {@code "Infinity"}, {@code "-Infinity"}, {@code "NaN"}.</li>
 * </ul>
 * {@link #of(Map, String)} puts the two back together.
 *
 * <p>The tensors are the optimizer's live buffers, as in PyTorch: save or clone them before the
 * optimizer steps again if a snapshot is wanted.
 */
public final class OptimizerState {

    /** Prefix of every tensor key in {@link #tensors()}. */
    public static final String TENSOR_PREFIX = "state.";

    private final String optimizer;
    private final Map<Integer, Map<String, Tensor>> state;
    private final List<Map<String, Object>> paramGroups;
    private final Map<String, Object> extra;

    /**
     * @param optimizer   the optimizer's class name, informational
     * @param state       per-parameter state by parameter index
     * @param paramGroups each group's options plus {@code "params"}: its parameter indices
     * @param extra       optimizer-wide non-tensor state (may be empty)
     */
    public OptimizerState(String optimizer, Map<Integer, Map<String, Tensor>> state,
                          List<Map<String, Object>> paramGroups, Map<String, Object> extra) {
        this.optimizer = optimizer;
        Map<Integer, Map<String, Tensor>> s = new TreeMap<>();
        for (Map.Entry<Integer, Map<String, Tensor>> e : state.entrySet()) {
            s.put(e.getKey(), Collections.unmodifiableMap(new LinkedHashMap<>(e.getValue())));
        }
        this.state = Collections.unmodifiableMap(s);
        List<Map<String, Object>> g = new ArrayList<>();
        for (Map<String, Object> m : paramGroups) {
            g.add(Collections.unmodifiableMap(new LinkedHashMap<>(m)));
        }
        this.paramGroups = Collections.unmodifiableList(g);
        this.extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** The class name of the optimizer that produced this state (informational). */
    public String optimizer() {
        return optimizer;
    }

    /** Per-parameter state: parameter index to (name to tensor). */
    public Map<Integer, Map<String, Tensor>> state() {
        return state;
    }

    /** The groups' options, each with {@code "params"}: the list of its parameter indices. */
    public List<Map<String, Object>> paramGroups() {
        return paramGroups;
    }

    /** Optimizer-wide state that is not a tensor. */
    public Map<String, Object> extra() {
        return extra;
    }

    /** The tensors, flat: {@code state.<index>.<name>}. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<Integer, Map<String, Tensor>> e : state.entrySet()) {
            for (Map.Entry<String, Tensor> t : e.getValue().entrySet()) {
                out.put(TENSOR_PREFIX + e.getKey() + "." + t.getKey(), t.getValue());
            }
        }
        return out;
    }

    /** Everything but the tensors, as a JSON string. */
    public String json() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("optimizer", optimizer);
        root.put("param_groups", Options.toJsonValue(paramGroups));
        root.put("extra", Options.toJsonValue(extra));
        return Json.write(root);
    }

    /** Rebuilds a state dict from {@link #tensors()} and {@link #json()}. */
    @SuppressWarnings("unchecked")
    public static OptimizerState of(Map<String, Tensor> tensors, String json) {
        Object parsed = Options.fromJsonValue(Json.parse(json));
        if (!(parsed instanceof Map<?, ?> root) || !(root.get("param_groups") instanceof List<?> groups)) {
            throw new IllegalArgumentException("optimizer state: the JSON has no \"param_groups\" list");
        }
        List<Map<String, Object>> g = new ArrayList<>();
        for (Object o : groups) {
            if (!(o instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("optimizer state: a param group is not an object: " + o);
            }
            g.add((Map<String, Object>) o);
        }
        Map<Integer, Map<String, Tensor>> state = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(TENSOR_PREFIX)) {
                continue; // other entries of a shared file (model weights) are not ours
            }
            String rest = k.substring(TENSOR_PREFIX.length());
            int dot = rest.indexOf('.');
            if (dot <= 0 || dot == rest.length() - 1) {
                throw new IllegalArgumentException("optimizer state: malformed key '" + k + "' (expected state.<index>.<name>)");
            }
            int index;
            try {
                index = Integer.parseInt(rest.substring(0, dot));
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("optimizer state: malformed key '" + k + "' (expected state.<index>.<name>)");
            }
            state.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(rest.substring(dot + 1), e.getValue());
        }
        Object extra = root.get("extra");
        Object name = root.get("optimizer");
        return new OptimizerState(name == null ? null : String.valueOf(name), state, g,
                extra instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of());
    }

    @Override
    public String toString() {
        return "OptimizerState(" + optimizer + ", " + state.size() + " parameters with state, " + paramGroups + ")";
    }
}
