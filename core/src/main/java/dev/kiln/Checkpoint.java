package dev.kiln;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything a training run needs to continue exactly where it stopped, in one safetensors file:
 * named <em>sections</em> (the model's state dict, the optimizer's, the scheduler's, or anything
 * else with state), the epoch and step counters, random-generator states and user metadata.
 *
 * <pre>{@code
 * // save
 * OptimizerState os = optimizer.stateDict();
 * new Checkpoint()
 *         .put("model", model.stateDict())
 *         .put("optimizer", os.tensors(), os.json())
 *         .putState("scheduler", scheduler.stateDict())
 *         .epoch(epoch).step(step)
 *         .putMetadata("note", "after warm-up")
 *         .save(path);                       // also records Kiln's default generator
 *
 * // resume (in a fresh process)
 * Checkpoint ck = Checkpoint.load(path);
 * model.loadStateDict(ck.tensors("model"));
 * optimizer.loadStateDict(OptimizerState.of(ck.tensors("optimizer"), ck.json("optimizer")));
 * scheduler.loadStateDict(ck.state("scheduler"));
 * ck.restoreRng();                           // Kiln's default generator, as it was at save
 * }</pre>
 *
 * <p>A section holds tensors, a JSON value, or both: exactly the two kinds of state that
 * {@code Module.stateDict()} (tensors), {@code Optimizer.stateDict()} (tensors plus JSON) and
 * {@code LRScheduler.stateDict()} (JSON) produce. Checkpoint lives in {@code core} and names none
 * of those classes, so it serves any stateful object, several models (a GAN, EMA weights) and
 * types written later, without a dependency on {@code nn} or {@code optim}.
 *
 * <p>The file is ordinary safetensors: section {@code s}'s tensor {@code k} is stored as
 * {@code s/k} ({@code model/fc1.weight}), so PyTorch reads it too; the counters, generator states
 * and section JSON are one JSON document under the metadata key {@code kiln.checkpoint}, and user
 * metadata entries are stored as they are. Saving is atomic ({@link Safetensors#save}); a bad file
 * throws {@link SafetensorsException}.
 */
public final class Checkpoint {

    /** The metadata key of the checkpoint's own JSON document. */
    public static final String METADATA_KEY = "kiln.checkpoint";
    /** The name under which the default generator's state is recorded. */
    public static final String DEFAULT_RNG = "default";
    /** The version of the layout this class writes; later versions are refused. */
    public static final int FORMAT_VERSION = 1;
    private static final String SEPARATOR = "/";
    private static final String RESERVED_PREFIX = "kiln.";

    private final Map<String, Map<String, Tensor>> tensors = new LinkedHashMap<>();
    private final Map<String, Object> states = new LinkedHashMap<>();
    private final Map<String, long[]> rng = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private long epoch;
    private long step;

    /** An empty checkpoint: no sections, epoch and step 0. */
    public Checkpoint() {
    }

    // ------------------------------------------------------------------------------- building

    /**
     * Sets section {@code section}'s tensors (a state dict). They are saved by value when
     * {@link #save} runs, so pass live tensors and save before they change.
     */
    public Checkpoint put(String section, Map<String, Tensor> sectionTensors) {
        checkSection(section);
        if (sectionTensors == null) {
            throw new IllegalArgumentException("Checkpoint.put: tensors of section \"" + section + "\" are null");
        }
        for (Map.Entry<String, Tensor> e : sectionTensors.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("Checkpoint.put: section \"" + section + "\" has a null key or tensor ("
                        + e.getKey() + ")");
            }
        }
        tensors.put(section, new LinkedHashMap<>(sectionTensors));
        return this;
    }

    /**
     * Sets section {@code section}'s tensors and its JSON text, as an optimizer's state dict
     * splits into ({@code OptimizerState.tensors()} and {@code json()}).
     */
    public Checkpoint put(String section, Map<String, Tensor> sectionTensors, String json) {
        put(section, sectionTensors);
        return putJson(section, json);
    }

    /** Sets section {@code section}'s JSON value from JSON text. */
    public Checkpoint putJson(String section, String json) {
        checkSection(section);
        Object value;
        try {
            value = Json.parse(json);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("Checkpoint.putJson: section \"" + section + "\": " + e.getMessage(), e);
        }
        states.put(section, value);
        return this;
    }

    /**
     * Sets section {@code section}'s JSON value: maps with string keys, lists, strings, finite
     * numbers, booleans and null, as a scheduler's {@code stateDict()} returns. It is written to
     * JSON at once, so later changes to {@code value} do not reach the checkpoint.
     */
    public Checkpoint putState(String section, Object value) {
        checkSection(section);
        String json;
        try {
            json = Json.write(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Checkpoint.putState: section \"" + section + "\": " + e.getMessage(), e);
        }
        states.put(section, Json.parse(json));
        return this;
    }

    /** Sets the epoch counter (whatever the training loop counts; 0 by default). */
    public Checkpoint epoch(long epoch) {
        this.epoch = epoch;
        return this;
    }

    /** Sets the step counter (0 by default). */
    public Checkpoint step(long step) {
        this.step = step;
        return this;
    }

    /** Records {@code generator}'s current state under {@code name}. */
    public Checkpoint putRng(String name, Generator generator) {
        return putRng(name, generator.getState());
    }

    /**
     * Records a generator state (from {@link Generator#getState()}) under {@code name}: for
     * example the default generator's state at the start of the epoch, which re-creates that
     * epoch's shuffle order on resume.
     */
    public Checkpoint putRng(String name, long[] state) {
        checkName("putRng", name);
        if (state == null || state.length != 2) {
            throw new IllegalArgumentException("Checkpoint.putRng: \"" + name + "\": a generator state is [seed, offset]");
        }
        rng.put(name, state.clone());
        return this;
    }

    /** Adds a user metadata entry; keys starting with {@code kiln.} are reserved. */
    public Checkpoint putMetadata(String key, String value) {
        checkName("putMetadata", key);
        if (key.startsWith(RESERVED_PREFIX)) {
            throw new IllegalArgumentException("Checkpoint.putMetadata: keys starting with \"" + RESERVED_PREFIX
                    + "\" are reserved: " + key);
        }
        if (value == null) {
            throw new IllegalArgumentException("Checkpoint.putMetadata: value of \"" + key + "\" is null");
        }
        metadata.put(key, value);
        return this;
    }

    private static void checkSection(String section) {
        checkName("section", section);
        if (section.contains(SEPARATOR)) {
            throw new IllegalArgumentException("Checkpoint: section name \"" + section + "\" must not contain '/'");
        }
    }

    private static void checkName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("Checkpoint." + what + ": the name must be non-empty");
        }
    }

    // ------------------------------------------------------------------------------- reading

    /** The sections that hold tensors or JSON, in the order they were put. */
    public Set<String> sections() {
        Set<String> s = new java.util.LinkedHashSet<>(tensors.keySet());
        s.addAll(states.keySet());
        return Collections.unmodifiableSet(s);
    }

    /** Whether section {@code section} exists. */
    public boolean has(String section) {
        return tensors.containsKey(section) || states.containsKey(section);
    }

    /** Section {@code section}'s tensors (empty if it has only JSON); throws if there is no such section. */
    public Map<String, Tensor> tensors(String section) {
        requireSection(section);
        return Collections.unmodifiableMap(tensors.getOrDefault(section, Map.of()));
    }

    /** Section {@code section}'s JSON value as JSON text, or null if it has only tensors. */
    public String json(String section) {
        requireSection(section);
        return states.containsKey(section) ? Json.write(states.get(section)) : null;
    }

    /**
     * Section {@code section}'s JSON value when it is an object (as a scheduler's state dict):
     * a fresh, mutable map on each call.
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> state(String section) {
        requireSection(section);
        Object v = states.get(section);
        if (!(v instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("Checkpoint.state: section \"" + section + "\" holds "
                    + (v == null ? "no JSON" : "JSON that is not an object") + "; use json(\"" + section + "\")");
        }
        return (Map<String, Object>) Json.parse(Json.write(v));
    }

    private void requireSection(String section) {
        if (!has(section)) {
            throw new IllegalArgumentException("Checkpoint: no section \"" + section + "\"; it has " + sections());
        }
    }

    public long epoch() {
        return epoch;
    }

    public long step() {
        return step;
    }

    /** The generator names recorded. */
    public Set<String> rngNames() {
        return Collections.unmodifiableSet(rng.keySet());
    }

    /** The recorded state of generator {@code name}, as {@link Generator#setState} takes it. */
    public long[] rngState(String name) {
        long[] s = rng.get(name);
        if (s == null) {
            throw new IllegalArgumentException("Checkpoint: no generator state \"" + name + "\"; it has " + rng.keySet());
        }
        return s.clone();
    }

    /** Restores Kiln's default generator to its recorded state. */
    public void restoreRng() {
        restoreRng(DEFAULT_RNG, Generator.defaultGenerator());
    }

    /** Restores {@code generator} to the state recorded under {@code name}. */
    public void restoreRng(String name, Generator generator) {
        generator.setState(rngState(name));
    }

    /** The user metadata. */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    // ------------------------------------------------------------------------------- files

    /**
     * Writes the checkpoint to {@code file} atomically, first recording the default generator's
     * current state under {@value #DEFAULT_RNG} unless one was put under that name.
     */
    public void save(Path file) throws IOException {
        Map<String, Tensor> flat = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Tensor>> s : tensors.entrySet()) {
            for (Map.Entry<String, Tensor> t : s.getValue().entrySet()) {
                flat.put(s.getKey() + SEPARATOR + t.getKey(), t.getValue());
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("version", (long) FORMAT_VERSION);
        doc.put("epoch", epoch);
        doc.put("step", step);
        // The default generator as it is now, unless the caller recorded it: a checkpoint object
        // saved again later must not carry a stale state.
        Map<String, long[]> all = new LinkedHashMap<>();
        if (!rng.containsKey(DEFAULT_RNG)) {
            all.put(DEFAULT_RNG, Generator.defaultGenerator().getState());
        }
        all.putAll(rng);
        Map<String, Object> gens = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : all.entrySet()) {
            gens.put(e.getKey(), List.of(e.getValue()[0], e.getValue()[1]));
        }
        doc.put("rng", gens);
        doc.put("tensor_sections", new ArrayList<>(tensors.keySet()));
        doc.put("json_sections", states);
        Map<String, String> md = new LinkedHashMap<>();
        md.put(METADATA_KEY, Json.write(doc));
        md.putAll(metadata);
        Safetensors.save(flat, md, file);
    }

    /** Loads a checkpoint with its tensors on the CPU. */
    public static Checkpoint load(Path file) throws IOException {
        return load(file, Device.cpu());
    }

    /**
     * Loads a checkpoint with its tensors on {@code device}.
     *
     * @throws SafetensorsException when the file is not valid safetensors or not a checkpoint of a
     *                              version this class reads
     */
    public static Checkpoint load(Path file, Device device) throws IOException {
        Safetensors.Contents c = Safetensors.read(file, device);
        String text = c.metadata().get(METADATA_KEY);
        if (text == null) {
            throw new SafetensorsException(file, null, "not a Kiln checkpoint: the metadata has no \"" + METADATA_KEY
                    + "\" entry (load plain state dicts with Kiln.load)");
        }
        Checkpoint ck = new Checkpoint();
        try {
            if (!(Json.parse(text) instanceof Map<?, ?> doc)) {
                throw new IllegalArgumentException("not a JSON object");
            }
            long version = number(doc, "version");
            if (version < 1 || version > FORMAT_VERSION) {
                throw new IllegalArgumentException("format version " + version + " is not one this Kiln reads (1 to "
                        + FORMAT_VERSION + ")");
            }
            ck.epoch = number(doc, "epoch");
            ck.step = number(doc, "step");
            if (!(doc.get("rng") instanceof Map<?, ?> gens)) {
                throw new IllegalArgumentException("\"rng\" is not an object");
            }
            for (Map.Entry<?, ?> e : gens.entrySet()) {
                if (!(e.getValue() instanceof List<?> l) || l.size() != 2 || !(l.get(0) instanceof Long seed)
                        || !(l.get(1) instanceof Long offset)) {
                    throw new IllegalArgumentException("generator state \"" + e.getKey() + "\" is not [seed, offset]");
                }
                ck.rng.put((String) e.getKey(), new long[] {seed, offset});
            }
            if (!(doc.get("tensor_sections") instanceof List<?> names)) {
                throw new IllegalArgumentException("\"tensor_sections\" is not a list");
            }
            for (Object n : names) {
                if (!(n instanceof String s) || s.isEmpty() || s.contains(SEPARATOR)) {
                    throw new IllegalArgumentException("bad tensor section name " + n);
                }
                ck.tensors.put(s, new LinkedHashMap<>());
            }
            if (!(doc.get("json_sections") instanceof Map<?, ?> json)) {
                throw new IllegalArgumentException("\"json_sections\" is not an object");
            }
            for (Map.Entry<?, ?> e : json.entrySet()) {
                ck.states.put((String) e.getKey(), e.getValue());
            }
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file, null, "bad \"" + METADATA_KEY + "\" metadata: " + e.getMessage());
        }
        for (Map.Entry<String, Tensor> t : c.tensors().entrySet()) {
            int slash = t.getKey().indexOf(SEPARATOR);
            Map<String, Tensor> section = slash <= 0 ? null : ck.tensors.get(t.getKey().substring(0, slash));
            if (section == null) {
                throw new SafetensorsException(file, t.getKey(), "belongs to no section of the checkpoint");
            }
            section.put(t.getKey().substring(slash + 1), t.getValue());
        }
        for (Map.Entry<String, String> m : c.metadata().entrySet()) {
            if (!m.getKey().equals(METADATA_KEY)) {
                ck.metadata.put(m.getKey(), m.getValue());
            }
        }
        return ck;
    }

    private static long number(Map<?, ?> doc, String key) {
        if (!(doc.get(key) instanceof Long v)) {
            throw new IllegalArgumentException("\"" + key + "\" is not an integer");
        }
        return v;
    }

    @Override
    public String toString() {
        return "Checkpoint(epoch " + epoch + ", step " + step + ", sections " + sections() + ", rng " + rng.keySet()
                + ", metadata " + metadata.keySet() + ")";
    }
}
