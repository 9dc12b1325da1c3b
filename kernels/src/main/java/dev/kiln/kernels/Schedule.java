package dev.kiln.kernels;

/**
 * How the emulator interleaves the threads of a block between barriers. A kernel that misses a
 * barrier reads stale shared memory under at least one of them.
 */
public enum Schedule {
    /** Threads in ascending order. */
    FORWARD,
    /** Threads in descending order. */
    REVERSE,
    /** A fresh seeded permutation per block and per round. */
    RANDOM
}
