package dev.kiln.data.vision;

import dev.kiln.Tensor;

import java.util.Arrays;

/**
 * A raw 8-bit image as datasets decode it: {@code height x width x channels} unsigned bytes in row
 * major HWC order (the layout of a NumPy array from PIL), the input of
 * {@link Transforms#toTensor()}. Grayscale images have one channel.
 *
 * <p>Its tensor form, used by batch transforms, is the {@code [H, W, C]} float32 tensor of the 0-255
 * values ({@link #toRawTensor()}).
 *
 * @param data     {@code height * width * channels} bytes, read as unsigned (not copied)
 * @param height   rows
 * @param width    columns
 * @param channels values per pixel (1 for grayscale, 3 for RGB)
 */
public record Image(byte[] data, int height, int width, int channels) {

    /** Checks the sizes against the data. */
    public Image {
        if (height <= 0 || width <= 0 || channels <= 0) {
            throw new IllegalArgumentException("Image: height, width and channels must be positive, got " + height
                    + "x" + width + "x" + channels);
        }
        if (data.length != (long) height * width * channels) {
            throw new IllegalArgumentException("Image: " + height + "x" + width + "x" + channels + " needs "
                    + (long) height * width * channels + " bytes, got " + data.length);
        }
    }

    /** A grayscale image of {@code height * width} bytes. */
    public static Image gray(byte[] data, int height, int width) {
        return new Image(data, height, width, 1);
    }

    /**
     * An image from the tensor form: an {@code [H, W, C]} or {@code [H, W]} tensor of 0-255 values,
     * rounded and clamped to bytes.
     */
    public static Image fromRawTensor(Tensor hwc) {
        if (hwc.dim() != 2 && hwc.dim() != 3) {
            throw new IllegalArgumentException("Image.fromRawTensor: expected [H, W] or [H, W, C], got "
                    + Arrays.toString(hwc.shape()));
        }
        float[] v = hwc.toFloatArray();
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) Math.max(0, Math.min(255, Math.round(v[i])));
        }
        return new Image(b, (int) hwc.size(0), (int) hwc.size(1), hwc.dim() == 3 ? (int) hwc.size(2) : 1);
    }

    /** The unsigned value at row {@code y}, column {@code x}, channel {@code c}. */
    public int get(int y, int x, int c) {
        return data[(y * width + x) * channels + c] & 0xFF;
    }

    /** The tensor form: {@code [H, W, C]} float32 holding the 0-255 values. */
    public Tensor toRawTensor() {
        float[] v = new float[data.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = data[i] & 0xFF;
        }
        return Tensor.fromArray(v, height, width, channels);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image other && height == other.height && width == other.width
                && channels == other.channels && Arrays.equals(data, other.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(data) + height * 961 + width * 31 + channels;
    }

    @Override
    public String toString() {
        return "Image(" + height + "x" + width + "x" + channels + ")";
    }
}
