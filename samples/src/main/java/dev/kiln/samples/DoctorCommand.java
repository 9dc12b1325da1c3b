package dev.kiln.samples;

import dev.kiln.Device;
import dev.kiln.cuda.Cuda;
import picocli.CommandLine.Command;

import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Prints what Kiln sees of this machine: Java and OS, the JCuda version, the driver and runtime
 * versions, each CUDA device, cuBLAS and cuDNN, which kernel image runs, and why CUDA cannot be
 * used when it cannot.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, description = "Report the Java runtime, OS and CUDA status.")
final class DoctorCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.printf("Java: %s (%s), %s%n", System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("java.home"));
        System.out.printf("OS: %s %s (%s), %d cores, max heap %d MiB%n", System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20);
        Cuda.Report r = Cuda.report();
        System.out.println("JCuda: " + (r.jcudaVersion() == null ? "not on the class path" : r.jcudaVersion()));
        System.out.println("CUDA driver selection (kiln.cuda.driver): " + r.driver());
        if (r.unavailableReason() != null) {
            System.out.println("CUDA runtime (JCuda's): " + orUnknown(r.runtimeVersion()));
            System.out.println("CUDA: not available: " + r.unavailableReason());
        } else {
            System.out.println("Driver: " + r.driverName()
                    + (r.driverVersion() == null ? "" : ", supports CUDA " + r.driverVersion()));
            if (r.runtimeVersion() != null) {
                System.out.println("CUDA runtime (JCuda's): " + r.runtimeVersion());
            }
            for (Cuda.DeviceReport dev : r.devices()) {
                System.out.printf(Locale.ROOT, "cuda:%d: %s, compute capability %s, %.1f GiB (%.1f GiB free)%n", dev.index(),
                        dev.name(), dev.computeCapability(), dev.totalMemory() / 1073741824.0, dev.freeMemory() / 1073741824.0);
                System.out.println("  kernels: " + dev.kernelPath());
            }
            System.out.println("cuBLAS: " + r.cublas());
        }
        System.out.println("cuDNN: " + r.cudnn());
        System.out.println("Device.cudaIfAvailable(): " + Device.cudaIfAvailable());
        return 0;
    }

    private static String orUnknown(String s) {
        return s == null ? "unknown" : s;
    }
}
