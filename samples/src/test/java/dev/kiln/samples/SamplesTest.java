package dev.kiln.samples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The samples program: every subcommand documents itself and runs at small sizes on the CPU. */
class SamplesTest {

    private static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path out;

    private static int run(String... args) {
        return new CommandLine(new Samples()).execute(args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"six-pillars", "mlp-adam", "training-loop", "mnist", "cnn", "doctor"})
    void everySubcommandHasHelpWithADeviceOption(String command) {
        StringWriter text = new StringWriter();
        CommandLine cli = new CommandLine(new Samples());
        cli.setOut(new PrintWriter(text));
        assertEquals(0, cli.execute(command, "--help"));
        String help = text.toString();
        assertTrue(help.contains("Usage: kiln-samples " + command), help);
        if (!command.equals("doctor")) {
            assertTrue(help.contains("--device"), help);
        }
    }

    @Test
    void unknownDeviceIsAnError() {
        assertNotEquals(0, run("six-pillars", "--device", "tpu", "--out", out.toString()));
    }

    @Test
    void sixPillarsSavesAndReloads() {
        assertEquals(0, run("six-pillars", "--device", "cpu", "--out", out.toString()));
        assertTrue(Files.exists(out.resolve("linear_regression.safetensors")));
    }

    @Test
    void trainingLoopWritesPlotAndCheckpoint() {
        assertEquals(0, run("training-loop", "--epochs", "3", "--out", out.toString()));
        assertTrue(Files.exists(out.resolve("curves.png")));
        assertTrue(Files.exists(out.resolve("checkpoint.safetensors")));
    }

    @Test
    void mlpAdamLowersTheLoss() {
        assertEquals(0, run("mlp-adam", "--rows", "5000", "--steps", "5", "--out", out.toString()));
    }

    @Test
    void mnistAndCnnTrainOnASubsetOfFashionMnist() {
        Assumptions.assumeTrue(Files.isDirectory(FASHION), FASHION + " is absent (install dataset-fashion-mnist); skipping");
        assertEquals(0, run("mnist", "--epochs", "1", "--limit", "2000", "--out", out.resolve("mlp").toString()));
        assertEquals(0, run("cnn", "--epochs", "1", "--limit", "500", "--out", out.resolve("cnn").toString()));
        assertTrue(Files.exists(out.resolve("cnn/checkpoint.safetensors")));
    }

    @Test
    void doctorReportsTheDevice() {
        assertEquals(0, run("doctor"));
    }
}
