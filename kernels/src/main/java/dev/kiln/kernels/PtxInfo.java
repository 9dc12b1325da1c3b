package dev.kiln.kernels;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a PTX module declares: its ISA version, its target and the parameter types of every
 * {@code .entry}. Used to check the kernels against the catalog, and to tell whether a driver can
 * load the PTX at all ({@link #minimumDriverVersion()}).
 */
public record PtxInfo(int isaMajor, int isaMinor, String target, Map<String, List<String>> entries) {

    private static final Pattern VERSION = Pattern.compile("^\\s*\\.version\\s+(\\d+)\\.(\\d+)", Pattern.MULTILINE);
    private static final Pattern TARGET = Pattern.compile("^\\s*\\.target\\s+([\\w, ]+)", Pattern.MULTILINE);
    private static final Pattern ENTRY =
            Pattern.compile("\\.entry\\s+([A-Za-z_$][\\w$]*)\\s*\\(([^)]*)\\)", Pattern.DOTALL);
    // ".param .align 8 .b8 name[336]" or ".param .u64 .ptr .align 1 name"
    private static final Pattern PARAM = Pattern.compile(
            "\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.(\\w+)(?:\\s+\\.ptr(?:\\s+\\.\\w+)*(?:\\s+\\.align\\s+\\d+)?)?"
                    + "\\s+[\\w$]+(\\[\\d+\\])?");

    /**
     * The first CUDA version (as cuDriverGetVersion reports it: 12080 is 12.8) whose driver loads
     * each PTX ISA version, from the PTX ISA release history.
     */
    private static final int[][] ISA_TO_CUDA = {
        {7, 0, 11000}, {7, 1, 11010}, {7, 2, 11020}, {7, 3, 11030}, {7, 4, 11040}, {7, 5, 11050}, {7, 6, 11060},
        {7, 7, 11070}, {7, 8, 11080}, {8, 0, 12000}, {8, 1, 12010}, {8, 2, 12020}, {8, 3, 12030}, {8, 4, 12040},
        {8, 5, 12050}, {8, 6, 12070}, {8, 7, 12080}, {8, 8, 12090}, {9, 0, 13000}, {9, 1, 13010},
    };

    public static PtxInfo parse(String ptx) {
        Matcher v = VERSION.matcher(ptx);
        if (!v.find()) {
            throw new IllegalArgumentException("not PTX: no .version directive");
        }
        Matcher t = TARGET.matcher(ptx);
        String target = t.find() ? t.group(1).trim() : "";
        Map<String, List<String>> entries = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            List<String> params = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) {
                params.add(p.group(1) + (p.group(2) == null ? "" : p.group(2)));
            }
            entries.put(e.group(1), Collections.unmodifiableList(params));
        }
        return new PtxInfo(Integer.parseInt(v.group(1)), Integer.parseInt(v.group(2)), target,
                Collections.unmodifiableMap(entries));
    }

    /** The PTX parameter type a kernel parameter of this kind compiles to ({@code u64}, {@code b8[336]}). */
    public static String ptxType(ParamKind kind) {
        return switch (kind) {
            case POINTER, INT64 -> "u64";
            case INT32 -> "u32";
            case FLOAT32 -> "f32";
            case FLOAT64 -> "f64";
            case GEOMETRY -> "b8[" + KernelGeometry.BYTES + "]";
        };
    }

    /** The PTX parameter types of a kernel spec, for comparison with {@link #entries()}. */
    public static List<String> ptxTypes(KernelSpec spec) {
        List<String> out = new ArrayList<>();
        for (ParamKind k : spec.parameters()) {
            out.add(ptxType(k));
        }
        return out;
    }

    /**
     * The oldest driver (cuDriverGetVersion's number) that loads this PTX, or -1 when the ISA
     * version is newer than this table.
     */
    public int minimumDriverVersion() {
        return minimumDriverVersion(isaMajor, isaMinor);
    }

    public static int minimumDriverVersion(int major, int minor) {
        for (int[] row : ISA_TO_CUDA) {
            if (row[0] == major && row[1] == minor) {
                return row[2];
            }
        }
        return -1;
    }

    /** The newest PTX ISA version a driver loads, as {@code {major, minor}}, or null if older than CUDA 11. */
    public static int[] newestIsaFor(int driverVersion) {
        int[] best = null;
        for (int[] row : ISA_TO_CUDA) {
            if (row[2] <= driverVersion) {
                best = new int[] {row[0], row[1]};
            }
        }
        return best;
    }
}
