package dev.kiln.kernels;

/** Run in a child JVM whose classpath has kiln-kernels as a jar: the emulator must load from it. */
public final class JarLoadingProbe {

    public static void main(String[] args) {
        System.out.println("loaded from " + EmulatedDevice.class.getProtectionDomain().getCodeSource().getLocation());
        if (!EmulatedDevice.isAvailable()) {
            System.out.println("unavailable: " + EmulatedDevice.unavailableReason());
            System.exit(1);
        }
        try (EmulatedDevice d = EmulatedDevice.create(1 << 20)) {
            long p = d.malloc(16);
            d.copyToDevice(p, new float[] {1, 2, 3, 4}, 0, 4);
            float[] back = new float[4];
            d.copyToHost(p, back, 0, 4);
            System.out.println(back[3] == 4 ? "EMULATOR OK" : "wrong copy");
        }
    }
}
