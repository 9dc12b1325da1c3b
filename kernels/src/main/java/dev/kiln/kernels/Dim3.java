package dev.kiln.kernels;

/** A grid or block size, as CUDA's dim3. */
public record Dim3(int x, int y, int z) {

    public Dim3 {
        if (x <= 0 || y <= 0 || z <= 0) {
            throw new IllegalArgumentException("dim3 sizes must be positive, got (" + x + ", " + y + ", " + z + ")");
        }
    }

    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    public long volume() {
        return (long) x * y * z;
    }
}
