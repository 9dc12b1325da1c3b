package dev.kiln.conformance;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs {@code tools/fixtures/interop.py} with Debian's {@code /usr/bin/python3} (or the interpreter
 * named by the system property {@code kiln.python}) and PyTorch. Tests that need it skip, printing
 * why, when the interpreter or torch is missing.
 */
public final class PythonTorch {

    public static final Path PYTHON = Path.of(System.getProperty("kiln.python", "/usr/bin/python3"));
    private static String unavailable; // null: not probed yet; "": available
    private static Path script;

    private PythonTorch() {
    }

    /** Skips the calling test, with the reason printed, unless python3 with torch can run the script. */
    public static synchronized void assumeAvailable() {
        if (unavailable == null) {
            unavailable = probe();
            if (!unavailable.isEmpty()) {
                System.out.println("SKIPPED PyTorch interop checks: " + unavailable);
            }
        }
        assumeTrue(unavailable.isEmpty(), unavailable);
    }

    private static String probe() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("tools/fixtures/interop.py"))) {
                script = d.resolve("tools/fixtures/interop.py");
                break;
            }
        }
        if (script == null) {
            return "tools/fixtures/interop.py not found above " + dir;
        }
        if (!Files.isExecutable(PYTHON)) {
            return PYTHON + " is not installed";
        }
        try {
            Result r = exec(List.of(PYTHON.toString(), "-c", "import torch"), 120);
            String[] lines = r.output().strip().split("\n");
            return r.exit() == 0 ? "" : PYTHON + " cannot import torch (apt-get install python3-torch): "
                    + lines[lines.length - 1];
        } catch (Exception e) {
            return PYTHON + " could not run: " + e;
        }
    }

    public record Result(int exit, String output) {
    }

    /** Runs the interop script with {@code args}; returns its exit code and output. */
    public static Result interop(String... args) throws Exception {
        assumeAvailable();
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, 300);
    }

    private static Result exec(List<String> cmd, int timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (Exception e) {
                // the process died; what was read is kept
            }
        });
        pump.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd + " did not finish in " + timeoutSeconds + " s");
        }
        pump.join();
        return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }
}
