package dev.kiln.kernels;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One kernel: its entry-point name (as in the PTX and the emulator's registry), its parameter
 * kinds ({@link ParamKind} codes, e.g. {@code "ppGdd"}) and the family it belongs to.
 */
public record KernelSpec(String name, String paramKinds, String family) {

    public KernelSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(paramKinds, "paramKinds");
        Objects.requireNonNull(family, "family");
        for (char c : paramKinds.toCharArray()) {
            ParamKind.of(c);
        }
    }

    public List<ParamKind> parameters() {
        List<ParamKind> out = new ArrayList<>(paramKinds.length());
        for (char c : paramKinds.toCharArray()) {
            out.add(ParamKind.of(c));
        }
        return Collections.unmodifiableList(out);
    }

    public int parameterCount() {
        return paramKinds.length();
    }
}
