package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Layout;
import dev.kiln.spi.Storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Dense device operands for one library call (cuDNN takes packed NCHW tensors only): a
 * contiguous operand is passed in place, a strided one through a dense copy that
 * {@link Operand#writeBack} copies back when the call wrote it. Copies and scratch memory come
 * from the caching allocator and are freed together by {@link #close}.
 */
final class DenseOperands implements AutoCloseable {

    private final CudaBackend backend;
    private final List<CudaStorage> temps = new ArrayList<>();

    DenseOperands(CudaBackend backend) {
        this.backend = backend;
    }

    /** An operand at {@code address}: {@code storage} itself, or its dense {@code copy}. */
    final class Operand {
        final long address;
        private final CudaStorage copy;
        private final Storage storage;
        private final Layout layout;

        private Operand(long address, CudaStorage copy, Storage storage, Layout layout) {
            this.address = address;
            this.copy = copy;
            this.storage = storage;
            this.layout = layout;
        }

        /** Copies what the call wrote into a dense copy back to the strided storage (nothing to do otherwise). */
        void writeBack() {
            if (copy != null) {
                backend.copy(copy, Layout.contiguous(layout.shape()), storage, layout);
            }
        }
    }

    /** An operand the call reads (and may also write, then {@link Operand#writeBack}). */
    Operand input(Storage s, Layout l) {
        Operand o = output(s, l);
        if (o.copy != null) {
            backend.copy(s, l, o.copy, Layout.contiguous(l.shape()));
        }
        return o;
    }

    /** An operand the call only writes; its previous contents are not copied. */
    Operand output(Storage s, Layout l) {
        if (l.isContiguous()) {
            return new Operand(((CudaStorage) s).address(l.offset()), null, s, l);
        }
        CudaStorage copy = scratch(s.dtype(), l.numel());
        return new Operand(copy.address(), copy, s, l);
    }

    /** {@code numel} elements of scratch device memory (unspecified contents), freed by {@link #close}. */
    CudaStorage scratch(DType dtype, long numel) {
        CudaStorage s = backend.allocate(dtype, numel);
        temps.add(s);
        return s;
    }

    @Override
    public void close() {
        for (CudaStorage t : temps) {
            t.free();
        }
    }
}
