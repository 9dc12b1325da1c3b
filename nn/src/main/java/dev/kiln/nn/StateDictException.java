package dev.kiln.nn;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Thrown by {@link Module#loadStateDict} when a state dict does not fit the module: it names every
 * missing key, every unexpected key and every key whose shape or dtype differs, at once. Nothing
 * was copied when it is thrown.
 */
public final class StateDictException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final List<String> missingKeys;
    private final List<String> unexpectedKeys;
    private final List<String> mismatches;

    StateDictException(String module, List<String> missingKeys, List<String> unexpectedKeys, List<String> mismatches) {
        super(message(module, missingKeys, unexpectedKeys, mismatches));
        this.missingKeys = List.copyOf(missingKeys);
        this.unexpectedKeys = List.copyOf(unexpectedKeys);
        this.mismatches = List.copyOf(mismatches);
    }

    private static String message(String module, List<String> missing, List<String> unexpected, List<String> mismatches) {
        StringBuilder sb = new StringBuilder("Error(s) in loading state dict for ").append(module).append(':');
        if (!missing.isEmpty()) {
            sb.append("\n\tMissing key(s) in state dict: ").append(quoted(missing)).append('.');
        }
        if (!unexpected.isEmpty()) {
            sb.append("\n\tUnexpected key(s) in state dict: ").append(quoted(unexpected)).append('.');
        }
        for (String m : mismatches) {
            sb.append("\n\t").append(m).append('.');
        }
        return sb.toString();
    }

    private static String quoted(List<String> keys) {
        return keys.stream().map(k -> "\"" + k + "\"").collect(Collectors.joining(", "));
    }

    /** Keys the module has and the state dict lacks. */
    public List<String> missingKeys() {
        return missingKeys;
    }

    /** Keys the state dict has and the module lacks. */
    public List<String> unexpectedKeys() {
        return unexpectedKeys;
    }

    /** One sentence per key whose shape or dtype differs. */
    public List<String> mismatches() {
        return mismatches;
    }
}
