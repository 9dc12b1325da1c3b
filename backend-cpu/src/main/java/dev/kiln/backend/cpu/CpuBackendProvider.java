package dev.kiln.backend.cpu;

import dev.kiln.Device;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BackendProvider;

/** Registers the pure-Java CPU backend; always available. */
public final class CpuBackendProvider implements BackendProvider {

    private static final CpuBackend BACKEND = new CpuBackend();

    @Override
    public Device.Type deviceType() {
        return Device.Type.CPU;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public Backend backend(Device device) {
        return BACKEND;
    }
}
