package dev.kiln;

import java.util.Locale;
import java.util.Objects;

/**
 * Where a tensor's storage lives: {@code cpu} or {@code cuda:N}. Devices are values: two devices
 * with the same type and index are equal.
 */
public final class Device {

    /** The kinds of device Kiln knows. */
    public enum Type {
        CPU, CUDA;

        /** The lower-case name used in {@code "cuda:0"}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Device CPU = new Device(Type.CPU, 0);

    private final Type type;
    private final int index;

    private Device(Type type, int index) {
        this.type = type;
        this.index = index;
    }

    /** The host CPU. */
    public static Device cpu() {
        return CPU;
    }

    /** CUDA device number {@code index}; whether it exists is checked when it is first used. */
    public static Device cuda(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("Device.cuda: index must be >= 0, got " + index);
        }
        return new Device(Type.CUDA, index);
    }

    /** {@code cuda(0)}. */
    public static Device cuda() {
        return cuda(0);
    }

    /**
     * Parses {@code "cpu"}, {@code "cuda"} or {@code "cuda:N"} as {@code torch.device} does.
     *
     * @throws IllegalArgumentException naming the text when it is not a device
     */
    public static Device parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return CPU;
        }
        if (s.equals("cuda")) {
            return cuda(0);
        }
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("Device.parse: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"" + text + "\"");
    }

    /**
     * The first CUDA device when a CUDA backend is on the class path and usable, else the CPU. When
     * CUDA cannot be used the reason is logged once. Never throws.
     */
    public static Device cudaIfAvailable() {
        return Backends.cudaIfAvailable();
    }

    /** Whether a usable CUDA device exists. Never throws. */
    public static boolean isCudaAvailable() {
        return Backends.cudaIfAvailable().type == Type.CUDA;
    }

    public Type type() {
        return type;
    }

    public int index() {
        return index;
    }

    public boolean isCpu() {
        return type == Type.CPU;
    }

    public boolean isCuda() {
        return type == Type.CUDA;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.type == type && d.index == index;
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + index;
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : "cuda:" + index;
    }
}
