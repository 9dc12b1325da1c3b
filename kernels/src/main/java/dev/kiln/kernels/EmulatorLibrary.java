package dev.kiln.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads libkiln_emu.so once: from the system property {@value #PROPERTY} when set,
 * else from this jar's resources (extracted to a temporary file when inside a jar). Never
 * throws: when the library cannot be loaded, {@link #unavailableReason()} says why.
 */
final class EmulatorLibrary {

    static final String PROPERTY = "kiln.kernels.emulator.library";
    static final String RESOURCE_DIR = "dev/kiln/kernels/native/";

    private static final Logger LOG = LoggerFactory.getLogger(EmulatorLibrary.class);
    private static final String REASON = load();

    private EmulatorLibrary() {
    }

    /** Null when the library is loaded. */
    static String unavailableReason() {
        return REASON;
    }

    static void require() {
        if (REASON != null) {
            throw new IllegalStateException("the emulated CUDA device is unavailable: " + REASON);
        }
    }

    /** The platform directory of the native resources: {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return (os.startsWith("linux") ? "linux" : os.replace(' ', '_')) + "-" + a;
    }

    private static String load() {
        try {
            String explicit = System.getProperty(PROPERTY);
            if (explicit != null && !explicit.isBlank()) {
                System.load(Paths.get(explicit).toAbsolutePath().toString());
                return null;
            }
            String name = RESOURCE_DIR + platform() + "/libkiln_emu.so";
            URL url = EmulatorLibrary.class.getClassLoader().getResource(name);
            if (url == null) {
                return "no " + name + " in the kiln-kernels jar (" + buildStatus() + ")";
            }
            Path file;
            if ("file".equals(url.getProtocol())) {
                file = Paths.get(url.toURI());
            } else {
                Path dir = Files.createTempDirectory("kiln-emu");
                file = dir.resolve("libkiln_emu.so");
                // deleteOnExit runs in reverse order: the file goes first, then its directory
                dir.toFile().deleteOnExit();
                file.toFile().deleteOnExit();
                try (InputStream in = url.openStream()) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.load(file.toString());
            LOG.debug("loaded the kernel emulator from {}", file);
            return null;
        } catch (UnsatisfiedLinkError | IOException | URISyntaxException | SecurityException e) {
            return "cannot load libkiln_emu.so: " + e;
        }
    }

    /** What the build recorded about the emulator (why it was not built, usually). */
    static String buildStatus() {
        URL url = EmulatorLibrary.class.getClassLoader().getResource(RESOURCE_DIR + "emulator.status");
        if (url == null) {
            return "the build recorded no emulator status";
        }
        try (InputStream in = url.openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "unreadable emulator status: " + e;
        }
    }
}
