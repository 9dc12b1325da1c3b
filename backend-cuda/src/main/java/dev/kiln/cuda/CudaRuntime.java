package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.spi.BackendProvider.Availability;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The process-wide CUDA state: which driver serves {@code cuda:N} and the backend of each device.
 * The driver is chosen once, by the system property {@value #DRIVER_PROPERTY}:
 * <ul>
 *   <li>{@code jcuda} (the default): the real driver through JCuda;</li>
 *   <li>{@code emulated}: the kernels module's CPU emulation of a CUDA device, which runs the same
 *       kernels (slowly) with no GPU; for tests and for trying {@code --device cuda} anywhere.
 *       {@value #EMULATED_DEVICES_PROPERTY} sets how many devices (default 2) and
 *       {@value #EMULATED_MEMORY_PROPERTY} each one's memory (default {@code 4g});</li>
 *   <li>{@code auto}: the real driver when it is usable, else the emulated device; what this
 *       module's tests use, so that they run on a GPU where there is one.</li>
 * </ul>
 */
final class CudaRuntime {

    static final String DRIVER_PROPERTY = "kiln.cuda.driver";
    static final String EMULATED_DEVICES_PROPERTY = "kiln.cuda.emulated.devices";
    static final String EMULATED_MEMORY_PROPERTY = "kiln.cuda.emulated.memory";

    private static final Logger LOG = LoggerFactory.getLogger(CudaRuntime.class);
    private static volatile CudaRuntime instance;

    private final CudaDriver driver;
    private final String reason;
    private final String driverChoice;
    private final Map<Integer, CudaBackend> backends = new ConcurrentHashMap<>();
    private final PinnedHostAllocator hostAllocator;

    private CudaRuntime(String driverChoice, CudaDriver driver, String reason) {
        this.driverChoice = driverChoice;
        this.driver = driver;
        this.reason = reason;
        this.hostAllocator = driver == null ? null : new PinnedHostAllocator(driver);
    }

    /** The runtime, probing the driver on first use. Never throws for a missing driver or device. */
    static CudaRuntime get() {
        CudaRuntime r = instance;
        if (r == null) {
            synchronized (CudaRuntime.class) {
                r = instance;
                if (r == null) {
                    instance = r = probe();
                }
            }
        }
        return r;
    }

    private static CudaRuntime probe() {
        String choice = System.getProperty(DRIVER_PROPERTY, "jcuda").trim().toLowerCase(Locale.ROOT);
        try {
            CudaDriver d = switch (choice) {
                case "jcuda" -> JCudaDriver.open();
                case "emulated" -> openEmulated();
                case "auto" -> {
                    try {
                        yield JCudaDriver.open();
                    } catch (CudaUnavailableException e) {
                        try {
                            yield openEmulated();
                        } catch (CudaUnavailableException e2) {
                            throw new CudaUnavailableException(e.getMessage() + "; and " + e2.getMessage());
                        }
                    }
                }
                default -> throw new CudaUnavailableException("unknown " + DRIVER_PROPERTY + " \"" + choice
                        + "\" (expected jcuda, emulated or auto)");
            };
            return new CudaRuntime(choice, d, null);
        } catch (CudaUnavailableException e) {
            return new CudaRuntime(choice, null, e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // The probe must never throw: whatever else went wrong becomes the reason.
            return new CudaRuntime(choice, null, "probing the CUDA driver failed: " + e);
        }
    }

    private static EmulatedDriver openEmulated() {
        return EmulatedDriver.open(Integer.getInteger(EMULATED_DEVICES_PROPERTY, 2),
                parseBytes(System.getProperty(EMULATED_MEMORY_PROPERTY, "4g")));
    }

    /** {@code "512m"}, {@code "4g"}, {@code "1048576"}. */
    static long parseBytes(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mul = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> mul = 1L << 10;
            case 'm' -> mul = 1L << 20;
            case 'g' -> mul = 1L << 30;
            default -> {
            }
        }
        if (mul != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Long.parseLong(t.trim()) * mul;
        } catch (NumberFormatException e) {
            throw new CudaUnavailableException("bad memory size \"" + s + "\" in " + EMULATED_MEMORY_PROPERTY);
        }
    }

    Availability availability() {
        return driver != null ? Availability.yes() : Availability.no(reason);
    }

    /** The driver, or null when CUDA is unavailable. */
    CudaDriver driver() {
        return driver;
    }

    /** Why CUDA is unavailable, or null. */
    String reason() {
        return reason;
    }

    /** {@code jcuda}, {@code emulated} or {@code auto}. */
    String driverChoice() {
        return driverChoice;
    }

    /** The backend of {@code cuda:N}. */
    CudaBackend backend(Device device) {
        if (driver == null) {
            throw new IllegalStateException("CUDA is not available: " + reason);
        }
        int n = device.index();
        if (n >= driver.deviceCount()) {
            throw new IllegalArgumentException(device + " does not exist: " + driver.name() + " reports " + driver.deviceCount()
                    + " CUDA device" + (driver.deviceCount() == 1 ? "" : "s"));
        }
        return backends.computeIfAbsent(n, i -> {
            CudaDriver.DeviceProperties p = driver.properties(i);
            LOG.info("CUDA backend on {}: {} through {}; {}", device, p.name(), driver.name(), convolutionPath(driver.cudnn()));
            return new CudaBackend(device, driver, hostAllocator, CachingAllocator::collectGarbage);
        });
    }

    /**
     * Which path convolution, batch norm and pooling take, and why, as the backend logs it once per device:
     * cuDNN's convolutions when it loaded, else Kiln's kernels with the reason. Pooling always uses
     * Kiln's kernels: cuDNN's max pooling returns no window argmax, which Kiln saves for the backward
     * (and double backward), and may route ties to another element than PyTorch's first maximum.
     */
    static String convolutionPath(Cudnn.Status cudnn) {
        return cudnn.library() != null
                ? "convolution and batch norm use cuDNN " + cudnn.library().version() + ", pooling Kiln's kernels"
                : "convolution, batch norm and pooling use Kiln's kernels (im2col + cuBLAS), cuDNN is not used: " + cudnn.reason();
    }

    /** The process-wide allocator of page-locked host memory, or null when CUDA is unavailable. */
    PinnedHostAllocator hostAllocator() {
        return hostAllocator;
    }

    /** The backend of {@code device} if it was created, else null. */
    CudaBackend existingBackend(Device device) {
        return backends.get(device.index());
    }
}
