package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.Fused;
import dev.kiln.Tensor;
import dev.kiln.graph.CustomBackward;
import dev.kiln.graph.Node;
import dev.kiln.spi.ConvGeometry;
import dev.kiln.spi.UnaryOp;

import java.util.Arrays;

/**
 * Every derivative rule of Kiln, in one exhaustive switch over {@link dev.kiln.graph.OpKind}: a
 * kind without a rule does not compile. Rules are written with Tensor operations only, so they run
 * on any backend, and recorded when the backward itself is differentiated ({@code createGraph}).
 */
final class Derivatives {

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_2PI = 0.3989422804014327;
    private static final double SQRT_HALF = 0.7071067811865476;

    private Derivatives() {
    }

    /** The gradient for each input of {@code node} given the gradient {@code g} of its output (null where unused). */
    static Tensor[] apply(Node node, Tensor g) {
        Tensor[] s = node.saved();
        return switch (node.kind()) {
            case ADD -> new Tensor[] {sumTo(g, node, 0), sumTo(g, node, 1)};
            case SUB -> new Tensor[] {sumTo(g, node, 0), needs(node, 1) ? sumTo(g.neg(), node, 1) : null};
            case MUL -> new Tensor[] {
                needs(node, 0) ? sumTo(g.mul(s[1]), node, 0) : null,
                needs(node, 1) ? sumTo(g.mul(s[0]), node, 1) : null};
            case DIV -> new Tensor[] {
                needs(node, 0) ? sumTo(g.div(s[1]), node, 0) : null,
                needs(node, 1) ? sumTo(g.neg().mul(s[0]).div(s[1].square()), node, 1) : null};
            case POW -> pow(node, g, s[0], s[1], s[2]);
            case MAXIMUM -> extremum2(node, g, s[0], s[1]);
            case MINIMUM -> extremum2(node, g, s[1], s[0]);
            case WHERE -> new Tensor[] {
                needs(node, 0) ? sumTo(Tensor.where(s[0], g, 0.0), node, 0) : null,
                needs(node, 1) ? sumTo(Tensor.where(s[0], 0.0, g), node, 1) : null};
            case NEG -> one(g.neg());
            case ABS -> one(g.mul(s[0].sign()));
            case EXP -> one(g.mul(s[0]));
            case LOG -> one(g.div(s[0]));
            case SQRT -> one(g.div(s[0].mul(2.0)));
            case RSQRT -> one(g.mul(s[0].pow(3.0)).mul(-0.5));
            case SIN -> one(g.mul(s[0].cos()));
            case COS -> one(g.mul(s[0].sin()).neg());
            // One fused pass each (the Tensor-op composition when the backward is itself recorded).
            case TANH -> one(Fused.activationBackward(UnaryOp.TANH, g, s[0]));
            case SIGMOID -> one(Fused.activationBackward(UnaryOp.SIGMOID, g, s[0]));
            // relu's output is >= 0, so its sign is exactly the 0/1 mask of the derivative.
            case RELU -> one(Fused.activationBackward(UnaryOp.RELU, g, s[0]));
            case GELU -> {
                Tensor x = s[0];
                Tensor cdf = x.mul(SQRT_HALF).erf().add(1.0).mul(0.5);
                Tensor pdf = x.square().mul(-0.5).exp().mul(ONE_OVER_SQRT_2PI);
                yield one(g.mul(cdf.add(x.mul(pdf))));
            }
            case SILU -> {
                Tensor sig = s[0].sigmoid();
                yield one(g.mul(sig.mul(s[0].mul(sig.rsub(1.0)).add(1.0))));
            }
            case LOG1P -> one(g.div(s[0].add(1.0)));
            case EXPM1 -> one(g.mul(s[0].add(1.0)));
            case ERF -> one(g.mul(s[0].square().neg().exp().mul(TWO_OVER_SQRT_PI)));
            case RECIPROCAL -> one(g.mul(s[0].square()).neg());
            case SQUARE -> one(g.mul(s[0].mul(2.0)));
            case CLAMP -> {
                double lo = node.doubles()[0];
                double hi = node.doubles()[1];
                yield one(g.mul(s[0].ge(lo).logicalAnd(s[0].le(hi)).to(g.dtype())));
            }
            case LEAKY_RELU -> one(Tensor.where(s[0].gt(0.0), g, g.mul(node.doubles()[0])));
            case ELU -> one(Tensor.where(s[0].gt(0.0), g, g.mul(s[1].add(node.doubles()[0]))));
            case STEP -> one(zeros(node, 0, g));
            case SUM -> one(expandReduced(g, node));
            case PROD -> one(prod(node, g, s[0], s[1]));
            case EXTREMUM -> {
                Tensor mask = s[0].eq(expandTo(s[1], node.inputShape(0))).to(g.dtype());
                Tensor count = mask.sum(node.ints(), true);
                yield one(expandReduced(g, node).mul(mask).div(count));
            }
            case SOFTMAX -> {
                int dim = node.ints()[0];
                yield one(s[0].mul(g.sub(g.mul(s[0]).sum(dim, true))));
            }
            case LOG_SOFTMAX -> {
                int dim = node.ints()[0];
                yield one(g.sub(s[0].exp().mul(g.sum(dim, true))));
            }
            // Rank-3 (bmm, equal batches) or rank-2 (a plain 2-D matmul) inputs; for rank 2, ints say
            // which inputs were transposed views, whose gradients are then made transposed too.
            case MATMUL -> {
                boolean aT = node.ints().length == 2 && node.ints()[0] == 1;
                boolean bT = node.ints().length == 2 && node.ints()[1] == 1;
                yield new Tensor[] {
                    !needs(node, 0) ? null : aT ? s[1].matmul(g.mT()).mT() : g.matmul(s[1].mT()),
                    !needs(node, 1) ? null : bT ? g.mT().matmul(s[0]).mT() : s[0].mT().matmul(g)};
            }
            case RESHAPE -> one(g.reshape(node.inputShape(0)));
            case PERMUTE -> {
                int[] perm = node.ints();
                int[] inverse = new int[perm.length];
                for (int i = 0; i < perm.length; i++) {
                    inverse[perm[i]] = i;
                }
                yield one(g.permute(inverse));
            }
            case EXPAND -> one(sumTo(g, node, 0));
            case SLICE -> {
                long[] a = node.longs();
                int dim = (int) a[0];
                Tensor idx = Tensor.arange(0, a[2]).mul(a[3]).add(a[1]).to(g.device());
                yield one(zeros(node, 0, g).indexAdd(dim, idx, g));
            }
            case SELECT -> {
                long[] a = node.longs();
                int dim = (int) a[0];
                Tensor idx = Tensor.of(a[1]).to(g.device());
                yield one(zeros(node, 0, g).indexAdd(dim, idx, g.unsqueeze(dim)));
            }
            case CAT -> {
                int dim = node.ints()[0];
                Tensor[] out = new Tensor[node.numInputs()];
                long at = 0;
                for (int i = 0; i < out.length; i++) {
                    long len = node.inputShape(i)[dim];
                    out[i] = needs(node, i) ? g.narrow(dim, at, len) : null;
                    at += len;
                }
                yield out;
            }
            case CLONE -> one(g);
            case CAST -> one(g.to(node.inputDType(0)));
            case TO_DEVICE -> one(g.to(node.sourceDevice()));
            case GATHER -> one(zeros(node, 0, g).scatterAdd(node.ints()[0], s[0], g));
            case SCATTER -> new Tensor[] {
                needs(node, 0) ? g.scatter(node.ints()[0], s[0], 0.0) : null,
                needs(node, 1) ? g.gather(node.ints()[0], s[0]) : null};
            case SCATTER_ADD -> new Tensor[] {
                needs(node, 0) ? g : null,
                needs(node, 1) ? g.gather(node.ints()[0], s[0]) : null};
            case INDEX_SELECT -> one(zeros(node, 0, g).indexAdd(node.ints()[0], s[0], g));
            case INDEX_ADD -> new Tensor[] {
                needs(node, 0) ? g : null,
                needs(node, 1) ? g.indexSelect(node.ints()[0], s[0]) : null};
            case IM2COL -> one(g.col2im((ConvGeometry) node.attr()));
            case COL2IM -> one(g.im2col((ConvGeometry) node.attr(), 0));
            case MAX_POOL2D -> one(g.maxPool2dBackward(s[0], (ConvGeometry) node.attr()));
            case MAX_POOL2D_BACKWARD -> {
                // The backward scattered each window's gradient to its argmax; its adjoint reads it back.
                ConvGeometry geo = (ConvGeometry) node.attr();
                long[] shape = node.inputShape(0);
                long planes = shape[0] * shape[1];
                Tensor cols = g.reshape(planes, 1, geo.h(), geo.w()).im2col(geo, 0);
                Tensor picked = cols.gather(1, s[0].reshape(planes, 1, geo.outH() * geo.outW()));
                yield one(picked.reshape(shape));
            }
            case CONV2D -> {
                ConvGeometry geo = (ConvGeometry) node.attr();
                int groups = node.ints()[0];
                yield new Tensor[] {
                    needs(node, 0) ? g.conv2dBackwardInput(s[1], geo, groups) : null,
                    needs(node, 1) ? g.conv2dBackwardWeight(s[0], geo, groups) : null};
            }
            // Both backward ops are bilinear, and each is the adjoint of the convolution in one argument:
            // <u, dx(g, w)> = <conv(u, w), g> = <dw(g, u), w> and <u, dw(g, x)> = <conv(x, u), g> = <dx(g, u), x>.
            case CONV2D_BACKWARD_INPUT -> {
                ConvGeometry geo = (ConvGeometry) node.attr();
                int groups = node.ints()[0];
                yield new Tensor[] {
                    needs(node, 0) ? g.conv2d(s[1], geo, groups) : null,
                    needs(node, 1) ? s[0].conv2dBackwardWeight(g, geo, groups) : null};
            }
            case CONV2D_BACKWARD_WEIGHT -> {
                ConvGeometry geo = (ConvGeometry) node.attr();
                int groups = node.ints()[0];
                yield new Tensor[] {
                    needs(node, 0) ? s[1].conv2d(g, geo, groups) : null,
                    needs(node, 1) ? s[0].conv2dBackwardInput(g, geo, groups) : null};
            }
            case BATCH_NORM -> batchNorm(node, g, s);
            case CUSTOM -> custom(node, g);
        };
    }

    /** Inputs (x, weight?, bias?) as recorded; the gradients come from one fused call or its recorded composition. */
    private static Tensor[] batchNorm(Node node, Tensor g, Tensor[] s) {
        boolean hasWeight = node.ints()[0] == 1;
        boolean hasBias = node.ints()[1] == 1;
        int weightAt = hasWeight ? 1 : -1;
        int biasAt = hasBias ? (hasWeight ? 2 : 1) : -1;
        boolean[] need = {needs(node, 0), weightAt > 0 && needs(node, weightAt), biasAt > 0 && needs(node, biasAt)};
        Tensor[] d = Fused.batchNormBackward(g, s[0], s[1], s[2], s[3], node.doubles()[0], need);
        Tensor[] grads = new Tensor[node.numInputs()];
        grads[0] = d[0];
        if (hasWeight) {
            grads[weightAt] = d[1];
        }
        if (hasBias) {
            grads[biasAt] = d[2];
        }
        return grads;
    }

    private static Tensor[] one(Tensor g) {
        return new Tensor[] {g};
    }

    private static boolean needs(Node node, int input) {
        return node.next()[input] != null;
    }

    private static Tensor zeros(Node node, int input, Tensor like) {
        return Tensor.zeros(node.inputShape(input), like.dtype(), like.device());
    }

    /** Sums a broadcast gradient back to input {@code i}'s shape (null when that input needs none). */
    private static Tensor sumTo(Tensor g, Node node, int i) {
        if (!needs(node, i)) {
            return null;
        }
        return sumTo(g, node.inputShape(i));
    }

    static Tensor sumTo(Tensor g, long[] shape) {
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) {
            return g;
        }
        int lead = gs.length - shape.length;
        int[] dims = new int[gs.length];
        int n = 0;
        for (int d = 0; d < gs.length; d++) {
            if (d < lead || (shape[d - lead] == 1 && gs[d] != 1)) {
                dims[n++] = d;
            }
        }
        Tensor r = n == 0 ? g : g.sum(Arrays.copyOf(dims, n), true);
        return r.reshape(shape);
    }

    /** Views a reduced tensor (keepdim or not) with the input's rank, then broadcasts it to the input shape. */
    private static Tensor expandReduced(Tensor g, Node node) {
        boolean keepdim = (Boolean) node.attr();
        long[] in = node.inputShape(0);
        Tensor r = g;
        if (!keepdim && in.length > 0) {
            long[] kept = in.clone();
            for (int d : node.ints()) {
                kept[d] = 1;
            }
            r = g.reshape(kept);
        }
        return r.expand(in);
    }

    private static Tensor expandTo(Tensor keepdimOut, long[] shape) {
        return keepdimOut.expand(shape);
    }

    private static Tensor[] pow(Node node, Tensor g, Tensor a, Tensor b, Tensor out) {
        Tensor ga = null;
        Tensor gb = null;
        if (needs(node, 0)) {
            Tensor d = b.mul(a.pow(b.sub(1.0)));
            ga = sumTo(g.mul(Tensor.where(b.eq(0.0), 0.0, d)), node, 0);
        }
        if (needs(node, 1)) {
            Tensor d = out.mul(a.log());
            gb = sumTo(g.mul(Tensor.where(a.eq(0.0).logicalAnd(b.ge(0.0)), 0.0, d)), node, 1);
        }
        return new Tensor[] {ga, gb};
    }

    /** maximum(a, b) (or minimum with the arguments swapped): ties split the gradient, as PyTorch. */
    private static Tensor[] extremum2(Node node, Tensor g, Tensor winner, Tensor loser) {
        boolean max = node.kind() == dev.kiln.graph.OpKind.MAXIMUM;
        Tensor a = max ? winner : loser;
        Tensor b = max ? loser : winner;
        Tensor aWins = (max ? a.gt(b) : a.lt(b)).to(g.dtype());
        Tensor bWins = (max ? b.gt(a) : b.lt(a)).to(g.dtype());
        Tensor tie = a.eq(b).to(g.dtype()).mul(0.5);
        return new Tensor[] {
            needs(node, 0) ? sumTo(g.mul(aWins.add(tie)), node, 0) : null,
            needs(node, 1) ? sumTo(g.mul(bWins.add(tie)), node, 1) : null};
    }

    /** The product's gradient, exact when the reduced slice holds zeros. */
    private static Tensor prod(Node node, Tensor g, Tensor x, Tensor keptOut) {
        int[] dims = node.ints();
        long[] shape = node.inputShape(0);
        Tensor ge = expandReduced(g, node);
        Tensor isZero = x.eq(0.0);
        Tensor zeros = isZero.to(DType.INT64).sum(dims, true).expand(shape);
        Tensor safe = Tensor.where(isZero, 1.0, x);
        Tensor nonzeroProd = prodOver(safe, dims).expand(shape);
        Tensor out = keptOut.expand(shape);
        Tensor noZero = out.div(safe);
        Tensor oneZero = Tensor.where(isZero, nonzeroProd, 0.0);
        Tensor d = Tensor.where(zeros.eq(0.0), noZero, Tensor.where(zeros.eq(1.0), oneZero, 0.0));
        return ge.mul(d);
    }

    private static Tensor prodOver(Tensor x, int[] dims) {
        Tensor r = x;
        for (int d : dims) {
            r = r.prod(d, true);
        }
        return r;
    }

    private static Tensor[] custom(Node node, Tensor g) {
        CustomBackward c = (CustomBackward) node.attr();
        Tensor[] grads = c.backward(g);
        if (grads == null || grads.length != node.numInputs()) {
            throw new IllegalStateException(c.name() + ".backward returned " + (grads == null ? "null" : grads.length + " gradients")
                    + " but forward took " + node.numInputs() + " inputs");
        }
        for (int i = 0; i < grads.length; i++) {
            if (grads[i] != null && !Arrays.equals(grads[i].shape(), node.inputShape(i))) {
                throw new IllegalStateException(c.name() + ".backward returned a gradient of shape "
                        + Arrays.toString(grads[i].shape()) + " for input " + i + " of shape "
                        + Arrays.toString(node.inputShape(i)));
            }
        }
        return grads;
    }
}
