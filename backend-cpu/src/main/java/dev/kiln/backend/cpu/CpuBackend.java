package dev.kiln.backend.cpu;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Layout;
import dev.kiln.spi.Backend;
import dev.kiln.spi.BinaryOp;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.ReduceOp;
import dev.kiln.spi.Storage;
import dev.kiln.spi.UnaryOp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The device SPI over Java arrays; the kernels live in one class per family. */
final class CpuBackend implements Backend {

    @Override
    public Device device() {
        return Device.cpu();
    }

    private static CpuStorage cpu(Storage s) {
        return (CpuStorage) s;
    }

    @Override
    public Storage allocate(DType dtype, long numel) {
        return CpuStorage.allocate(dtype, numel);
    }

    @Override
    public Storage fromHost(Object array, DType dtype) {
        Object copy;
        int n;
        switch (dtype) {
            case FLOAT32 -> {
                copy = ((float[]) array).clone();
                n = ((float[]) array).length;
            }
            case FLOAT64 -> {
                copy = ((double[]) array).clone();
                n = ((double[]) array).length;
            }
            case INT64 -> {
                copy = ((long[]) array).clone();
                n = ((long[]) array).length;
            }
            case BOOL -> {
                copy = ((boolean[]) array).clone();
                n = ((boolean[]) array).length;
            }
            default -> {
                copy = ((short[]) array).clone();
                n = ((short[]) array).length;
            }
        }
        return new CpuStorage(dtype, copy, n);
    }

    @Override
    public Storage fromHostBytes(ByteBuffer bytes, DType dtype, long numel) {
        CpuStorage s = CpuStorage.allocate(dtype, numel);
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case FLOAT32 -> b.asFloatBuffer().get(s.floats());
            case FLOAT64 -> b.asDoubleBuffer().get(s.doubles());
            case INT64 -> b.asLongBuffer().get(s.longs());
            case BOOL -> {
                boolean[] out = s.bools();
                for (int i = 0; i < out.length; i++) {
                    out[i] = b.get(b.position() + i) != 0;
                }
            }
            default -> b.asShortBuffer().get(s.shorts());
        }
        return s;
    }

    @Override
    public void toHost(Storage src, Layout layout, Object array) {
        CpuStorage s = cpu(src);
        CpuStorage target = new CpuStorage(s.dtype(), array, (int) layout.numel());
        Elementwise.copy(s, layout, target, Layout.contiguous(layout.shape()));
    }

    @Override
    public void toHostBytes(Storage src, Layout layout, ByteBuffer out) {
        CpuStorage s = cpu(src);
        CpuStorage c = CpuStorage.allocate(s.dtype(), layout.numel());
        Elementwise.copy(s, layout, c, Layout.contiguous(layout.shape()));
        ByteBuffer b = out.order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) layout.numel();
        switch (s.dtype()) {
            case FLOAT32 -> b.asFloatBuffer().put(c.floats());
            case FLOAT64 -> b.asDoubleBuffer().put(c.doubles());
            case INT64 -> b.asLongBuffer().put(c.longs());
            case BOOL -> {
                for (boolean v : c.bools()) {
                    b.put(b.position(), (byte) (v ? 1 : 0));
                    b.position(b.position() + 1);
                }
                return;
            }
            default -> b.asShortBuffer().put(c.shorts());
        }
        b.position(b.position() + n * s.dtype().byteSize());
    }

    @Override
    public void copy(Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        Elementwise.copy(cpu(src), srcLayout, cpu(dst), dstLayout);
    }

    @Override
    public void fill(Storage dst, Layout layout, double value) {
        Elementwise.fill(cpu(dst), layout, value);
    }

    @Override
    public void unary(UnaryOp op, double p0, double p1, Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        Elementwise.unary(op, p0, p1, cpu(src), srcLayout, cpu(dst), dstLayout);
    }

    @Override
    public void binary(BinaryOp op, Storage a, Layout aLayout, Storage b, Layout bLayout, Storage dst, Layout dstLayout) {
        Elementwise.binary(op, cpu(a), aLayout, cpu(b), bLayout, cpu(dst), dstLayout);
    }

    @Override
    public void where(Storage cond, Layout condLayout, Storage a, Layout aLayout, Storage b, Layout bLayout,
                      Storage dst, Layout dstLayout) {
        Elementwise.where(cpu(cond), condLayout, cpu(a), aLayout, cpu(b), bLayout, cpu(dst), dstLayout);
    }

    @Override
    public void reduce(ReduceOp op, Storage src, Layout srcLayout, int[] dims, Storage dst, Layout dstLayout) {
        Reductions.reduce(op, cpu(src), srcLayout, dims, cpu(dst), dstLayout);
    }

    @Override
    public void softmax(boolean log, int dim, Storage src, Layout srcLayout, Storage dst, Layout dstLayout) {
        Reductions.softmax(log, dim, cpu(src), srcLayout, cpu(dst), dstLayout);
    }

    @Override
    public void matmul(Storage a, Layout al, Storage b, Layout bl, Storage c, Layout cl) {
        MatrixProduct.bmm(cpu(a), al, cpu(b), bl, cpu(c), cl);
    }

    @Override
    public void gather(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst, Layout dstLayout) {
        Indexing.gather(dim, cpu(src), srcLayout, cpu(index), indexLayout, cpu(dst), dstLayout);
    }

    @Override
    public void scatter(int dim, boolean accumulate, Storage index, Layout indexLayout, Storage src, Layout srcLayout,
                        Storage dst, Layout dstLayout) {
        Indexing.scatter(dim, accumulate, cpu(index), indexLayout, cpu(src), srcLayout, cpu(dst), dstLayout);
    }

    @Override
    public void indexSelect(int dim, Storage src, Layout srcLayout, Storage index, Layout indexLayout, Storage dst,
                            Layout dstLayout) {
        Indexing.indexSelect(dim, cpu(src), srcLayout, cpu(index), indexLayout, cpu(dst), dstLayout);
    }

    @Override
    public void indexAdd(int dim, Storage index, Layout indexLayout, Storage src, Layout srcLayout, Storage dst,
                         Layout dstLayout) {
        Indexing.indexAdd(dim, cpu(index), indexLayout, cpu(src), srcLayout, cpu(dst), dstLayout);
    }

    @Override
    public void uniform(Storage dst, Layout layout, long seed, long offset, double lo, double hi) {
        RandomFill.uniform(cpu(dst), layout, seed, offset, lo, hi);
    }

    @Override
    public void normal(Storage dst, Layout layout, long seed, long offset, double mean, double std) {
        RandomFill.normal(cpu(dst), layout, seed, offset, mean, std);
    }

    @Override
    public void im2col(Storage src, Layout srcLayout, ConvGeometry geometry, double padValue, Storage dst, Layout dstLayout) {
        Convolution.im2col(cpu(src), srcLayout, geometry, padValue, cpu(dst), dstLayout);
    }

    @Override
    public void maxPool2d(Storage src, Layout srcLayout, ConvGeometry g, Storage values, Layout valuesLayout,
                          Storage argmax, Layout argmaxLayout) {
        Pooling.maxPool2d(cpu(src), srcLayout, g, cpu(values), valuesLayout, cpu(argmax), argmaxLayout);
    }

    @Override
    public void maxPool2dBackward(Storage grad, Layout gradLayout, Storage argmax, Layout argmaxLayout, ConvGeometry g,
                                  Storage dst, Layout dstLayout) {
        Pooling.maxPool2dBackward(cpu(grad), gradLayout, cpu(argmax), argmaxLayout, g, cpu(dst), dstLayout);
    }

    @Override
    public void col2im(Storage src, Layout srcLayout, ConvGeometry geometry, Storage dst, Layout dstLayout) {
        Convolution.col2im(cpu(src), srcLayout, geometry, cpu(dst), dstLayout);
    }

    // Convolution: image by image for float32 batches (PerImageConvolution), the composite otherwise.

    @Override
    public void conv2d(Storage input, Layout inputLayout, Storage weight, Layout weightLayout, ConvGeometry g, int groups,
                       Storage out, Layout outLayout) {
        if (PerImageConvolution.applies(input.dtype(), groups, inputLayout.size(0), input.numel(), out.numel())
                && weightLayout.isContiguous() && rowsOfImage(outLayout, g)) {
            PerImageConvolution.forward(cpu(input), inputLayout, cpu(weight), weightLayout, g, cpu(out), outLayout);
        } else {
            Backend.super.conv2d(input, inputLayout, weight, weightLayout, g, groups, out, outLayout);
        }
    }

    @Override
    public void conv2dBackwardInput(Storage grad, Layout gradLayout, Storage weight, Layout weightLayout, ConvGeometry g,
                                    int groups, Storage dst, Layout dstLayout) {
        if (PerImageConvolution.applies(grad.dtype(), groups, dstLayout.size(0), grad.numel(), dst.numel())
                && weightLayout.isContiguous() && rowsOfImage(gradLayout, g)) {
            PerImageConvolution.backwardInput(cpu(grad), gradLayout, cpu(weight), weightLayout, g, cpu(dst), dstLayout);
        } else {
            Backend.super.conv2dBackwardInput(grad, gradLayout, weight, weightLayout, g, groups, dst, dstLayout);
        }
    }

    @Override
    public void conv2dBackwardWeight(Storage grad, Layout gradLayout, Storage input, Layout inputLayout, ConvGeometry g,
                                     int groups, Storage dst, Layout dstLayout) {
        if (PerImageConvolution.applies(grad.dtype(), groups, inputLayout.size(0), grad.numel(), input.numel())
                && rowsOfImage(gradLayout, g)) {
            PerImageConvolution.backwardWeight(cpu(grad), gradLayout, cpu(input), inputLayout, g, cpu(dst), dstLayout);
        } else {
            Backend.super.conv2dBackwardWeight(grad, gradLayout, input, inputLayout, g, groups, dst, dstLayout);
        }
    }

    /** Whether each channel of each image of an {@code [N, O, outH, outW]} layout is one dense row. */
    private static boolean rowsOfImage(Layout l, ConvGeometry g) {
        return l.stride(3) == 1 && (l.stride(2) == g.outW() || l.size(2) == 1);
    }

    // Fused kernels (issue 9): one pass for whole contiguous operands, the composite default otherwise.

    @Override
    public void activationBackward(UnaryOp op, Storage grad, Layout gradLayout, Storage out, Layout outLayout,
                                   Storage dst, Layout dstLayout) {
        if (!FusedKernels.activationBackward(op, cpu(grad), gradLayout, cpu(out), outLayout, cpu(dst), dstLayout)) {
            Backend.super.activationBackward(op, grad, gradLayout, out, outLayout, dst, dstLayout);
        }
    }

    @Override
    public void adamStep(Storage param, Layout paramLayout, Storage grad, Layout gradLayout, Storage expAvg,
                         Layout expAvgLayout, Storage expAvgSq, Layout expAvgSqLayout, double lr, double beta1, double beta2,
                         double eps, double weightDecay, double biasCorrection1, double biasCorrection2, boolean decoupled,
                         boolean maximize) {
        if (!FusedKernels.adamStep(cpu(param), paramLayout, cpu(grad), gradLayout, cpu(expAvg), expAvgLayout,
                cpu(expAvgSq), expAvgSqLayout, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2,
                decoupled, maximize)) {
            Backend.super.adamStep(param, paramLayout, grad, gradLayout, expAvg, expAvgLayout, expAvgSq, expAvgSqLayout,
                    lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2, decoupled, maximize);
        }
    }
}
