package dev.kiln.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** What a dependent module sees: kiln-kernels as a jar, the native library extracted from it. */
class JarLoadingTest {

    @Test
    void theEmulatorLoadsFromTheJar() throws Exception {
        Assumptions.assumeTrue(EmulatedDevice.isAvailable(), () -> "skipped: " + EmulatedDevice.unavailableReason());
        Path classes = Paths.get(System.getProperty("kiln.kernels.native.dir", "target/native")).getParent().resolve("classes");
        Path jar = Files.createTempFile("kiln-kernels", ".jar");
        try {
            writeJar(classes, jar);
            List<String> cp = new ArrayList<>();
            cp.add(jar.toString());
            for (String e : System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
                    .split(File.pathSeparator)) {
                if (!Paths.get(e).toAbsolutePath().normalize().equals(classes.toAbsolutePath().normalize())) {
                    cp.add(e);
                }
            }
            Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
            Process p = new ProcessBuilder(java.toString(), "-cp", String.join(File.pathSeparator, cp),
                    JarLoadingProbe.class.getName()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(2, TimeUnit.MINUTES), "timed out");
            System.out.println(out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains(".jar") && out.contains("EMULATOR OK"), out);
        } finally {
            Files.deleteIfExists(jar);
        }
    }

    private static void writeJar(Path root, Path jar) throws IOException {
        try (OutputStream os = Files.newOutputStream(jar);
             JarOutputStream out = new JarOutputStream(os);
             Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(root.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
