package dev.kiln;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Kiln's global entry points, the counterpart of the {@code torch} namespace: seeding, grad mode,
 * anomaly detection, saving and loading.
 */
public final class Kiln {

    private Kiln() {
    }

    /** Seeds the default generator, making random initialisation, shuffling and dropout reproducible. */
    public static void manualSeed(long seed) {
        Generator.defaultGenerator().manualSeed(seed);
    }

    /**
     * Turns gradient recording off on this thread until the returned scope closes:
     * {@code try (var s = Kiln.noGrad()) { ... }}. Scopes nest.
     */
    public static GradScope noGrad() {
        return new GradScope(false);
    }

    /** Runs {@code body} with gradient recording off and returns its result. */
    public static <T> T noGrad(Supplier<T> body) {
        try (GradScope s = noGrad()) {
            return body.get();
        }
    }

    /** Runs {@code body} with gradient recording off. */
    public static void noGrad(Runnable body) {
        try (GradScope s = noGrad()) {
            body.run();
        }
    }

    /** Turns gradient recording on (inside a no-grad scope) until the returned scope closes. */
    public static GradScope enableGrad() {
        return new GradScope(true);
    }

    /** Runs {@code body} with gradient recording on and returns its result. */
    public static <T> T enableGrad(Supplier<T> body) {
        try (GradScope s = enableGrad()) {
            return body.get();
        }
    }

    /** Whether operations on this thread record the graph. */
    public static boolean isGradEnabled() {
        return GradMode.isEnabled();
    }

    /** Sets grad mode on this thread (prefer the scoped forms). */
    public static void setGradEnabled(boolean enabled) {
        GradMode.set(enabled);
    }

    /**
     * Anomaly mode: when on, every recorded op remembers where forward created it, and a NaN or
     * infinity produced in backward raises an error naming that op and that place. Slow; for
     * debugging.
     */
    public static void setDetectAnomaly(boolean on) {
        GradMode.setAnomaly(on);
    }

    public static boolean isAnomalyEnabled() {
        return GradMode.anomalyEnabled();
    }

    /**
     * Memory statistics of {@code device}: bytes in live tensors, bytes held by the caching
     * allocator, the peak, and the number of allocations ({@code torch.cuda.memory_stats}). Zero on
     * the CPU, whose memory the garbage collector manages.
     */
    public static dev.kiln.spi.Backend.MemoryStats memoryStats(Device device) {
        return Backends.get(device).memoryStats();
    }

    /** Returns {@code device}'s cached, unused memory to the device ({@code torch.cuda.empty_cache}). */
    public static void emptyCache(Device device) {
        Backends.get(device).emptyCache();
    }

    /**
     * Whether {@link Tensor#pinMemory()} can page-lock host memory: a CUDA backend is available
     * ({@link Device#cudaIfAvailable()}) and lends it. Never throws.
     */
    public static boolean isPinnedMemoryAvailable() {
        return Backends.pinnedMemoryBackend() != null;
    }

    /** Why {@link #isPinnedMemoryAvailable()} is false, or null when it is true. */
    public static String pinnedMemoryUnavailableReason() {
        return Backends.pinnedMemoryUnavailableReason();
    }

    /** Saves named tensors (a state dict) to a safetensors file, atomically. */
    public static void save(Map<String, Tensor> tensors, Path file) throws IOException {
        Safetensors.save(tensors, file);
    }

    /** Loads a safetensors file onto the CPU. */
    public static Map<String, Tensor> load(Path file) throws IOException {
        return Safetensors.load(file);
    }

    /** Loads a safetensors file onto {@code device}. */
    public static Map<String, Tensor> load(Path file, Device device) throws IOException {
        return Safetensors.load(file, device);
    }
}
