package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BackendProvider;

/**
 * Registers the CUDA backend with core's {@link java.util.ServiceLoader}. Its availability probe
 * loads JCuda and checks the driver, the devices and cuBLAS once; it never throws, so a machine
 * without a GPU gets the CPU from {@code Device.cudaIfAvailable()} with the reason logged. With
 * {@code -Dkiln.cuda.driver=emulated} the emulated device serves {@code cuda:N} instead (see
 * {@link CudaRuntime}).
 */
public final class CudaBackendProvider implements BackendProvider {

    @Override
    public Device.Type deviceType() {
        return Device.Type.CUDA;
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Availability availability() {
        return CudaRuntime.get().availability();
    }

    @Override
    public Backend backend(Device device) {
        return CudaRuntime.get().backend(device);
    }
}
