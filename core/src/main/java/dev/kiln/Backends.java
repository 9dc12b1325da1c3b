package dev.kiln;

import dev.kiln.spi.Backend;
import dev.kiln.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/** Finds backends with {@link ServiceLoader} and keeps one {@link Backend} per device. */
final class Backends {

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static final Map<Device, Backend> BY_DEVICE = new ConcurrentHashMap<>();
    private static volatile List<BackendProvider> providers;
    private static volatile Device cudaChoice;
    private static volatile String cudaReason;

    private Backends() {
    }

    static Backend get(Device device) {
        Backend b = BY_DEVICE.get(device);
        if (b != null) {
            return b;
        }
        return BY_DEVICE.computeIfAbsent(device, Backends::create);
    }

    private static Backend create(Device device) {
        List<String> reasons = new ArrayList<>();
        for (BackendProvider p : providers()) {
            if (p.deviceType() != device.type()) {
                continue;
            }
            BackendProvider.Availability a = safeAvailability(p);
            if (a.available()) {
                return p.backend(device);
            }
            reasons.add(p.getClass().getName() + ": " + a.reason());
        }
        if (reasons.isEmpty()) {
            throw new IllegalStateException("no backend for device " + device + " on the class path (add kiln-backend-"
                    + device.type().label() + " to the dependencies)");
        }
        throw new IllegalStateException("device " + device + " is not usable: " + String.join("; ", reasons));
    }

    static Device cudaIfAvailable() {
        Device d = cudaChoice;
        if (d != null) {
            return d;
        }
        synchronized (Backends.class) {
            if (cudaChoice == null) {
                cudaChoice = probeCuda();
            }
            return cudaChoice;
        }
    }

    private static Device probeCuda() {
        List<String> reasons = new ArrayList<>();
        for (BackendProvider p : providers()) {
            if (p.deviceType() != Device.Type.CUDA) {
                continue;
            }
            BackendProvider.Availability a = safeAvailability(p);
            if (a.available()) {
                return Device.cuda(0);
            }
            reasons.add(a.reason());
        }
        String why = reasons.isEmpty() ? "no CUDA backend on the class path (add kiln-backend-cuda)" : String.join("; ", reasons);
        LOG.info("CUDA is not available, using the CPU: {}", why);
        cudaReason = why;
        return Device.cpu();
    }

    /**
     * The backend that lends page-locked host memory: that of {@link #cudaIfAvailable()}'s device
     * when it supports it, else null.
     */
    static Backend pinnedMemoryBackend() {
        Device d = cudaIfAvailable();
        if (d.isCpu()) {
            return null;
        }
        try {
            Backend b = get(d);
            return b.supportsPinnedMemory() ? b : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Why {@link #pinnedMemoryBackend()} is null, or null when it is not. */
    static String pinnedMemoryUnavailableReason() {
        Device d = cudaIfAvailable();
        if (d.isCpu()) {
            return "page-locked memory comes from the CUDA driver, and CUDA is not available: " + cudaReason;
        }
        try {
            return get(d).supportsPinnedMemory() ? null : "the backend of " + d + " lends no page-locked host memory";
        } catch (RuntimeException e) {
            return "the backend of " + d + " failed: " + e.getMessage();
        }
    }

    private static BackendProvider.Availability safeAvailability(BackendProvider p) {
        try {
            return p.availability();
        } catch (RuntimeException | LinkageError e) {
            // The contract says probes never throw; a broken one must not take the program down.
            return BackendProvider.Availability.no(p.getClass().getName() + " probe failed: " + e);
        }
    }

    private static List<BackendProvider> providers() {
        List<BackendProvider> ps = providers;
        if (ps == null) {
            List<BackendProvider> found = new ArrayList<>();
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                found.add(p);
            }
            found.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
            providers = ps = List.copyOf(found);
        }
        return ps;
    }
}
