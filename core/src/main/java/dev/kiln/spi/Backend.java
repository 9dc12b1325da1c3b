package dev.kiln.spi;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Layout;

import java.nio.ByteBuffer;

/**
 * The device SPI: the few primitives from which core builds every tensor operation. Each kernel
 * takes storages with their {@link Layout}s, so a backend handles strided, broadcast (stride 0) and
 * offset views itself; outputs are written through their layout too. Core has already checked
 * shapes, dtypes and devices: a backend may assume its arguments are consistent.
 *
 * <p>Only the {@code fromHost}/{@code toHost} methods see Java arrays or host buffers; nothing else
 * may assume that a storage lives in host memory.
 */
public interface Backend {

    Device device();

    /** A new storage of {@code numel} elements with unspecified contents. */
    Storage allocate(DType dtype, long numel);

    /**
     * A new storage holding a copy of a host array: {@code float[]} for float32, {@code double[]}
     * for float64, {@code long[]} for int64, {@code boolean[]} for bool, {@code short[]} (raw bits)
     * for float16 and bfloat16.
     */
    Storage fromHost(Object array, DType dtype);

    /** A new storage of {@code numel} elements from little-endian bytes (safetensors data). */
    Storage fromHostBytes(ByteBuffer littleEndian, DType dtype, long numel);

    /**
     * Copies the elements of {@code layout}, in row-major order, into {@code array} (the Java type
     * that {@link #fromHost} takes for the storage's dtype), starting at index 0.
     */
    void toHost(Storage src, Layout layout, Object array);

    /** Writes the elements of {@code layout}, row-major, as little-endian bytes at the buffer's position. */
    void toHostBytes(Storage src, Layout layout, ByteBuffer littleEndian);

    /** {@code dst[dstLayout] = src[srcLayout]}, converting the dtype when the storages differ. */
    void copy(Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /** Sets every element of {@code layout} to {@code value} (converted to the dtype). */
    void fill(Storage dst, Layout layout, double value);

    /** {@code dst = op(src)}; {@code p0}, {@code p1} are the op's scalar parameters ({@link UnaryOp}). */
    void unary(UnaryOp op, double p0, double p1, Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /**
     * {@code dst = a op b}. All three layouts have the output's shape. For arithmetic ops the three
     * storages share one dtype; comparisons read two operands of one dtype and write bool.
     */
    void binary(BinaryOp op, Storage a, Layout aLayout, Storage b, Layout bLayout, Storage dst, Layout dstLayout);

    /** {@code dst = cond ? a : b}, cond bool, all layouts of the output's shape. */
    void where(Storage cond, Layout condLayout, Storage a, Layout aLayout, Storage b, Layout bLayout,
               Storage dst, Layout dstLayout);

    /**
     * Reduces {@code src} over the sorted {@code dims} into {@code dst}, whose layout has
     * {@code src}'s shape with those dims set to 1. Sums and products of float types accumulate in
     * at least double precision on the CPU.
     */
    void reduce(ReduceOp op, Storage src, Layout srcLayout, int[] dims, Storage dst, Layout dstLayout);

    /** Softmax (or log-softmax) of {@code src} along {@code dim} into {@code dst} (same shape). */
    void softmax(boolean log, int dim, Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /**
     * Batched matrix product {@code c[b] = a[b] @ b[b]} over rank-3 layouts {@code [B, M, K]},
     * {@code [B, K, N]} and {@code [B, M, N]}; operand batch strides may be 0 (broadcast) and operands
     * may be transposed views.
     */
    void matmul(Storage a, Layout aLayout, Storage b, Layout bLayout, Storage c, Layout cLayout);

    /** {@code dst[i][j][k] = src[i][index[i][j][k]][k]} for {@code dim = 1} (and likewise for others). */
    void gather(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst, Layout dstLayout);

    /**
     * In place on {@code dst}: {@code dst[i][index[i][j][k]][k] = src[i][j][k]} (for {@code dim = 1}),
     * or {@code +=} when {@code accumulate}.
     */
    void scatter(int dim, boolean accumulate, Storage index, Layout indexLayout, Storage src, Layout srcLayout,
                 Storage dst, Layout dstLayout);

    /** {@code dst} = the slices of {@code src} along {@code dim} at the int64 1-D {@code index}. */
    void indexSelect(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst, Layout dstLayout);

    /** In place: {@code dst.select(dim, index[i]) += src.select(dim, i)} for every i. */
    void indexAdd(int dim, Storage index, Layout indexLayout, Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /**
     * Fills {@code layout} with uniform numbers in {@code [lo, hi)} drawn from Philox blocks
     * {@code offset, offset + 1, ...} under {@code seed}, as {@link dev.kiln.Philox} lays out.
     */
    void uniform(Storage dst, Layout layout, long seed, long offset, double lo, double hi);

    /** Fills {@code layout} with normal numbers, as {@link dev.kiln.Philox} lays out. */
    void normal(Storage dst, Layout layout, long seed, long offset, double mean, double std);

    /**
     * Unfolds sliding windows: {@code src} {@code [N, C, H, W]} into {@code dst}
     * {@code [N, C * kh * kw, outH * outW]}; positions in the padding read {@code padValue}.
     */
    void im2col(Storage src, Layout srcLayout, ConvGeometry geometry, double padValue, Storage dst, Layout dstLayout);

    /**
     * The adjoint of {@link #im2col}: sums the columns of {@code src} {@code [N, C * kh * kw, L]}
     * back into {@code dst} {@code [N, C, H, W]}, which it overwrites.
     */
    void col2im(Storage src, Layout srcLayout, ConvGeometry geometry, Storage dst, Layout dstLayout);

    /**
     * Max pooling of {@code src} {@code [N, C, H, W]} into {@code values} {@code [N, C, outH, outW]},
     * with {@code argmax} (int64, same shape) the position of each window's first maximum within the
     * window ({@code ky * kw + kx}); padding counts as minus infinity and NaN wins. The default
     * composes {@link #im2col}, an ARGMAX reduction and {@link #gather}; backends override it with a
     * direct kernel.
     */
    default void maxPool2d(Storage src, Layout srcLayout, ConvGeometry g, Storage values, Layout valuesLayout,
                           Storage argmax, Layout argmaxLayout) {
        long planes = srcLayout.size(0) * srcLayout.size(1);
        long kk = (long) g.kh() * g.kw();
        long l = g.outH() * g.outW();
        Storage dense = allocate(src.dtype(), srcLayout.numel());
        copy(src, srcLayout, dense, Layout.contiguous(srcLayout.shape()));
        Storage cols = allocate(src.dtype(), planes * kk * l);
        Layout colsLayout = Layout.contiguous(planes, kk, l);
        im2col(dense, Layout.contiguous(planes, 1, g.h(), g.w()), g, Double.NEGATIVE_INFINITY, cols, colsLayout);
        Layout idx = new Layout(new long[] {planes, 1, l}, new long[] {l, l, 1}, 0);
        Storage index = allocate(DType.INT64, planes * l);
        reduce(ReduceOp.ARGMAX, cols, colsLayout, new int[] {1}, index, idx);
        copy(index, idx, argmax, asPlanes(argmaxLayout, planes, l));
        gather(1, cols, colsLayout, index, idx, values, asPlanes(valuesLayout, planes, l));
        index.free();
        cols.free();
        dense.free();
    }

    /**
     * The gradient of {@link #maxPool2d}: {@code dst} {@code [N, C, H, W]} (overwritten) receives
     * each window's gradient at its argmax. The default scatters into columns and folds them with
     * {@link #col2im}.
     */
    default void maxPool2dBackward(Storage grad, Layout gradLayout, Storage argmax, Layout argmaxLayout, ConvGeometry g,
                                   Storage dst, Layout dstLayout) {
        long planes = dstLayout.size(0) * dstLayout.size(1);
        long kk = (long) g.kh() * g.kw();
        long l = g.outH() * g.outW();
        Storage cols = allocate(grad.dtype(), planes * kk * l);
        Layout colsLayout = Layout.contiguous(planes, kk, l);
        fill(cols, colsLayout, 0);
        Storage index = allocate(DType.INT64, planes * l);
        Storage g2 = allocate(grad.dtype(), planes * l);
        Layout dense = Layout.contiguous(planes, 1, l);
        copy(argmax, asPlanes(argmaxLayout, planes, l), index, dense);
        copy(grad, asPlanes(gradLayout, planes, l), g2, dense);
        scatter(1, true, index, dense, g2, dense, cols, colsLayout);
        Storage out = allocate(grad.dtype(), planes * g.h() * g.w());
        col2im(cols, colsLayout, g, out, Layout.contiguous(planes, 1, g.h(), g.w()));
        copy(out, Layout.contiguous(dstLayout.shape()), dst, dstLayout);
        out.free();
        g2.free();
        index.free();
        cols.free();
    }

    /**
     * 2-D convolution (cross-correlation, as PyTorch) without bias: {@code input} {@code [N, C, H, W]}
     * with {@code weight} {@code [O, C / groups, kh, kw]} over the windows of {@code g} into
     * {@code out} {@code [N, O, outH, outW]}. All three share one floating dtype; any layout.
     *
     * <p>The default unfolds the input with {@link #im2col} into columns held as
     * {@code [groups, K, N * L]} ({@code K = C / groups * kh * kw}, {@code L = outH * outW}) and
     * computes one batched {@link #matmul} over the groups,
     * {@code [groups, O / groups, K] @ [groups, K, N * L]}: for one group that is a single GEMM over
     * the whole batch. Backends override it with a library convolution (cuDNN) or a direct kernel.
     */
    default void conv2d(Storage input, Layout inputLayout, Storage weight, Layout weightLayout, ConvGeometry g, int groups,
                        Storage out, Layout outLayout) {
        ConvSizes s = ConvSizes.of(inputLayout.size(0), inputLayout.size(1), weightLayout.size(0), g, groups);
        Storage cols = convColumns(this, input, inputLayout, g, s);
        ContiguousOperand w = ContiguousOperand.of(this, weight, weightLayout);
        Storage prod = allocate(input.dtype(), s.o() * s.n() * s.l());
        matmul(w.storage(), new Layout(new long[] {groups, s.og(), s.k()}, new long[] {s.og() * s.k(), s.k(), 1}, w.offset()),
                cols, Layout.contiguous(groups, s.k(), s.n() * s.l()), prod, Layout.contiguous(groups, s.og(), s.n() * s.l()));
        copy(prod, s.channelMajor(s.o(), g), out, outLayout);
        prod.free();
        w.release();
        cols.free();
    }

    /**
     * The gradient of {@link #conv2d} with respect to its input: {@code dst} {@code [N, C, H, W]}
     * (overwritten) from {@code grad} {@code [N, O, outH, outW]} and {@code weight}
     * {@code [O, C / groups, kh, kw]}. This is also the transposed convolution. The default
     * multiplies {@code [groups, K, O / groups] @ [groups, O / groups, N * L]} (the weight read
     * transposed) and folds the columns back with {@link #col2im}.
     */
    default void conv2dBackwardInput(Storage grad, Layout gradLayout, Storage weight, Layout weightLayout, ConvGeometry g,
                                     int groups, Storage dst, Layout dstLayout) {
        ConvSizes s = ConvSizes.of(dstLayout.size(0), dstLayout.size(1), weightLayout.size(0), g, groups);
        Storage gd = convGradColumns(this, grad, gradLayout, g, s);
        ContiguousOperand w = ContiguousOperand.of(this, weight, weightLayout);
        Storage cols = allocate(grad.dtype(), groups * s.k() * s.n() * s.l());
        matmul(w.storage(), new Layout(new long[] {groups, s.k(), s.og()}, new long[] {s.og() * s.k(), 1, s.k()}, w.offset()),
                gd, Layout.contiguous(groups, s.og(), s.n() * s.l()), cols, Layout.contiguous(groups, s.k(), s.n() * s.l()));
        col2im(cols, s.columnsView(), g, dst, dstLayout);
        cols.free();
        w.release();
        gd.free();
    }

    /**
     * The gradient of {@link #conv2d} with respect to its weight: {@code dst}
     * {@code [O, C / groups, kh, kw]} (overwritten) from {@code grad} {@code [N, O, outH, outW]} and
     * {@code input} {@code [N, C, H, W]}. The default multiplies
     * {@code [groups, O / groups, N * L] @ [groups, N * L, K]} (the input's columns read transposed),
     * so the batch and the window positions form one long inner dimension.
     */
    default void conv2dBackwardWeight(Storage grad, Layout gradLayout, Storage input, Layout inputLayout, ConvGeometry g,
                                      int groups, Storage dst, Layout dstLayout) {
        ConvSizes s = ConvSizes.of(inputLayout.size(0), inputLayout.size(1), gradLayout.size(1), g, groups);
        Storage cols = convColumns(this, input, inputLayout, g, s);
        Storage gd = convGradColumns(this, grad, gradLayout, g, s);
        long nl = s.n() * s.l();
        Layout colsT = new Layout(new long[] {groups, nl, s.k()}, new long[] {s.k() * nl, 1, nl}, 0);
        Layout gl = Layout.contiguous(groups, s.og(), nl);
        if (dstLayout.isContiguous()) {
            matmul(gd, gl, cols, colsT, dst, new Layout(new long[] {groups, s.og(), s.k()},
                    new long[] {s.og() * s.k(), s.k(), 1}, dstLayout.offset()));
        } else {
            Storage t = allocate(grad.dtype(), s.o() * s.k());
            matmul(gd, gl, cols, colsT, t, Layout.contiguous(groups, s.og(), s.k()));
            copy(t, Layout.contiguous(dstLayout.shape()), dst, dstLayout);
            t.free();
        }
        gd.free();
        cols.free();
    }

    /** The input's im2col columns, stored {@code [groups, K, N * L]}; the caller frees them. */
    private static Storage convColumns(Backend b, Storage input, Layout inputLayout, ConvGeometry g, ConvSizes s) {
        Storage cols = b.allocate(input.dtype(), s.groups() * s.k() * s.n() * s.l());
        b.im2col(input, inputLayout, g, 0, cols, s.columnsView());
        return cols;
    }

    /** {@code grad} {@code [N, O, outH, outW]} copied channel-major, {@code [groups, O / groups, N * L]}. */
    private static Storage convGradColumns(Backend b, Storage grad, Layout gradLayout, ConvGeometry g, ConvSizes s) {
        Storage gd = b.allocate(grad.dtype(), s.o() * s.n() * s.l());
        b.copy(grad, gradLayout, gd, s.channelMajor(s.o(), g));
        return gd;
    }

    /** A {@code [N, C, oh, ow]} layout seen as {@code [N*C, 1, oh*ow]}; it must be contiguous. */
    private static Layout asPlanes(Layout l, long planes, long perPlane) {
        if (!l.isContiguous()) {
            throw new IllegalArgumentException("maxPool2d: expected a contiguous layout, got " + l);
        }
        return new Layout(new long[] {planes, 1, perPlane}, new long[] {perPlane, perPlane, 1}, l.offset());
    }

    // ------------------------------------------------------------------ fused kernels (issue 9)
    // Each default composes the primitives above, so every backend has them; a backend overrides
    // them with one pass over memory. Core calls them only outside autograd recording.

    /**
     * The gradient of an activation from its saved output {@code out}, all layouts of one shape:
     * {@code dst = grad * sign(out)} for {@link UnaryOp#RELU} (out is never negative),
     * {@code (grad * out) * (1 - out)} for {@link UnaryOp#SIGMOID} and {@code grad * (1 - out * out)}
     * for {@link UnaryOp#TANH}, each operation rounded to the dtype as written. Other ops throw
     * {@link UnsupportedOperationException}.
     */
    default void activationBackward(UnaryOp op, Storage grad, Layout gradLayout, Storage out, Layout outLayout,
                                    Storage dst, Layout dstLayout) {
        long[] shape = outLayout.shape();
        Layout dense = Layout.contiguous(shape);
        Storage t = allocate(out.dtype(), outLayout.numel());
        switch (op) {
            case RELU -> {
                unary(UnaryOp.SIGN, 0, 0, out, outLayout, t, dense);
                binary(BinaryOp.MUL, grad, gradLayout, t, dense, dst, dstLayout);
            }
            case SIGMOID, TANH -> {
                Storage one = allocate(out.dtype(), 1);
                Layout scalar = Layout.contiguous().broadcastTo(shape);
                fill(one, Layout.contiguous(), 1);
                Storage u = allocate(out.dtype(), outLayout.numel());
                if (op == UnaryOp.SIGMOID) {
                    binary(BinaryOp.MUL, grad, gradLayout, out, outLayout, t, dense);
                    binary(BinaryOp.SUB, one, scalar, out, outLayout, u, dense);
                    binary(BinaryOp.MUL, t, dense, u, dense, dst, dstLayout);
                } else {
                    unary(UnaryOp.SQUARE, 0, 0, out, outLayout, t, dense);
                    binary(BinaryOp.SUB, one, scalar, t, dense, u, dense);
                    binary(BinaryOp.MUL, grad, gradLayout, u, dense, dst, dstLayout);
                }
                u.free();
                one.free();
            }
            default -> {
                t.free();
                throw new UnsupportedOperationException("activationBackward: no fused gradient for " + op.kernelName());
            }
        }
        t.free();
    }

    /**
     * Batch normalization in training mode of {@code x} {@code [N, C, *]} over every dim but 1:
     * {@code saveMean} and {@code saveInvstd} (contiguous {@code [C]}, x's dtype) receive the batch
     * mean and {@code 1 / sqrt(var + eps)} of the biased variance, and
     * {@code out = (x - mean) * invstd * weight + bias} (absent weight/bias: 1 and 0). When
     * {@code p} has running statistics they are updated in place as PyTorch does:
     * {@code running = (1 - momentum) * running + momentum * stat}, the variance unbiased
     * ({@code var * M / (M - 1)} for {@code M} values per channel, {@code M > 1}). All operands share
     * x's dtype. The default composes the primitives above; a backend overrides it with a library
     * kernel (cuDNN).
     */
    default void batchNormTraining(Storage x, Layout xLayout, BatchNormOperands p, double momentum, double eps,
                                   Storage out, Layout outLayout, Storage saveMean, Storage saveInvstd) {
        BatchNormDefaults.training(this, x, xLayout, p, momentum, eps, out, outLayout, saveMean, saveInvstd);
    }

    /**
     * Batch normalization in evaluation mode: {@code out = (x - runningMean) / sqrt(runningVar + eps)
     * * weight + bias} per channel (dim 1); {@code p} must have running statistics.
     */
    default void batchNormInference(Storage x, Layout xLayout, BatchNormOperands p, double eps, Storage out,
                                    Layout outLayout) {
        BatchNormDefaults.inference(this, x, xLayout, p, eps, out, outLayout);
    }

    /**
     * The gradients of {@link #batchNormTraining} from the gradient {@code grad} of its output, the
     * input {@code x}, the weight (null when absent) and the saved statistics: {@code dx} (layout
     * of x's shape), {@code dWeight = sum(grad * xhat)} and {@code dBias = sum(grad)} (contiguous
     * {@code [C]}); each output may be null when not needed. With {@code xhat = (x - mean) * invstd}
     * and {@code M} values per channel:
     * {@code dx = (grad - sum(grad) / M - xhat * sum(grad * xhat) / M) * invstd * weight}.
     */
    default void batchNormBackward(Storage grad, Layout gradLayout, Storage x, Layout xLayout, Storage weight,
                                   Layout weightLayout, Storage saveMean, Storage saveInvstd, Storage dx, Layout dxLayout,
                                   Storage dWeight, Storage dBias) {
        BatchNormDefaults.backward(this, grad, gradLayout, x, xLayout, weight, weightLayout, saveMean, saveInvstd, dx,
                dxLayout, dWeight, dBias);
    }

    /**
     * One Adam or AdamW step, in place on {@code param}, {@code expAvg} and {@code expAvgSq}, all of
     * {@code grad}'s shape and one floating dtype. The arguments follow the CUDA kernel
     * {@code kiln_adam_step} ({@code kernels/src/main/cuda/nn.cu}); {@code biasCorrection1} and
     * {@code biasCorrection2} are {@code 1 - beta1^t} and {@code 1 - beta2^t} for step {@code t}.
     * Each operation is rounded to the dtype, in this order (Kiln's Adam, as torch.optim.Adam 1.13):
     * <pre>
     * g = maximize ? -grad : grad
     * decoupled (AdamW): param = param * (1 - lr * weightDecay); else if weightDecay != 0: g = g + param * weightDecay
     * expAvg   = expAvg * beta1 + g * (1 - beta1)
     * expAvgSq = expAvgSq * beta2 + (g * g) * (1 - beta2)
     * param    = param + (expAvg / (sqrt(expAvgSq) / sqrt(biasCorrection2) + eps)) * (-lr / biasCorrection1)
     * </pre>
     */
    default void adamStep(Storage param, Layout paramLayout, Storage grad, Layout gradLayout, Storage expAvg,
                          Layout expAvgLayout, Storage expAvgSq, Layout expAvgSqLayout, double lr, double beta1,
                          double beta2, double eps, double weightDecay, double biasCorrection1, double biasCorrection2,
                          boolean decoupled, boolean maximize) {
        long[] shape = paramLayout.shape();
        long n = paramLayout.numel();
        DType dtype = param.dtype();
        Layout dense = Layout.contiguous(shape);
        Layout scalar = Layout.contiguous().broadcastTo(shape);
        Storage s = allocate(dtype, 1);
        Storage g = allocate(dtype, n);
        Storage t = allocate(dtype, n);
        if (maximize) {
            unary(UnaryOp.NEG, 0, 0, grad, gradLayout, g, dense);
        } else {
            copy(grad, gradLayout, g, dense);
        }
        if (decoupled) {
            fill(s, Layout.contiguous(), 1 - lr * weightDecay);
            binary(BinaryOp.MUL, param, paramLayout, s, scalar, param, paramLayout);
        } else if (weightDecay != 0) {
            fill(s, Layout.contiguous(), weightDecay);
            binary(BinaryOp.MUL, param, paramLayout, s, scalar, t, dense);
            binary(BinaryOp.ADD, g, dense, t, dense, g, dense);
        }
        fill(s, Layout.contiguous(), beta1);
        binary(BinaryOp.MUL, expAvg, expAvgLayout, s, scalar, expAvg, expAvgLayout);
        fill(s, Layout.contiguous(), 1 - beta1);
        binary(BinaryOp.MUL, g, dense, s, scalar, t, dense);
        binary(BinaryOp.ADD, expAvg, expAvgLayout, t, dense, expAvg, expAvgLayout);
        fill(s, Layout.contiguous(), beta2);
        binary(BinaryOp.MUL, expAvgSq, expAvgSqLayout, s, scalar, expAvgSq, expAvgSqLayout);
        binary(BinaryOp.MUL, g, dense, g, dense, t, dense);
        fill(s, Layout.contiguous(), 1 - beta2);
        binary(BinaryOp.MUL, t, dense, s, scalar, t, dense);
        binary(BinaryOp.ADD, expAvgSq, expAvgSqLayout, t, dense, expAvgSq, expAvgSqLayout);
        unary(UnaryOp.SQRT, 0, 0, expAvgSq, expAvgSqLayout, t, dense);
        fill(s, Layout.contiguous(), Math.sqrt(biasCorrection2));
        binary(BinaryOp.DIV, t, dense, s, scalar, t, dense);
        fill(s, Layout.contiguous(), eps);
        binary(BinaryOp.ADD, t, dense, s, scalar, t, dense);
        binary(BinaryOp.DIV, expAvg, expAvgLayout, t, dense, t, dense);
        fill(s, Layout.contiguous(), -lr / biasCorrection1);
        binary(BinaryOp.MUL, t, dense, s, scalar, t, dense);
        binary(BinaryOp.ADD, param, paramLayout, t, dense, param, paramLayout);
        t.free();
        g.free();
        s.free();
    }

    // ------------------------------------------------------------------ pinned host memory
    // A device backend may lend page-locked host memory, so that copies from the host run
    // asynchronously (Tensor.pinMemory, DataLoader's pinMemory). Other backends keep the defaults.

    /** Whether {@link #allocatePinned} lends page-locked host memory (default false). */
    default boolean supportsPinnedMemory() {
        return false;
    }

    /**
     * {@code bytes} of page-locked host memory for staging copies to this backend's device, from
     * its host allocator (cached and reused). The memory returns to the allocator when the buffer
     * is released or becomes unreachable.
     *
     * @throws UnsupportedOperationException when {@link #supportsPinnedMemory()} is false (the default)
     */
    default PinnedBuffer allocatePinned(long bytes) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " on " + device()
                + " has no page-locked host memory");
    }

    /**
     * A new storage of {@code numel} elements of {@code dtype} copied from {@code pinned}, starting
     * {@code byteOffset} bytes into it, where core staged them as little-endian bytes (bool as one
     * byte 0 or 1). A backend that lent the buffer queues the copy on the device's stream and
     * returns at once, keeping the buffer from reuse until the copy completes; the default copies
     * synchronously through {@link #fromHostBytes}.
     */
    default Storage fromPinned(PinnedBuffer pinned, long byteOffset, DType dtype, long numel) {
        ByteBuffer all = pinned.buffer();
        return fromHostBytes(all.slice(Math.toIntExact(byteOffset), Math.toIntExact(numel * dtype.byteSize()))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN), dtype, numel);
    }

    /** Waits until queued work is done. A no-op on synchronous backends. */
    default void synchronize() {
    }

    /** Memory statistics, or an empty one on backends whose memory the GC manages. */
    default MemoryStats memoryStats() {
        return MemoryStats.NONE;
    }

    /** Returns cached, unused device memory to the device. */
    default void emptyCache() {
    }

    /** Memory use of a device: bytes in live tensors, bytes held by the allocator, the peak of allocated. */
    record MemoryStats(long allocated, long reserved, long peakAllocated, long allocations) {
        public static final MemoryStats NONE = new MemoryStats(0, 0, 0, 0);
    }
}
