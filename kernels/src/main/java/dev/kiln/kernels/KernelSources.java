package dev.kiln.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The kernels as shipped in this jar: the CUDA C sources (always), the fatbin and the PTX (when
 * the build machine had nvcc).
 *
 * <p>For runtime compilation with NVRTC, compile {@link #MAIN} with every other file of
 * {@link #FILES} passed as a header under its own name ({@link #headers()}); the sources need no
 * system headers.
 */
public final class KernelSources {

    /** The translation unit that includes all the others. */
    public static final String MAIN = "kiln_kernels.cu";

    /** Every source file, in include order, the main file last. */
    public static final List<String> FILES = List.of(
            "kiln_common.cuh", "unary.cu", "binary.cu", "convert.cu", "reduce.cu", "index.cu", "conv.cu", "nn.cu",
            "random.cu", MAIN);

    /** Architectures of the cubins in the fatbin; it also carries PTX for {@link #PTX_ARCHITECTURE}. */
    public static final List<String> FATBIN_ARCHITECTURES =
            List.of("sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120");
    public static final String PTX_ARCHITECTURE = "compute_75";

    static final String SOURCE_DIR = "dev/kiln/kernels/cuda/";
    static final String FATBIN = "dev/kiln/kernels/kiln_kernels.fatbin";
    static final String PTX = "dev/kiln/kernels/kiln_kernels.ptx";

    private KernelSources() {
    }

    /** The text of one source file. */
    public static String read(String file) {
        if (!FILES.contains(file)) {
            throw new IllegalArgumentException("no kernel source named " + file + "; the sources are " + FILES);
        }
        byte[] b = resource(SOURCE_DIR + file)
                .orElseThrow(() -> new IllegalStateException("kernel source " + file + " is missing from the jar"));
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Every file but {@link #MAIN}, by include name: the headers NVRTC needs to compile MAIN. */
    public static Map<String, String> headers() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String f : FILES) {
            if (!f.equals(MAIN)) {
                out.put(f, read(f));
            }
        }
        return out;
    }

    /** The fatbin built by nvcc, when the build machine had it. */
    public static Optional<byte[]> fatbin() {
        return resource(FATBIN);
    }

    /** The PTX for {@link #PTX_ARCHITECTURE} (PTX ISA of the nvcc that built it), when built. */
    public static Optional<String> ptx() {
        return resource(PTX).map(b -> new String(b, StandardCharsets.UTF_8));
    }

    private static Optional<byte[]> resource(String name) {
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(name)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name, e);
        }
    }
}
