package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Layout;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BatchNormOperands;
import dev.kiln.spi.BinaryOp;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.PinnedBuffer;
import dev.kiln.spi.ReduceOp;
import dev.kiln.spi.Storage;
import dev.kiln.spi.UnaryOp;
import dev.kiln.kernels.KernelArgs;
import dev.kiln.kernels.KernelCatalog;
import dev.kiln.kernels.KernelDType;
import dev.kiln.kernels.KernelGeometry;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The device SPI on one CUDA device: storages from the device's {@link CachingAllocator}, every
 * kernel from the kernels module launched through a {@link CudaDriver}, matrix products through
 * cuBLAS. Where the kernels lack a dtype (float16 and bfloat16 arithmetic, int64 products, bool
 * accumulation) the op runs in a wider type on the device and the result is cast back.
 */
final class CudaBackend implements Backend {

    /** Threads per block for elementwise kernels. */
    static final int BLOCK = 256;
    /** Blocks at most per launch; kernels loop over the rest (grid-stride). */
    static final int MAX_GRID = 4096;
    /** Host staging chunk for copies, so a huge tensor needs no huge host buffer. */
    private static final int CHUNK = 16 << 20;

    private final Device device;
    private final int ordinal;
    private final CudaDriver driver;
    private final CachingAllocator allocator;
    private final PinnedHostAllocator hostAllocator;

    CudaBackend(Device device, CudaDriver driver, PinnedHostAllocator hostAllocator, Runnable collector) {
        this.device = device;
        this.ordinal = device.index();
        this.driver = driver;
        this.hostAllocator = hostAllocator;
        this.allocator = new CachingAllocator(device.toString(), new CachingAllocator.DeviceMemory() {
            @Override
            public long malloc(long bytes) {
                return driver.malloc(ordinal, bytes);
            }

            @Override
            public void free(long ptr) {
                driver.free(ordinal, ptr);
            }

            @Override
            public long[] info() {
                return driver.memoryInfo(ordinal);
            }
        }, collector);
    }

    @Override
    public Device device() {
        return device;
    }

    CachingAllocator allocator() {
        return allocator;
    }

    CudaDriver driver() {
        return driver;
    }

    // ------------------------------------------------------------------ memory

    @Override
    public CudaStorage allocate(DType dtype, long numel) {
        return new CudaStorage(this, dtype, numel, allocator.allocate(numel * dtype.byteSize()));
    }

    @Override
    public MemoryStats memoryStats() {
        return allocator.stats().toSpi();
    }

    @Override
    public void emptyCache() {
        allocator.emptyCache();
    }

    @Override
    public void synchronize() {
        driver.synchronize(ordinal);
    }

    // ------------------------------------------------------------------ pinned host memory

    PinnedHostAllocator hostAllocator() {
        return hostAllocator;
    }

    @Override
    public boolean supportsPinnedMemory() {
        return true;
    }

    @Override
    public PinnedHostBuffer allocatePinned(long bytes) {
        return new PinnedHostBuffer(hostAllocator, bytes);
    }

    /**
     * From this runtime's page-locked memory: one {@code cuMemcpyHtoDAsync} queued on the stream,
     * then an event the host allocator waits for before it reuses the block; the host does not wait.
     * Other buffers take the synchronous default.
     */
    @Override
    public Storage fromPinned(PinnedBuffer pinned, long byteOffset, DType dtype, long numel) {
        if (!(pinned instanceof PinnedHostBuffer p) || p.allocator() != hostAllocator) {
            return Backend.super.fromPinned(pinned, byteOffset, dtype, numel);
        }
        long bytes = numel * dtype.byteSize();
        if (byteOffset < 0 || byteOffset + bytes > p.byteSize()) {
            throw new IllegalArgumentException("fromPinned: bytes [" + byteOffset + ", " + (byteOffset + bytes) + ") are outside "
                    + p);
        }
        CudaStorage s = allocate(dtype, numel);
        if (bytes > 0) {
            java.nio.ByteBuffer src = p.buffer().position(Math.toIntExact(byteOffset));
            driver.copyToDeviceAsync(ordinal, s.address(), src, bytes);
            // Core staged bools as bytes 0 and 1, which is what the kernels expect: no normalising pass.
            hostAllocator.recordUse(p.block(), driver.recordEvent(ordinal));
        }
        Reference.reachabilityFence(p);
        return s;
    }

    private static CudaStorage cuda(Storage s) {
        if (s instanceof CudaStorage c) {
            return c;
        }
        throw new IllegalArgumentException("CUDA backend: expected a CUDA storage, got " + s);
    }

    // ------------------------------------------------------------------ host copies

    @Override
    public Storage fromHost(Object array, DType dtype) {
        int n = java.lang.reflect.Array.getLength(array);
        CudaStorage s = allocate(dtype, n);
        int per = Math.max(1, CHUNK / dtype.byteSize());
        for (int start = 0; start < n; start += per) {
            int len = Math.min(per, n - start);
            ByteBuffer b = ByteBuffer.allocateDirect(len * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            switch (dtype) {
                case FLOAT32 -> b.asFloatBuffer().put((float[]) array, start, len);
                case FLOAT64 -> b.asDoubleBuffer().put((double[]) array, start, len);
                case INT64 -> b.asLongBuffer().put((long[]) array, start, len);
                case BOOL -> {
                    boolean[] v = (boolean[]) array;
                    for (int i = 0; i < len; i++) {
                        b.put(i, (byte) (v[start + i] ? 1 : 0));
                    }
                }
                case FLOAT16, BFLOAT16 -> b.asShortBuffer().put((short[]) array, start, len);
            }
            driver.copyToDevice(ordinal, s.address(start), b, (long) len * dtype.byteSize());
        }
        return s;
    }

    @Override
    public Storage fromHostBytes(ByteBuffer littleEndian, DType dtype, long numel) {
        CudaStorage s = allocate(dtype, numel);
        long bytes = numel * dtype.byteSize();
        ByteBuffer src = littleEndian.duplicate();
        for (long done = 0; done < bytes; done += CHUNK) {
            int len = (int) Math.min(CHUNK, bytes - done);
            ByteBuffer part = src.slice(src.position() + (int) done, len);
            driver.copyToDevice(ordinal, s.address() + done, part, len);
        }
        if (dtype == DType.BOOL) {
            // Safetensors bools are bytes; any non-zero one is true, and kernels write 0 or 1.
            normaliseBools(s, numel);
        }
        return s;
    }

    private void normaliseBools(CudaStorage s, long numel) {
        Layout l = Layout.contiguous(numel);
        cast(s, l, s, l);
    }

    @Override
    public void toHost(Storage src, Layout layout, Object array) {
        CudaStorage s = cuda(src);
        DType dtype = s.dtype();
        int n = (int) layout.numel();
        withContiguous(s, layout, (c, off) -> {
            int per = Math.max(1, CHUNK / dtype.byteSize());
            for (int start = 0; start < n; start += per) {
                int len = Math.min(per, n - start);
                ByteBuffer b = ByteBuffer.allocateDirect(len * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                driver.copyToHost(ordinal, b, c.address(off + start), (long) len * dtype.byteSize());
                switch (dtype) {
                    case FLOAT32 -> b.asFloatBuffer().get((float[]) array, start, len);
                    case FLOAT64 -> b.asDoubleBuffer().get((double[]) array, start, len);
                    case INT64 -> b.asLongBuffer().get((long[]) array, start, len);
                    case BOOL -> {
                        boolean[] v = (boolean[]) array;
                        for (int i = 0; i < len; i++) {
                            v[start + i] = b.get(i) != 0;
                        }
                    }
                    case FLOAT16, BFLOAT16 -> b.asShortBuffer().get((short[]) array, start, len);
                }
            }
        });
    }

    @Override
    public void toHostBytes(Storage src, Layout layout, ByteBuffer littleEndian) {
        CudaStorage s = cuda(src);
        long bytes = layout.numel() * s.dtype().byteSize();
        withContiguous(s, layout, (c, off) -> {
            for (long done = 0; done < bytes; done += CHUNK) {
                int len = (int) Math.min(CHUNK, bytes - done);
                ByteBuffer part = littleEndian.slice(littleEndian.position(), len);
                driver.copyToHost(ordinal, part, c.address(off) + done, len);
                littleEndian.position(littleEndian.position() + len);
            }
        });
    }

    /** Runs {@code body} on a contiguous copy of {@code layout} (the storage itself when already contiguous). */
    private void withContiguous(CudaStorage s, Layout layout, ContiguousBody body) {
        if (layout.isContiguous()) {
            body.run(s, layout.offset());
            Reference.reachabilityFence(s);
            return;
        }
        CudaStorage c = allocate(s.dtype(), layout.numel());
        try {
            cast(s, layout, c, Layout.contiguous(layout.shape()));
            body.run(c, 0);
        } finally {
            c.free();
        }
    }

    @FunctionalInterface
    private interface ContiguousBody {
        void run(CudaStorage contiguous, long offset);
    }

    // ------------------------------------------------------------------ copies and fills

    @Override
    public void copy(Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        if (s.dtype() == d.dtype() && srcLayout.isContiguous() && dstLayout.isContiguous()) {
            if (srcLayout.numel() > 0) {
                driver.copyOnDevice(ordinal, d.address(dstLayout.offset()), s.address(srcLayout.offset()),
                        srcLayout.numel() * s.dtype().byteSize());
            }
            Reference.reachabilityFence(s);
            Reference.reachabilityFence(d);
            return;
        }
        cast(s, srcLayout, d, dstLayout);
    }

    /** The strided copy with conversion: {@code kiln_cast_<from>_<to>}. */
    private void cast(CudaStorage s, Layout sl, CudaStorage d, Layout dl) {
        KernelGeometry g = strided(dl.shape(), dl.strides(), sl.strides());
        launch("kiln_cast_" + suffix(s.dtype()) + "_" + suffix(d.dtype()), g.numel(),
                KernelArgs.create().pointer(d.address(dl.offset())).pointer(s.address(sl.offset())).geometry(g), s, d);
    }

    @Override
    public void fill(Storage dst, Layout layout, double value) {
        CudaStorage d = cuda(dst);
        long bits;
        switch (d.dtype()) {
            case FLOAT32 -> bits = Float.floatToRawIntBits((float) value) & 0xFFFFFFFFL;
            case FLOAT64 -> bits = Double.doubleToRawLongBits(value);
            case INT64 -> bits = (long) value;
            case BOOL -> bits = value != 0 ? 1 : 0;
            default -> {
                // float16/bfloat16: the cast kernel rounds the float32 value, broadcast from one element.
                CudaStorage one = (CudaStorage) fromHost(new float[] {(float) value}, DType.FLOAT32);
                try {
                    cast(one, new Layout(layout.shape(), new long[layout.rank()], 0), d, layout);
                } finally {
                    one.free();
                }
                return;
            }
        }
        KernelGeometry g = strided(layout.shape(), layout.strides());
        launch("kiln_fill_" + suffix(d.dtype()), g.numel(),
                KernelArgs.create().pointer(d.address(layout.offset())).geometry(g).i64(bits), d);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void unary(UnaryOp op, double p0, double p1, Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        String name = "kiln_unary_" + op.kernelName() + "_" + suffix(s.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            if (s.dtype() == DType.INT64 && (op == UnaryOp.FLOOR || op == UnaryOp.CEIL || op == UnaryOp.ROUND)) {
                copy(s, srcLayout, d, dstLayout);
                return;
            }
            DType wide = wider(s.dtype(), op.kernelName());
            widened(wide, d.dtype() == DType.BOOL ? DType.BOOL : wide, new CudaStorage[] {s}, new Layout[] {srcLayout}, d, dstLayout,
                    (in, inL, out, outL) -> unary(op, p0, p1, in[0], inL[0], out, outL));
            return;
        }
        KernelGeometry g = strided(dstLayout.shape(), dstLayout.strides(), srcLayout.strides());
        launch(name, g.numel(), KernelArgs.create().pointer(d.address(dstLayout.offset())).pointer(s.address(srcLayout.offset()))
                .geometry(g).f64(p0).f64(p1), s, d);
    }

    @Override
    public void binary(BinaryOp op, Storage a, Layout aLayout, Storage b, Layout bLayout, Storage dst, Layout dstLayout) {
        CudaStorage x = cuda(a);
        CudaStorage y = cuda(b);
        CudaStorage d = cuda(dst);
        String name = "kiln_binary_" + op.kernelName() + "_" + suffix(x.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            DType wide = wider(x.dtype(), op.kernelName());
            widened(wide, op.isComparison() ? DType.BOOL : wide, new CudaStorage[] {x, y}, new Layout[] {aLayout, bLayout},
                    d, dstLayout, (in, inL, out, outL) -> binary(op, in[0], inL[0], in[1], inL[1], out, outL));
            return;
        }
        KernelGeometry g = strided(dstLayout.shape(), dstLayout.strides(), aLayout.strides(), bLayout.strides());
        launch(name, g.numel(), KernelArgs.create().pointer(d.address(dstLayout.offset())).pointer(x.address(aLayout.offset()))
                .pointer(y.address(bLayout.offset())).geometry(g), x, y, d);
    }

    @Override
    public void where(Storage cond, Layout condLayout, Storage a, Layout aLayout, Storage b, Layout bLayout,
                      Storage dst, Layout dstLayout) {
        CudaStorage c = cuda(cond);
        CudaStorage x = cuda(a);
        CudaStorage y = cuda(b);
        CudaStorage d = cuda(dst);
        KernelGeometry g = strided(dstLayout.shape(), dstLayout.strides(), condLayout.strides(), aLayout.strides(), bLayout.strides());
        launch("kiln_where_" + suffix(d.dtype()), g.numel(), KernelArgs.create().pointer(d.address(dstLayout.offset()))
                .pointer(c.address(condLayout.offset())).pointer(x.address(aLayout.offset())).pointer(y.address(bLayout.offset()))
                .geometry(g), c, x, y, d);
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public void reduce(ReduceOp op, Storage src, Layout srcLayout, int[] dims, Storage dst, Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        ReduceOp kernelOp = op;
        if (s.dtype() == DType.BOOL && (op == ReduceOp.MAX || op == ReduceOp.MIN)) {
            kernelOp = op == ReduceOp.MAX ? ReduceOp.ANY : ReduceOp.ALL;
        }
        String name = "kiln_reduce_" + kernelOp.kernelName() + "_" + suffix(s.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            DType wide = wider(s.dtype(), kernelOp.kernelName());
            DType out = d.dtype() == s.dtype() ? wide : d.dtype();
            ReduceOp o = kernelOp;
            widened(wide, out, new CudaStorage[] {s}, new Layout[] {srcLayout}, d, dstLayout,
                    (in, inL, t, tL) -> reduce(o, in[0], inL[0], dims, t, tL));
            return;
        }
        int rank = srcLayout.rank();
        boolean[] reduced = new boolean[rank];
        for (int dim : dims) {
            reduced[dim] = true;
        }
        int kept = rank - dims.length;
        long[] outerShape = new long[kept];
        long[] outerDst = new long[kept];
        long[] outerSrc = new long[kept];
        long[] innerShape = new long[dims.length];
        long[] innerSrc = new long[dims.length];
        for (int i = 0, o = 0, r = 0; i < rank; i++) {
            if (reduced[i]) {
                innerShape[r] = srcLayout.size(i);
                innerSrc[r++] = srcLayout.stride(i);
            } else {
                outerShape[o] = srcLayout.size(i);
                outerDst[o] = dstLayout.stride(i);
                outerSrc[o++] = srcLayout.stride(i);
            }
        }
        KernelGeometry outer = strided(outerShape, outerDst, outerSrc);
        KernelGeometry inner = strided(innerShape, new long[innerShape.length], innerSrc);
        if (outer.numel() == 0) {
            return;
        }
        launchRows(name, outer.numel(), inner.numel(), KernelArgs.create().pointer(d.address(dstLayout.offset()))
                .pointer(s.address(srcLayout.offset())).geometry(outer).geometry(inner).f64(0), s, d);
    }

    @Override
    public void softmax(boolean log, int dim, Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        String name = "kiln_" + (log ? "log_softmax_" : "softmax_") + suffix(s.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            DType wide = wider(s.dtype(), "softmax");
            widened(wide, wide, new CudaStorage[] {s}, new Layout[] {srcLayout}, d, dstLayout,
                    (in, inL, t, tL) -> softmax(log, dim, in[0], inL[0], t, tL));
            return;
        }
        long[] shape = remove(srcLayout.shape(), dim);
        KernelGeometry outer = strided(shape, remove(dstLayout.strides(), dim), remove(srcLayout.strides(), dim));
        long n = srcLayout.size(dim);
        if (outer.numel() == 0 || n == 0) {
            return;
        }
        launchRows(name, outer.numel(), n, KernelArgs.create().pointer(d.address(dstLayout.offset())).pointer(s.address(srcLayout.offset()))
                .geometry(outer).i64(n).i64(srcLayout.stride(dim)).i64(dstLayout.stride(dim)), s, d);
    }

    // ------------------------------------------------------------------ matrix product

    @Override
    public void matmul(Storage a, Layout aLayout, Storage b, Layout bLayout, Storage c, Layout cLayout) {
        CudaStorage x = cuda(a);
        CudaStorage y = cuda(b);
        CudaStorage z = cuda(c);
        DType t = z.dtype();
        if (t != DType.FLOAT32 && t != DType.FLOAT64) {
            // cuBLAS has no int64 GEMM and the float16 path is not wired: multiply in a wider float.
            DType wide = t == DType.FLOAT16 || t == DType.BFLOAT16 ? DType.FLOAT32 : DType.FLOAT64;
            widened(wide, wide, new CudaStorage[] {x, y}, new Layout[] {aLayout, bLayout}, z, cLayout,
                    (in, inL, out, outL) -> matmul(in[0], inL[0], in[1], inL[1], out, outL));
            return;
        }
        new Gemm(this).run(x, aLayout, y, bLayout, z, cLayout);
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public void gather(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst, Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage i = cuda(index);
        CudaStorage d = cuda(dst);
        Layout sl = rank1(srcLayout);
        Layout il = rank1(indexLayout);
        Layout dl = rank1(dstLayout);
        checkIndices("gather", i, il, sl.size(dim), dim);
        KernelGeometry g = KernelGeometry.of(il.shape(), dl.strides(), sl.strides(), il.strides());
        launch("kiln_gather_" + suffix(s.dtype()), g.numel(), KernelArgs.create().pointer(d.address(dl.offset()))
                .pointer(s.address(sl.offset())).pointer(i.address(il.offset())).geometry(g).i64(dim).i64(sl.size(dim)).i64(sl.stride(dim)),
                s, i, d);
    }

    @Override
    public void scatter(int dim, boolean accumulate, Storage index, Layout indexLayout, Storage src, Layout srcLayout,
                        Storage dst, Layout dstLayout) {
        CudaStorage i = cuda(index);
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        Layout il = rank1(indexLayout);
        Layout sl = rank1(srcLayout);
        Layout dl = rank1(dstLayout);
        String name = (accumulate ? "kiln_scatter_add_" : "kiln_scatter_") + suffix(d.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            DType wide = wider(d.dtype(), "scatter_add");
            // In place on dst: work on a widened copy of dst, then cast it back.
            widenedInPlace(wide, new CudaStorage[] {s}, new Layout[] {sl}, d, dl,
                    (in, inL, t, tL) -> scatter(dim, accumulate, i, il, in[0], inL[0], t, tL));
            return;
        }
        checkIndices(accumulate ? "scatterAdd" : "scatter", i, il, dl.size(dim), dim);
        KernelGeometry g = KernelGeometry.of(il.shape(), dl.strides(), il.strides(), sl.strides());
        launch(name, g.numel(), KernelArgs.create().pointer(d.address(dl.offset())).pointer(i.address(il.offset()))
                .pointer(s.address(sl.offset())).geometry(g).i64(dim).i64(dl.size(dim)).i64(dl.stride(dim)), s, i, d);
    }

    @Override
    public void indexSelect(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst,
                            Layout dstLayout) {
        CudaStorage s = cuda(src);
        CudaStorage i = cuda(index);
        CudaStorage d = cuda(dst);
        Layout sl = rank1(srcLayout);
        Layout dl = rank1(dstLayout);
        Layout il = rank1(indexLayout);
        checkIndices("indexSelect", i, il, sl.size(dim), dim);
        KernelGeometry g = KernelGeometry.of(dl.shape(), dl.strides(), sl.strides());
        launch("kiln_index_select_" + suffix(s.dtype()), g.numel(), KernelArgs.create().pointer(d.address(dl.offset()))
                .pointer(s.address(sl.offset())).pointer(i.address(il.offset())).geometry(g).i64(dim).i64(sl.size(dim))
                .i64(sl.stride(dim)).i64(il.stride(0)), s, i, d);
    }

    @Override
    public void indexAdd(int dim, Storage index, Layout indexLayout, Storage src, Layout srcLayout, Storage dst,
                         Layout dstLayout) {
        CudaStorage i = cuda(index);
        CudaStorage s = cuda(src);
        CudaStorage d = cuda(dst);
        Layout il = rank1(indexLayout);
        Layout sl = rank1(srcLayout);
        Layout dl = rank1(dstLayout);
        String name = "kiln_index_add_" + suffix(d.dtype());
        if (!KernelCatalog.standard().contains(name)) {
            DType wide = wider(d.dtype(), "index_add");
            widenedInPlace(wide, new CudaStorage[] {s}, new Layout[] {sl}, d, dl,
                    (in, inL, t, tL) -> indexAdd(dim, i, il, in[0], inL[0], t, tL));
            return;
        }
        checkIndices("indexAdd", i, il, dl.size(dim), dim);
        KernelGeometry g = KernelGeometry.of(sl.shape(), dl.strides(), new long[sl.rank()], sl.strides());
        launch(name, g.numel(), KernelArgs.create().pointer(d.address(dl.offset())).pointer(i.address(il.offset()))
                .pointer(s.address(sl.offset())).geometry(g).i64(dim).i64(dl.size(dim)).i64(dl.stride(dim)).i64(il.stride(0)),
                s, i, d);
    }

    /**
     * Kernels cannot raise, so indices are checked here, as the CPU backend checks them: their
     * minimum and maximum are reduced on the device and only those two numbers come to the host.
     */
    private void checkIndices(String op, CudaStorage index, Layout layout, long size, int dim) {
        if (layout.numel() == 0) {
            return;
        }
        CudaStorage range = allocate(DType.INT64, 2);
        try {
            int[] all = new int[layout.rank()];
            Arrays.setAll(all, k -> k);
            long[] one = new long[layout.rank()];
            Arrays.fill(one, 1);
            Layout first = new Layout(one, Layout.contiguousStrides(one), 0);
            Layout second = new Layout(one, Layout.contiguousStrides(one), 1);
            reduce(ReduceOp.MIN, index, layout, all, range, first);
            reduce(ReduceOp.MAX, index, layout, all, range, second);
            long[] mm = new long[2];
            toHost(range, Layout.contiguous(2), mm);
            long bad = mm[0] < 0 ? mm[0] : mm[1] >= size ? mm[1] : -1;
            if (mm[0] < 0 || mm[1] >= size) {
                throw new IndexOutOfBoundsException(op + ": index " + bad + " is out of bounds for dim " + dim + " with size " + size);
            }
        } finally {
            range.free();
        }
    }

    // ------------------------------------------------------------------ random numbers

    @Override
    public void uniform(Storage dst, Layout layout, long seed, long offset, double lo, double hi) {
        random("kiln_rand_uniform_", cuda(dst), layout, seed, offset, lo, hi);
    }

    @Override
    public void normal(Storage dst, Layout layout, long seed, long offset, double mean, double std) {
        random("kiln_rand_normal_", cuda(dst), layout, seed, offset, mean, std);
    }

    /** The Philox kernels write contiguous float32/float64 arrays; other layouts and types go through a copy. */
    private void random(String kernel, CudaStorage d, Layout layout, long seed, long offset, double a, double b) {
        DType t = d.dtype();
        if ((t == DType.FLOAT32 || t == DType.FLOAT64) && layout.isContiguous()) {
            long n = layout.numel();
            launch(kernel + suffix(t), n, KernelArgs.create().pointer(d.address(layout.offset())).i64(n).i64(seed).i64(offset)
                    .f64(a).f64(b), d);
            return;
        }
        DType wide = t == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
        CudaStorage tmp = allocate(wide, layout.numel());
        try {
            Layout c = Layout.contiguous(layout.shape());
            random(kernel, tmp, c, seed, offset, a, b);
            cast(tmp, c, d, layout);
        } finally {
            tmp.free();
        }
    }

    // ------------------------------------------------------------------ convolution

    @Override
    public void im2col(Storage src, Layout srcLayout, ConvGeometry g, double padValue, Storage dst, Layout dstLayout) {
        conv("kiln_im2col_", cuda(src), srcLayout, g, dstLayout.shape(), cuda(dst), dstLayout, padValue, true);
    }

    @Override
    public void col2im(Storage src, Layout srcLayout, ConvGeometry g, Storage dst, Layout dstLayout) {
        conv("kiln_col2im_", cuda(src), srcLayout, g, dstLayout.shape(), cuda(dst), dstLayout, 0, false);
    }

    /** im2col/col2im over contiguous float32/float64 operands; anything else goes through copies. */
    private void conv(String kernel, CudaStorage s, Layout sl, ConvGeometry g, long[] dstShape, CudaStorage d, Layout dl,
                      double pad, boolean forward) {
        DType t = d.dtype();
        boolean direct = (t == DType.FLOAT32 || t == DType.FLOAT64) && sl.isContiguous() && dl.isContiguous();
        if (!direct) {
            DType wide = t == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
            CudaStorage in = allocate(wide, sl.numel());
            CudaStorage out = allocate(wide, dl.numel());
            try {
                Layout cin = Layout.contiguous(sl.shape());
                Layout cout = Layout.contiguous(dl.shape());
                cast(s, sl, in, cin);
                conv(kernel, in, cin, g, dstShape, out, cout, pad, forward);
                cast(out, cout, d, dl);
            } finally {
                in.free();
                out.free();
            }
            return;
        }
        long[] im = forward ? sl.shape() : dl.shape();
        long n = im[0];
        long c = im[1];
        KernelArgs args = KernelArgs.create().pointer(d.address(dl.offset())).pointer(s.address(sl.offset()))
                .i64(n).i64(c).i64(g.h()).i64(g.w()).i64(g.kh()).i64(g.kw()).i64(g.sh()).i64(g.sw())
                .i64(g.ph()).i64(g.pw()).i64(g.dh()).i64(g.dw()).i64(g.outH()).i64(g.outW());
        if (forward) {
            args.f64(pad);
        }
        launch(kernel + suffix(t), dl.numel(), args, s, d);
    }

    /**
     * One thread per output element scans its window (padding as minus infinity, the first
     * maximum or NaN wins) and writes the window position {@code ky * kw + kx} as argmax.
     */
    @Override
    public void maxPool2d(Storage src, Layout srcLayout, ConvGeometry g, Storage values, Layout valuesLayout,
                          Storage argmax, Layout argmaxLayout) {
        CudaStorage s = cuda(src);
        CudaStorage v = cuda(values);
        CudaStorage a = cuda(argmax);
        DType wide = s.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
        if (s.dtype() != wide || v.dtype() != wide || !srcLayout.isContiguous() || !valuesLayout.isContiguous()
                || !argmaxLayout.isContiguous()) {
            Layout cin = Layout.contiguous(srcLayout.shape());
            Layout cout = Layout.contiguous(valuesLayout.shape());
            CudaStorage in = allocate(wide, cin.numel());
            CudaStorage out = allocate(wide, cout.numel());
            CudaStorage idx = allocate(DType.INT64, cout.numel());
            try {
                cast(s, srcLayout, in, cin);
                maxPool2d(in, cin, g, out, cout, idx, cout);
                cast(out, cout, v, valuesLayout);
                cast(idx, cout, a, argmaxLayout);
            } finally {
                in.free();
                out.free();
                idx.free();
            }
            return;
        }
        KernelArgs args = KernelArgs.create().pointer(v.address(valuesLayout.offset())).pointer(a.address(argmaxLayout.offset()))
                .pointer(s.address(srcLayout.offset()));
        launch(KernelCatalog.maxPool2dForward(KernelDType.forName(wide.name())), valuesLayout.numel(),
                poolSizes(args, srcLayout.size(0), srcLayout.size(1), g), s, v, a);
    }

    /**
     * Each input element gathers the gradients of the windows whose argmax it is, so overlapping
     * windows (stride below the kernel) accumulate without atomics and deterministically.
     */
    @Override
    public void maxPool2dBackward(Storage grad, Layout gradLayout, Storage argmax, Layout argmaxLayout, ConvGeometry g,
                                  Storage dst, Layout dstLayout) {
        CudaStorage gr = cuda(grad);
        CudaStorage a = cuda(argmax);
        CudaStorage d = cuda(dst);
        DType wide = d.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
        if (gr.dtype() != wide || d.dtype() != wide || !gradLayout.isContiguous() || !argmaxLayout.isContiguous()
                || !dstLayout.isContiguous()) {
            Layout cg = Layout.contiguous(gradLayout.shape());
            Layout cd = Layout.contiguous(dstLayout.shape());
            CudaStorage gin = allocate(wide, cg.numel());
            CudaStorage idx = allocate(DType.INT64, cg.numel());
            CudaStorage out = allocate(wide, cd.numel());
            try {
                cast(gr, gradLayout, gin, cg);
                cast(a, argmaxLayout, idx, cg);
                maxPool2dBackward(gin, cg, idx, cg, g, out, cd);
                cast(out, cd, d, dstLayout);
            } finally {
                gin.free();
                idx.free();
                out.free();
            }
            return;
        }
        KernelArgs args = KernelArgs.create().pointer(d.address(dstLayout.offset())).pointer(gr.address(gradLayout.offset()))
                .pointer(a.address(argmaxLayout.offset()));
        launch(KernelCatalog.maxPool2dBackward(KernelDType.forName(wide.name())), dstLayout.numel(),
                poolSizes(args, dstLayout.size(0), dstLayout.size(1), g), gr, a, d);
    }

    /** Appends the sizes every pooling kernel takes after its pointers: n, c, h, w, kernel, stride, padding, dilation, output. */
    private static KernelArgs poolSizes(KernelArgs args, long n, long c, ConvGeometry g) {
        return args.i64(n).i64(c).i64(g.h()).i64(g.w()).i64(g.kh()).i64(g.kw()).i64(g.sh()).i64(g.sw())
                .i64(g.ph()).i64(g.pw()).i64(g.dh()).i64(g.dw()).i64(g.outH()).i64(g.outW());
    }

    // ------------------------------------------------------------------ launching

    /** Launches an elementwise kernel over {@code n} elements; nothing when {@code n} is 0. */
    void launch(String name, long n, KernelArgs args, CudaStorage... keepAlive) {
        if (n > 0) {
            long blocks = Math.min((n + BLOCK - 1) / BLOCK, MAX_GRID);
            driver.launch(ordinal, name, (int) blocks, BLOCK, args);
        }
        // The addresses in args stay valid only while their storages are reachable.
        Reference.reachabilityFence(keepAlive);
    }

    /** Launches a kernel that gives one block to each of {@code rows} rows of {@code rowLength} elements. */
    private void launchRows(String name, long rows, long rowLength, KernelArgs args, CudaStorage... keepAlive) {
        int block = 32;
        while (block < 256 && block < rowLength) {
            block *= 2;
        }
        driver.launch(ordinal, name, (int) Math.min(rows, 65535), block, args);
        Reference.reachabilityFence(keepAlive);
    }

    // ------------------------------------------------------------------ widening

    /** Computes into {@code out} (a contiguous storage of the wide type) from contiguous wide inputs. */
    @FunctionalInterface
    private interface WideOp {
        void run(CudaStorage[] in, Layout[] inLayouts, CudaStorage out, Layout outLayout);
    }

    /**
     * Runs {@code op} on copies of the inputs converted to {@code inType}, into a temporary of
     * {@code outType}, and converts the result into {@code dst}.
     */
    private void widened(DType inType, DType outType, CudaStorage[] inputs, Layout[] layouts, CudaStorage dst, Layout dstLayout,
                         WideOp op) {
        widened(inType, outType, false, inputs, layouts, dst, dstLayout, op);
    }

    /** As {@link #widened}, for ops that update {@code dst} in place: the temporary starts as a copy of it. */
    private void widenedInPlace(DType type, CudaStorage[] inputs, Layout[] layouts, CudaStorage dst, Layout dstLayout, WideOp op) {
        widened(type, type, true, inputs, layouts, dst, dstLayout, op);
    }

    private void widened(DType inType, DType outType, boolean inPlace, CudaStorage[] inputs, Layout[] layouts, CudaStorage dst,
                         Layout dstLayout, WideOp op) {
        CudaStorage[] wide = new CudaStorage[inputs.length];
        Layout[] wideLayouts = new Layout[inputs.length];
        CudaStorage out = null;
        try {
            for (int k = 0; k < inputs.length; k++) {
                wideLayouts[k] = Layout.contiguous(layouts[k].shape());
                wide[k] = allocate(inType, layouts[k].numel());
                cast(inputs[k], layouts[k], wide[k], wideLayouts[k]);
            }
            Layout ol = Layout.contiguous(dstLayout.shape());
            out = allocate(outType, dstLayout.numel());
            if (inPlace) {
                cast(dst, dstLayout, out, ol);
            }
            op.run(wide, wideLayouts, out, ol);
            cast(out, ol, dst, dstLayout);
        } finally {
            for (CudaStorage w : wide) {
                if (w != null) {
                    w.free();
                }
            }
            if (out != null) {
                out.free();
            }
        }
    }

    /** The type an op without a kernel for {@code t} runs in. */
    private static DType wider(DType t, String what) {
        return switch (t) {
            case FLOAT16, BFLOAT16 -> DType.FLOAT32;
            case BOOL -> DType.INT64;
            case INT64 -> DType.FLOAT64;
            default -> throw new UnsupportedOperationException("CUDA backend: no kernel for " + what + " on " + t);
        };
    }

    // ------------------------------------------------------------------ helpers

    /** The dtype part of kernel names. */
    static String suffix(DType t) {
        return KernelDType.forName(t.name()).suffix();
    }

    /** The geometry of an elementwise launch, with size-1 dims dropped and contiguous dims merged. */
    private static KernelGeometry strided(long[] shape, long[]... operandStrides) {
        return KernelGeometry.of(shape, operandStrides).coalesced();
    }

    private static Layout rank1(Layout l) {
        return l.rank() == 0 ? new Layout(new long[] {1}, new long[] {1}, l.offset()) : l;
    }

    private static long[] remove(long[] a, int i) {
        long[] r = new long[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    // ------------------------------------------------------------------ cuDNN convolution, where it loaded

    @Override
    public void conv2d(Storage input, Layout inputLayout, Storage weight, Layout weightLayout, ConvGeometry g, int groups,
                       Storage out, Layout outLayout) {
        if (!CudnnConvolution.run(this, Cudnn.Pass.FORWARD, input, inputLayout, weight, weightLayout, out, outLayout, g, groups)) {
            Backend.super.conv2d(input, inputLayout, weight, weightLayout, g, groups, out, outLayout);
        }
    }

    @Override
    public void conv2dBackwardInput(Storage grad, Layout gradLayout, Storage weight, Layout weightLayout, ConvGeometry g,
                                    int groups, Storage dst, Layout dstLayout) {
        if (!CudnnConvolution.run(this, Cudnn.Pass.BACKWARD_DATA, dst, dstLayout, weight, weightLayout, grad, gradLayout, g,
                groups)) {
            Backend.super.conv2dBackwardInput(grad, gradLayout, weight, weightLayout, g, groups, dst, dstLayout);
        }
    }

    @Override
    public void conv2dBackwardWeight(Storage grad, Layout gradLayout, Storage input, Layout inputLayout, ConvGeometry g,
                                     int groups, Storage dst, Layout dstLayout) {
        if (!CudnnConvolution.run(this, Cudnn.Pass.BACKWARD_FILTER, input, inputLayout, dst, dstLayout, grad, gradLayout, g,
                groups)) {
            Backend.super.conv2dBackwardWeight(grad, gradLayout, input, inputLayout, g, groups, dst, dstLayout);
        }
    }

    @Override
    public void batchNormTraining(Storage x, Layout xLayout, BatchNormOperands p, double momentum, double eps, Storage out,
                                  Layout outLayout, Storage saveMean, Storage saveInvstd) {
        if (!CudnnBatchNorm.training(this, x, xLayout, p, momentum, eps, out, outLayout, saveMean, saveInvstd)) {
            Backend.super.batchNormTraining(x, xLayout, p, momentum, eps, out, outLayout, saveMean, saveInvstd);
        }
    }

    @Override
    public void batchNormInference(Storage x, Layout xLayout, BatchNormOperands p, double eps, Storage out, Layout outLayout) {
        if (!CudnnBatchNorm.inference(this, x, xLayout, p, eps, out, outLayout)) {
            Backend.super.batchNormInference(x, xLayout, p, eps, out, outLayout);
        }
    }

    @Override
    public void batchNormBackward(Storage grad, Layout gradLayout, Storage x, Layout xLayout, Storage weight,
                                  Layout weightLayout, Storage saveMean, Storage saveInvstd, Storage dx, Layout dxLayout,
                                  Storage dWeight, Storage dBias) {
        if (!CudnnBatchNorm.backward(this, grad, gradLayout, x, xLayout, weight, weightLayout, saveMean, saveInvstd, dx,
                dxLayout, dWeight, dBias)) {
            Backend.super.batchNormBackward(grad, gradLayout, x, xLayout, weight, weightLayout, saveMean, saveInvstd, dx,
                    dxLayout, dWeight, dBias);
        }
    }

    @Override
    public String toString() {
        return "CudaBackend(" + device + " via " + driver.name() + ")";
    }
}
