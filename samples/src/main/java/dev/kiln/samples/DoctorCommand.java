package dev.kiln.samples;

import dev.kiln.Device;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** Prints what Kiln sees of this machine: Java, OS, and whether CUDA can be used, and why not. */
@Command(name = "doctor", mixinStandardHelpOptions = true, description = "Report the Java runtime, OS and CUDA status.")
final class DoctorCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.printf("Java: %s (%s), %s%n", System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("java.home"));
        System.out.printf("OS: %s %s (%s), %d cores, max heap %d MiB%n", System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20);
        Device d = Device.cudaIfAvailable();
        System.out.println("Device.cudaIfAvailable(): " + d);
        if (d.isCpu()) {
            System.out.println("CUDA: not available (the reason is logged above by dev.kiln.Backends)");
        }
        return 0;
    }
}
