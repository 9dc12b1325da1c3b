package dev.kiln.backend.cpu.serialization;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of the test classpath in a fresh JVM, for tests that kill or constrain a process. */
final class ChildJvm {

    private ChildJvm() {
    }

    static ProcessBuilder builder(Class<?> main, List<String> jvmOptions, String... args) {
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        // A fast start matters more than peak speed for these short-lived children.
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xshare:auto");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    static Process start(Class<?> main, List<String> jvmOptions, String... args) throws IOException {
        return builder(main, jvmOptions, args).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    static String classpathSummary() {
        return System.getProperty("java.class.path").split(File.pathSeparator).length + " entries";
    }
}
