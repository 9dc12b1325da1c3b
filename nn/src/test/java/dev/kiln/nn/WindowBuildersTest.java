package dev.kiln.nn;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The shared 2-D window builders: where each option is checked, what is stored, the defaults. */
class WindowBuildersTest {

    private static void assertRefused(String message, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertEquals(message, e.getMessage());
    }

    @Test
    void convolutionsCheckGeometryAtTheSetterAndStorePairs() {
        assertRefused("Conv2d: stride must be non-negative, got (-1,)", () -> Conv2d.builder(1, 1, 3).stride(-1));
        assertRefused("ConvTranspose2d: padding must have 1 or 2 values, got [1, 2, 3]",
                () -> ConvTranspose2d.builder(1, 1, 3).padding(1, 2, 3));
        assertRefused("ConvTranspose2d: output_padding must be non-negative, got (0, -1)",
                () -> ConvTranspose2d.builder(1, 1, 3).outputPadding(0, -1));
        assertRefused("Conv2d: dilation must have 1 or 2 values, got []", () -> Conv2d.builder(1, 1, 3).dilation());
        Conv2d c = Conv2d.builder(4, 6, 3, 1).stride(2).padding(1, 0).dilation(3).groups(2).bias(false).build();
        assertArrayEquals(new int[] {2, 2}, c.stride);
        assertArrayEquals(new int[] {1, 0}, c.padding);
        assertArrayEquals(new int[] {3, 3}, c.dilation);
        assertEquals(2, c.groups);
        assertEquals(null, c.bias());
        ConvTranspose2d t = ConvTranspose2d.builder(2, 2, 3).build();
        assertArrayEquals(new int[] {1, 1}, t.stride);
        assertArrayEquals(new int[] {0, 0}, t.padding);
        assertArrayEquals(new int[] {1, 1}, t.dilation);
        assertArrayEquals(new int[] {0, 0}, t.outputPadding);
    }

    @Test
    void poolingKeepsValuesAsGivenAndChecksRangesWhenBuilt() {
        assertRefused("MaxPool2d: stride must have 1 or 2 values, got [1, 2, 3]", () -> MaxPool2d.builder(2).stride(1, 2, 3));
        assertRefused("AvgPool2d: padding must have 1 or 2 values, got []", () -> AvgPool2d.builder(2).padding());
        // A negative stride passes the setter (as before) and is refused by the layer.
        MaxPool2d.Builder b = MaxPool2d.builder(2).stride(-1);
        assertRefused("MaxPool2d: stride must be positive, got (-1,)", b::build);
        assertRefused("AvgPool2d: padding (2,) must be non-negative and at most half of the kernel size (3,)",
                () -> AvgPool2d.builder(3).padding(2).build());
        assertEquals("MaxPool2d(kernel_size=3, stride=3, padding=1, dilation=(1, 2), ceil_mode=False)",
                MaxPool2d.builder(3).padding(1).dilation(1, 2).build().toString());
        assertEquals("AvgPool2d(kernel_size=(2, 4), stride=(2, 4), padding=0)", AvgPool2d.builder(2, 4).build().toString());
    }
}
