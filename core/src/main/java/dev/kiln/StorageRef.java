package dev.kiln;

import dev.kiln.spi.Backend;
import dev.kiln.spi.Storage;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend storage shared by a tensor and its views: counts the tensors that use it (freeing the
 * memory when the last one closes) and carries the version counter that in-place operations bump
 * and autograd checks.
 */
final class StorageRef {

    final Storage storage;
    final Backend backend;
    private final AtomicInteger users = new AtomicInteger();
    private final AtomicInteger version = new AtomicInteger();

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
        }
    }

    boolean isFreed() {
        return users.get() <= 0;
    }

    int version() {
        return version.get();
    }

    void bumpVersion() {
        version.incrementAndGet();
    }
}
