package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The shipped sources: complete, identical to the tree, and inside the subset NVRTC accepts. */
class KernelSourcesTest {

    private static Path sourceDir() {
        return Paths.get(System.getProperty("kiln.kernels.source.dir", "src/main/cuda"));
    }

    @Test
    void everySourceFileIsShippedUnchanged() throws IOException {
        Set<String> onDisk;
        try (Stream<Path> files = Files.list(sourceDir())) {
            onDisk = files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(onDisk, new TreeSet<>(KernelSources.FILES), "KernelSources.FILES must list src/main/cuda");
        for (String f : KernelSources.FILES) {
            assertEquals(Files.readString(sourceDir().resolve(f), StandardCharsets.UTF_8), KernelSources.read(f), f);
        }
    }

    @Test
    void theMainFileIncludesEveryOtherSource() {
        String main = KernelSources.read(KernelSources.MAIN);
        for (String f : KernelSources.FILES) {
            if (!f.equals(KernelSources.MAIN) && !f.endsWith(".cuh")) {
                assertTrue(main.contains("#include \"" + f + "\""), KernelSources.MAIN + " lacks " + f);
            }
        }
        assertEquals(KernelSources.FILES.size() - 1, KernelSources.headers().size());
    }

    /** Constructs that break NVRTC (no system headers) or the emulator. */
    @Test
    void sourcesStayInsideTheSubset() {
        List<Pattern> banned = List.of(
                Pattern.compile("#\\s*include\\s*<"),               // NVRTC has no system headers
                Pattern.compile("\\b(INFINITY|NAN|HUGE_VALF?|M_PI|FLT_MAX|DBL_MAX)\\b"),  // <math.h>/<float.h> macros
                Pattern.compile("extern\\s+__shared__"),            // dynamic shared memory
                Pattern.compile("\\bprintf\\s*\\("),
                Pattern.compile("__activemask\\s*\\("),            // meaningless under the emulator's scheduling
                Pattern.compile("\\b__shfl(_up|_down|_xor)?\\s*\\("));  // the pre-Volta, mask-less shuffles
        for (String f : KernelSources.FILES) {
            String text = stripComments(KernelSources.read(f));
            for (Pattern p : banned) {
                Matcher m = p.matcher(text);
                assertFalse(m.find(), f + " uses " + (m.find(0) ? m.group() : p.pattern()));
            }
        }
    }

    @Test
    void everyKernelIsExportedToTheEmulator() {
        Pattern kernel = Pattern.compile("extern \"C\" __global__ void (kiln_\\w+)\\(");
        for (String f : KernelSources.FILES) {
            String text = KernelSources.read(f);
            Matcher m = kernel.matcher(text);
            while (m.find()) {
                assertTrue(text.contains("KILN_EXPORT(" + m.group(1) + ")"), f + ": " + m.group(1) + " is not exported");
            }
        }
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
    }
}
