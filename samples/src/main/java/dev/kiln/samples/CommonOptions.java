package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.Kiln;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options every training sample takes: device, seed and output folder. */
final class CommonOptions {

    @Option(names = "--device", defaultValue = "auto",
            description = "cpu, cuda, cuda:N, or auto (CUDA when usable, else the CPU; default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--seed", defaultValue = "0", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", description = "output folder for the checkpoint and plots (default: out/<sample>)")
    Path out;

    /** Seeds Kiln and resolves the device. */
    Device setUp() {
        Kiln.manualSeed(seed);
        Device d = device.equalsIgnoreCase("auto") ? Device.cudaIfAvailable() : Device.parse(device);
        if (d.isCuda() && !Device.isCudaAvailable()) {
            throw new IllegalStateException("--device " + device + ": CUDA is not available on this machine"
                    + " (run the 'doctor' subcommand to see why)");
        }
        return d;
    }

    /** The output folder, created. */
    Path outputFolder(String sample) {
        Path p = out != null ? out : Path.of("out", sample);
        try {
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the output folder " + p, e);
        }
    }
}
