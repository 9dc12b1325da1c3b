package dev.kiln.spi;

import dev.kiln.Layout;

/**
 * An operand as a composite default reads it densely: its own storage and offset when its layout
 * is contiguous, else a contiguous copy that this operand owns and {@link #release()} frees.
 */
record ContiguousOperand(Storage storage, long offset, boolean owned) {

    static ContiguousOperand of(Backend b, Storage s, Layout l) {
        if (l.isContiguous()) {
            return new ContiguousOperand(s, l.offset(), false);
        }
        Storage d = b.allocate(s.dtype(), l.numel());
        b.copy(s, l, d, Layout.contiguous(l.shape()));
        return new ContiguousOperand(d, 0, true);
    }

    /** Frees the copy, if one was made. */
    void release() {
        if (owned) {
            storage.free();
        }
    }
}
