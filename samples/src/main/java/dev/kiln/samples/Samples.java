package dev.kiln.samples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Kiln's sample programs, one subcommand each. Run {@code java -jar kiln-samples.jar --help}, or
 * {@code ... mnist --help} for a subcommand's options.
 */
@Command(name = "kiln-samples", mixinStandardHelpOptions = true, version = "Kiln samples 0.1.0",
        description = "Runnable Kiln workflows: train, evaluate, save and reload models on the CPU or CUDA.",
        subcommands = {SixPillarsCommand.class, MlpAdamCommand.class, TrainingLoopCommand.class, MnistCommand.class,
                CnnCommand.class, DoctorCommand.class})
public final class Samples implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Plots are rendered off-screen.
        System.setProperty("java.awt.headless", "true");
        System.exit(new CommandLine(new Samples()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
