package dev.kiln.backend.cpu;

import dev.kiln.Device;
import dev.kiln.conformance.ConformanceSuite;

/** The conformance kit on the CPU backend. */
class CpuConformanceTest extends ConformanceSuite {

    @Override
    protected Device device() {
        return Device.cpu();
    }
}
