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
        return Device.cpu();
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
