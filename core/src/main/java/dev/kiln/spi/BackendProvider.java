package dev.kiln.spi;

import dev.kiln.Device;

/**
 * A backend's entry point, found with {@link java.util.ServiceLoader}. Core never names a backend:
 * it asks every provider on the class path which device types it serves, how eager it is
 * ({@link #priority()}), and whether it can run here ({@link #availability()}).
 */
public interface BackendProvider {

    /** The device type served. */
    Device.Type deviceType();

    /** Higher wins when several providers serve one device type. */
    int priority();

    /**
     * Whether this backend can run on this machine, with the reason when not. Must never throw:
     * a missing native library surfaces here as a reason, not as an error.
     */
    Availability availability();

    /** The backend for one device; called only when {@link #availability()} says it is usable. */
    Backend backend(Device device);

    /** The outcome of an availability probe. */
    record Availability(boolean available, String reason) {
        public static Availability yes() {
            return new Availability(true, "available");
        }

        public static Availability no(String reason) {
            return new Availability(false, reason);
        }
    }
}
