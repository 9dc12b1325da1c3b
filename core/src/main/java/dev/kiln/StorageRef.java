package dev.kiln;

import dev.kiln.spi.Backend;
import dev.kiln.spi.PinnedBuffer;
import dev.kiln.spi.Storage;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend storage shared by a tensor and its views: counts the tensors that use it (freeing the
 * memory when the last one closes) and carries the version counter that in-place operations bump
 * and autograd checks. A pinned CPU storage also holds a page-locked copy of its bytes
 * ({@link Pinned}), released with it.
 */
final class StorageRef {

    final Storage storage;
    final Backend backend;
    private final AtomicInteger users = new AtomicInteger();
    private final AtomicInteger version = new AtomicInteger();
    /** The page-locked copy of a pinned storage, or null; guarded by this. */
    private Pinned pinned;

    /**
     * A page-locked copy of the whole storage's bytes, lent by {@code owner}, staged when the
     * storage's version was {@code version}: in-place writes since then make it stale.
     */
    record Pinned(PinnedBuffer buffer, Backend owner, int version) {
    }

    StorageRef(Storage storage, Backend backend) {
        this.storage = storage;
        this.backend = backend;
    }

    void retain() {
        users.incrementAndGet();
    }

    /** Drops one user; the last one frees the memory. */
    void release() {
        if (users.decrementAndGet() == 0) {
            storage.free();
            Pinned p;
            synchronized (this) {
                p = pinned;
                pinned = null;
            }
            if (p != null) {
                p.buffer().release();
            }
        }
    }

    boolean isFreed() {
        return users.get() <= 0;
    }

    synchronized Pinned pinned() {
        return pinned;
    }

    /** Installs a page-locked copy; returns the one it replaces (for the caller to release), or null. */
    synchronized Pinned setPinned(Pinned p) {
        Pinned old = pinned;
        pinned = p;
        return old;
    }

    int version() {
        return version.get();
    }

    void bumpVersion() {
        version.incrementAndGet();
    }
}
