package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.spi.BackendProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The availability probe never throws, and says why when CUDA cannot be used. */
class AvailabilityTest {

    @Test
    void theJCudaProbeEitherFindsADeviceOrExplainsWhyNot() {
        // Twice: JCuda's first failed touch throws UnsatisfiedLinkError, later ones NoClassDefFoundError.
        for (int i = 0; i < 2; i++) {
            try {
                JCudaDriver d = JCudaDriver.open();
                assertTrue(d.deviceCount() > 0);
                System.out.println("[probe] JCuda found " + d.deviceCount() + " device(s), driver CUDA "
                        + JCudaDriver.versionString(d.driverVersion()));
            } catch (CudaUnavailableException e) {
                System.out.println("[probe] JCuda: " + e.getMessage());
                assertNotNull(e.getMessage());
                assertTrue(e.getMessage().length() > 20, e.getMessage());
            }
        }
    }

    @Test
    void theProviderServesCudaAndNeverThrows() {
        BackendProvider p = new CudaBackendProvider();
        assertEquals(Device.Type.CUDA, p.deviceType());
        BackendProvider.Availability a = p.availability();
        assertEquals(a.available(), Cuda.isAvailable());
        if (!a.available()) {
            assertEquals(a.reason(), Cuda.unavailableReason());
            assertEquals(Device.cpu(), Device.cudaIfAvailable());
        } else {
            assertEquals(Device.cuda(0), Device.cudaIfAvailable());
        }
    }

    @Test
    void memorySizesParse() {
        assertEquals(512L << 20, CudaRuntime.parseBytes("512m"));
        assertEquals(4L << 30, CudaRuntime.parseBytes("4G"));
        assertEquals(1000, CudaRuntime.parseBytes("1000"));
        assertThrows(CudaUnavailableException.class, () -> CudaRuntime.parseBytes("lots"));
    }

    @Test
    void aMissingDeviceIsAnErrorNamingTheCount() {
        if (!Cuda.isAvailable()) {
            return;
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaRuntime.get().backend(Device.cuda(Cuda.deviceCount())));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void theReportNeverThrows() {
        Cuda.Report r = Cuda.report();
        assertNotNull(r.driver());
        assertEquals(r.unavailableReason() == null, Cuda.isAvailable());
        assertFalse(r.cudnn().isEmpty());
        if (Cuda.isAvailable()) {
            assertEquals(Cuda.deviceCount(), r.devices().size());
        }
    }
}
