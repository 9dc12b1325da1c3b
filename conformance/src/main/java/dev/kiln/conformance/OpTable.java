package dev.kiln.conformance;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/**
 * Kiln's counterpart of every PyTorch expression in the op fixtures, by case name. A backend's
 * conformance run evaluates each entry on its device and compares with PyTorch's result; a fixture
 * case without an entry fails the run, so nothing is skipped silently.
 */
public final class OpTable {

    /** Kiln's computation for one case: inputs already on {@code device}, outputs in fixture order. */
    @FunctionalInterface
    public interface Op {
        List<Tensor> apply(Tensor[] in, Device device);
    }

    private static final long END = Long.MAX_VALUE;

    private OpTable() {
    }

    private static Op unary(UnaryOperator<Tensor> f) {
        return (in, d) -> List.of(f.apply(in[0]));
    }

    private static Op binary(BinaryOperator<Tensor> f) {
        return (in, d) -> List.of(f.apply(in[0], in[1]));
    }

    private static Op created(java.util.function.Supplier<Tensor> f) {
        return (in, d) -> List.of(f.get().to(d));
    }

    private static Op pair(java.util.function.Function<Tensor, Tensor.ValuesIndices> f) {
        return (in, d) -> {
            Tensor.ValuesIndices r = f.apply(in[0]);
            return List.of(r.values(), r.indices());
        };
    }

    /** Every case, by fixture name. */
    public static Map<String, Op> entries() {
        Map<String, Op> m = new LinkedHashMap<>();
        Map<String, BinaryOperator<Tensor>> arithmetic = new LinkedHashMap<>();
        arithmetic.put("add", Tensor::add);
        arithmetic.put("sub", Tensor::sub);
        arithmetic.put("mul", Tensor::mul);
        arithmetic.put("div", Tensor::div);
        arithmetic.put("pow", Tensor::pow);
        arithmetic.put("maximum", Tensor::maximum);
        arithmetic.put("minimum", Tensor::minimum);
        arithmetic.forEach((name, f) -> {
            for (String v : List.of("same", "bcast_col_row", "bcast_3d_1d", "scalar0d_tensor", "tensor_scalar0d")) {
                m.put(name + "_" + v, binary(f));
            }
            m.put(name + "_noncontig_t", binary((a, b) -> f.apply(a.t(), b)));
            m.put(name + "_noncontig_slice", binary((a, b) -> f.apply(a.slice(1, 0, END, 2), b.transpose(0, 1))));
        });
        m.put("add_pyscalar", unary(a -> a.add(2.5)));
        m.put("add_alpha", binary((a, b) -> a.add(b, -0.5)));
        m.put("sub_pyscalar", unary(a -> a.sub(2.5)));
        m.put("rsub_pyscalar", unary(a -> a.rsub(2.5)));
        m.put("mul_pyscalar", unary(a -> a.mul(-1.5)));
        m.put("div_pyscalar", unary(a -> a.div(4.0)));
        m.put("rdiv_pyscalar", unary(a -> a.fullLike(2.0).div(a)));
        m.put("pow_pyscalar_float", unary(a -> a.pow(2.5)));
        m.put("pow_pyscalar_int_negbase", unary(a -> a.pow(3.0)));
        m.put("pow_pyscalar_half", unary(a -> a.pow(0.5)));
        m.put("rpow_pyscalar", unary(a -> Tensor.pow(2.0, a)));
        m.put("maximum_with_torch_tensor_literal", unary(a -> a.maximum(Tensor.scalar(0.0).to(a.device()))));
        m.put("add_int64_float32", binary(Tensor::add));
        m.put("mul_int64_pyfloat", unary(a -> a.mul(2.5)));
        m.put("add_int64_int64", binary(Tensor::add));
        m.put("div_int64_true_division", binary(Tensor::div));
        m.put("add_float32_float64", binary(Tensor::add));
        m.put("add_f64", binary(Tensor::add));
        m.put("mul_bool_float", binary(Tensor::mul));

        Map<String, BinaryOperator<Tensor>> comparisons = new LinkedHashMap<>();
        comparisons.put("eq", Tensor::eq);
        comparisons.put("ne", Tensor::ne);
        comparisons.put("lt", Tensor::lt);
        comparisons.put("le", Tensor::le);
        comparisons.put("gt", Tensor::gt);
        comparisons.put("ge", Tensor::ge);
        comparisons.forEach((name, f) -> {
            for (String v : List.of("same", "bcast_col_row", "bcast_3d_1d", "scalar0d")) {
                m.put(name + "_" + v, binary(f));
            }
            m.put(name + "_pyscalar", unary(a -> f.apply(a, Tensor.scalar(1.0, a.dtype(), a.device()))));
            m.put(name + "_noncontig_t", binary((a, b) -> f.apply(a.t(), b)));
        });
        m.put("eq_int64", binary(Tensor::eq));
        m.put("lt_int64_float", binary(Tensor::lt));
        for (String v : List.of("same", "bcast")) {
            m.put("logical_and_" + v, binary(Tensor::logicalAnd));
            m.put("logical_or_" + v, binary(Tensor::logicalOr));
            m.put("logical_xor_" + v, binary(Tensor::logicalXor));
        }
        m.put("logical_not", unary(Tensor::logicalNot));
        m.put("logical_and_float", binary(Tensor::logicalAnd));
        m.put("where_same", (in, d) -> List.of(Tensor.where(in[0], in[1], in[2])));
        m.put("where_bcast", (in, d) -> List.of(Tensor.where(in[0], in[1], in[2])));
        m.put("where_cond_expr_scalar", unary(a -> Tensor.where(a.gt(0.0), a, 0.0)));
        m.put("where_noncontig", (in, d) -> List.of(Tensor.where(in[0].t(), in[1], in[2].t())));

        Map<String, UnaryOperator<Tensor>> unaryOps = new LinkedHashMap<>();
        unaryOps.put("neg", Tensor::neg);
        unaryOps.put("abs", Tensor::abs);
        unaryOps.put("exp", Tensor::exp);
        unaryOps.put("log", Tensor::log);
        unaryOps.put("sqrt", Tensor::sqrt);
        unaryOps.put("rsqrt", Tensor::rsqrt);
        unaryOps.put("sin", Tensor::sin);
        unaryOps.put("cos", Tensor::cos);
        unaryOps.put("tanh", Tensor::tanh);
        unaryOps.put("sigmoid", Tensor::sigmoid);
        unaryOps.put("relu", Tensor::relu);
        unaryOps.put("gelu", Tensor::gelu);
        unaryOps.put("gelu_tanh", a -> a.gelu(true));
        unaryOps.put("silu", Tensor::silu);
        unaryOps.put("sign", Tensor::sign);
        unaryOps.put("floor", Tensor::floor);
        unaryOps.put("ceil", Tensor::ceil);
        unaryOps.put("reciprocal", Tensor::reciprocal);
        unaryOps.put("square", Tensor::square);
        unaryOps.put("log1p", Tensor::log1p);
        unaryOps.put("expm1", Tensor::expm1);
        unaryOps.put("erf", Tensor::erf);
        unaryOps.put("clamp_min_max", a -> a.clamp(-0.5, 0.5));
        unaryOps.put("clamp_min", a -> a.clampMin(0.1));
        unaryOps.put("clamp_max", a -> a.clampMax(-0.1));
        unaryOps.put("leaky_relu", a -> a.leakyRelu(0.01));
        unaryOps.put("leaky_relu_0_2", a -> a.leakyRelu(0.2));
        unaryOps.put("elu", a -> a.elu(1.0));
        unaryOps.put("elu_alpha_0_5", a -> a.elu(0.5));
        unaryOps.put("round_half_even", Tensor::round);
        unaryOps.put("sign_zero_negzero", Tensor::sign);
        unaryOps.put("sigmoid_extreme", Tensor::sigmoid);
        unaryOps.put("tanh_extreme", Tensor::tanh);
        unaryOps.put("exp_noncontig", a -> a.t().exp());
        unaryOps.put("relu_noncontig_slice", a -> a.slice(1, 0, END, 2).relu());
        unaryOps.put("abs_int64", Tensor::abs);
        unaryOps.put("neg_int64", Tensor::neg);
        unaryOps.put("exp_f64", Tensor::exp);
        unaryOps.put("log_f64", Tensor::log);

        // Reductions
        unaryOps.put("sum_all", Tensor::sum);
        unaryOps.put("sum_dim1", a -> a.sum(1));
        unaryOps.put("sum_dims02", a -> a.sum(0, 2));
        unaryOps.put("sum_dimneg1_keepdim", a -> a.sum(-1, true));
        unaryOps.put("sum_dims0neg1_keepdim", a -> a.sum(new int[] {0, -1}, true));
        unaryOps.put("sum_noncontig", a -> a.transpose(0, 2).sum(1));
        unaryOps.put("mean_all", Tensor::mean);
        unaryOps.put("mean_dim1", a -> a.mean(1));
        unaryOps.put("mean_dims02", a -> a.mean(0, 2));
        unaryOps.put("mean_dimneg1_keepdim", a -> a.mean(-1, true));
        unaryOps.put("mean_dims0neg1_keepdim", a -> a.mean(new int[] {0, -1}, true));
        unaryOps.put("mean_noncontig", a -> a.transpose(0, 2).mean(1));
        unaryOps.put("sum_int64", Tensor::sum);
        unaryOps.put("sum_int64_dim", a -> a.sum(0));
        unaryOps.put("sum_bool", Tensor::sum);
        unaryOps.put("sum_f64", a -> a.sum(1));
        unaryOps.put("prod_all", Tensor::prod);
        unaryOps.put("prod_dim1", a -> a.prod(1, false));
        unaryOps.put("prod_dimneg1_keepdim", a -> a.prod(-1, true));
        for (String ext : List.of("amax", "amin")) {
            boolean max = ext.equals("amax");
            unaryOps.put(ext + "_all", a -> max ? a.amax() : a.amin());
            unaryOps.put(ext + "_dim1", a -> max ? a.amax(1) : a.amin(1));
            unaryOps.put(ext + "_dims02_keepdim", a -> max ? a.amax(new int[] {0, 2}, true) : a.amin(new int[] {0, 2}, true));
            unaryOps.put(ext + "_dimneg1", a -> max ? a.amax(-1) : a.amin(-1));
        }
        unaryOps.put("max_all", Tensor::max);
        unaryOps.put("min_all", Tensor::min);
        unaryOps.put("argmax_all", Tensor::argmax);
        unaryOps.put("argmax_dim1", a -> a.argmax(1));
        unaryOps.put("argmax_dimneg1_keepdim", a -> a.argmax(-1, true));
        unaryOps.put("argmax_dim0", a -> a.argmax(0));
        unaryOps.put("argmin_all", Tensor::argmin);
        unaryOps.put("argmin_dim1", a -> a.argmin(1));
        unaryOps.put("argmin_dimneg1_keepdim", a -> a.argmin(-1, true));
        unaryOps.put("argmin_dim0", a -> a.argmin(0));
        unaryOps.put("argmax_ties_dim1", a -> a.argmax(1));
        unaryOps.put("argmin_ties_dim1", a -> a.argmin(1));
        unaryOps.put("argmax_ties_all", Tensor::argmax);
        for (String st : List.of("var", "std")) {
            boolean var = st.equals("var");
            unaryOps.put(st + "_all", a -> var ? a.var() : a.std());
            unaryOps.put(st + "_all_biased", a -> var ? a.var(new int[0], 0, false) : a.std(new int[0], 0, false));
            unaryOps.put(st + "_dim1", a -> var ? a.var(1, false) : a.std(1, false));
            unaryOps.put(st + "_dim1_biased", a -> var ? a.var(new int[] {1}, 0, false) : a.std(new int[] {1}, 0, false));
            unaryOps.put(st + "_dims02_keepdim", a -> var ? a.var(new int[] {0, 2}, 1, true) : a.std(new int[] {0, 2}, 1, true));
            unaryOps.put(st + "_dimneg1_biased_keepdim",
                    a -> var ? a.var(new int[] {-1}, 0, true) : a.std(new int[] {-1}, 0, true));
        }
        unaryOps.put("var_single_element_nan", a -> a.var(0, false));
        unaryOps.put("var_f64", a -> a.var(1, false));
        unaryOps.put("all_all", Tensor::all);
        unaryOps.put("all_dim1", a -> a.all(1, false));
        unaryOps.put("all_dim0_keepdim", a -> a.all(0, true));
        unaryOps.put("any_all", Tensor::any);
        unaryOps.put("any_dim1", a -> a.any(1, false));
        unaryOps.put("any_dim0_keepdim", a -> a.any(0, true));
        unaryOps.put("all_true", Tensor::all);
        unaryOps.put("any_false", Tensor::any);
        unaryOps.put("logsumexp_dim1", a -> a.logsumexp(1, false));
        unaryOps.put("logsumexp_dims02", a -> a.logsumexp(new int[] {0, 2}, false));
        unaryOps.put("logsumexp_dimneg1_keepdim", a -> a.logsumexp(-1, true));
        unaryOps.put("logsumexp_large", a -> a.logsumexp(1, false));
        unaryOps.put("logsumexp_large_negative", a -> a.logsumexp(1, false));
        for (String sm : List.of("softmax", "log_softmax")) {
            boolean log = sm.equals("log_softmax");
            UnaryOperator<Tensor> dim0 = a -> log ? a.logSoftmax(0) : a.softmax(0);
            UnaryOperator<Tensor> dim1 = a -> log ? a.logSoftmax(1) : a.softmax(1);
            UnaryOperator<Tensor> last = a -> log ? a.logSoftmax(-1) : a.softmax(-1);
            unaryOps.put(sm + "_dim0", dim0);
            unaryOps.put(sm + "_dim1", dim1);
            unaryOps.put(sm + "_dimneg1", last);
            unaryOps.put(sm + "_large_logits", last);
            unaryOps.put(sm + "_huge_spread", dim1);
            unaryOps.put(sm + "_neg_inf", dim1);
            unaryOps.put(sm + "_noncontig", a -> dim1.apply(a.t()));
            unaryOps.put(sm + "_f64", dim1);
        }
        unaryOps.forEach((name, f) -> m.put(name, unary(f)));
        m.put("max_dim1", pair(a -> a.max(1)));
        m.put("max_dimneg1_keepdim", pair(a -> a.max(-1, true)));
        m.put("max_dim0_noncontig", pair(a -> a.t().max(0)));
        m.put("min_dim1", pair(a -> a.min(1)));
        m.put("min_dimneg1_keepdim", pair(a -> a.min(-1, true)));
        m.put("min_dim0_noncontig", pair(a -> a.t().min(0)));
        m.put("max_ties_dim1", pair(a -> a.max(1)));
        m.put("min_ties_dim1", pair(a -> a.min(1)));

        // Linear algebra
        for (String v : List.of("1d_1d", "2d_1d", "1d_2d", "2d_2d", "3d_3d", "bcast_batch", "3d_2d", "2d_3d", "1d_3d", "3d_1d",
                "odd_sizes", "f64")) {
            m.put("matmul_" + v, binary(Tensor::matmul));
        }
        m.put("matmul_lhs_transposed", binary((a, b) -> a.t().matmul(b)));
        m.put("matmul_rhs_transposed", binary((a, b) -> a.matmul(b.t())));
        m.put("matmul_batched_transposed", binary((a, b) -> a.matmul(b.transpose(-1, -2))));

        // Indexing
        m.put("gather_dim1", binary((a, i) -> a.gather(1, i)));
        m.put("gather_dim0", binary((a, i) -> a.gather(0, i)));
        m.put("gather_smaller_index", binary((a, i) -> a.gather(1, i)));
        m.put("gather_dimneg1_3d", binary((a, i) -> a.gather(-1, i)));
        m.put("scatter_src_dim1", (in, d) -> List.of(in[0].scatter(1, in[1], in[2])));
        m.put("scatter_src_dim0", (in, d) -> List.of(in[0].scatter(0, in[1], in[2])));
        m.put("scatter_value", binary((a, i) -> a.scatter(1, i, 1.5)));
        m.put("scatter_add_duplicates", (in, d) -> List.of(in[0].scatterAdd(1, in[1], in[2])));
        m.put("scatter_add_dim0", (in, d) -> List.of(in[0].scatterAdd(0, in[1], in[2])));
        m.put("index_select_dim0", binary((a, i) -> a.indexSelect(0, i)));
        m.put("index_select_dim1", binary((a, i) -> a.indexSelect(1, i)));
        m.put("index_select_noncontig", binary((a, i) -> a.t().indexSelect(0, i)));
        m.put("masked_fill", binary((a, k) -> a.maskedFill(k, -1.0)));
        m.put("masked_fill_bcast", binary((a, k) -> a.maskedFill(k, 2.5)));
        m.put("masked_fill_neg_inf", binary((a, k) -> a.maskedFill(k, Double.NEGATIVE_INFINITY)));
        m.put("masked_fill_int64", binary((a, k) -> a.maskedFill(k, 7)));

        // Joining, splitting, views
        m.put("cat_dim0", (in, d) -> List.of(Tensor.cat(0, in[0], in[1])));
        m.put("cat_dim1", (in, d) -> List.of(Tensor.cat(1, in[0], in[1])));
        m.put("cat_dimneg1_three", (in, d) -> List.of(Tensor.cat(-1, in[0], in[1], in[2])));
        m.put("cat_noncontig", (in, d) -> List.of(Tensor.cat(0, in[0].t(), in[1])));
        m.put("cat_with_empty", (in, d) -> List.of(Tensor.cat(0, in[0], in[1])));
        m.put("stack_dim0", (in, d) -> List.of(Tensor.stack(0, in[0], in[1])));
        m.put("stack_dim2", (in, d) -> List.of(Tensor.stack(2, in[0], in[1], in[2])));
        m.put("stack_dimneg1", (in, d) -> List.of(Tensor.stack(-1, in[0], in[1])));
        m.put("split_size_uneven", (in, d) -> in[0].split(2, 1));
        m.put("split_sizes_list", (in, d) -> in[0].split(new long[] {1, 3, 1}, 1));
        m.put("split_dim0_default", (in, d) -> in[0].split(2, 0));
        m.put("chunk_uneven", (in, d) -> in[0].chunk(3, 1));
        m.put("chunk_fewer_than_requested", (in, d) -> in[0].chunk(4, 0));
        m.put("narrow", unary(a -> a.narrow(1, 1, 2)));
        m.put("narrow_dim0", unary(a -> a.narrow(0, 2, 2)));
        m.put("select_dim0", unary(a -> a.select(0, 1)));
        m.put("select_neg_index", unary(a -> a.select(-1, -1)));
        m.put("slice_step", unary(a -> a.slice(0, 1, END).slice(1, 0, END, 2)));
        m.put("permute", unary(a -> a.permute(2, 0, 1)));
        m.put("transpose", unary(a -> a.transpose(0, 2)));
        m.put("t", unary(Tensor::t));
        m.put("reshape_neg1", unary(a -> a.reshape(-1, 6)));
        m.put("reshape_neg1_last", unary(a -> a.reshape(4, -1)));
        m.put("reshape_noncontig", unary(a -> a.t().reshape(-1)));
        m.put("view", unary(a -> a.view(3, 8)));
        m.put("squeeze_all", unary(Tensor::squeeze));
        m.put("squeeze_dim", unary(a -> a.squeeze(2)));
        m.put("squeeze_non1_noop", unary(a -> a.squeeze(1)));
        m.put("unsqueeze_0", unary(a -> a.unsqueeze(0)));
        m.put("unsqueeze_neg1", unary(a -> a.unsqueeze(-1)));
        m.put("expand", unary(a -> a.expand(3, 4)));
        m.put("expand_new_dims_neg1", unary(a -> a.expand(2, -1, 4)));
        m.put("expand_then_add", binary((a, b) -> a.expand(2, 3).add(b)));
        m.put("flatten_all", unary(Tensor::flatten));
        m.put("flatten_start1", unary(a -> a.flatten(1, -1)));
        m.put("flatten_0_1", unary(a -> a.flatten(0, 1)));
        m.put("contiguous_permuted", unary(a -> a.permute(2, 0, 1).contiguous()));
        m.put("cumsum_dim0", unary(a -> a.cumsum(0)));
        m.put("cumsum_dimneg1", unary(a -> a.cumsum(-1)));
        m.put("cumsum_int64", unary(a -> a.cumsum(1)));
        m.put("cumsum_noncontig", unary(a -> a.t().cumsum(1)));

        // Casts
        m.put("cast_float_to_int64_trunc", unary(a -> a.to(DType.INT64)));
        m.put("cast_int64_to_float", unary(a -> a.to(DType.FLOAT32)));
        m.put("cast_bool_to_float", unary(Tensor::toFloat));
        m.put("cast_float_to_bool", unary(Tensor::toBool));
        m.put("cast_int64_to_bool", unary(a -> a.to(DType.BOOL)));
        m.put("cast_bool_to_int64", unary(Tensor::toLong));
        m.put("cast_float_to_double", unary(Tensor::toDouble));
        m.put("cast_double_to_float", unary(Tensor::toFloat));

        // Creation
        m.put("arange_end", created(() -> Tensor.arange(5)));
        m.put("arange_start_end_step", created(() -> Tensor.arange(2, 11, 3)));
        m.put("arange_float", created(() -> Tensor.arange(0.0, 1.0, 0.25)));
        m.put("arange_float_tenths", created(() -> Tensor.arange(0, 1, 0.1)));
        m.put("arange_negative_step", created(() -> Tensor.arange(1.0, -1.0, -0.5)));
        m.put("linspace", created(() -> Tensor.linspace(0, 1, 5)));
        m.put("linspace_neg", created(() -> Tensor.linspace(-2, 2, 7)));
        m.put("linspace_one_step", created(() -> Tensor.linspace(3, 5, 1)));
        m.put("eye_square", created(() -> Tensor.eye(3)));
        m.put("eye_rect", created(() -> Tensor.eye(2, 4)));
        m.put("full_float", created(() -> Tensor.full(new long[] {2, 3}, 1.5)));
        m.put("full_int_infers_int64", created(() -> Tensor.full(new long[] {2, 3}, 7)));
        m.put("zeros", created(() -> Tensor.zeros(2, 3)));
        m.put("ones_int64", created(() -> Tensor.ones(new long[] {3}, DType.INT64)));

        // NaN and empty tensors
        m.put("maximum_nan", binary(Tensor::maximum));
        m.put("minimum_nan", binary(Tensor::minimum));
        m.put("amax_nan_dim1", unary(a -> a.amax(1)));
        m.put("max_nan_dim1", pair(a -> a.max(1)));
        m.put("argmax_nan_dim1", unary(a -> a.argmax(1)));
        m.put("argmin_nan_dim1", unary(a -> a.argmin(1)));
        m.put("sum_nan_dim0", unary(a -> a.sum(0)));
        m.put("relu_nan", unary(Tensor::relu));
        m.put("clamp_nan", unary(a -> a.clamp(-1.0, 1.0)));
        m.put("sign_nan", unary(Tensor::sign));
        m.put("sum_empty_dim0", unary(a -> a.sum(0)));
        m.put("sum_empty_all", unary(Tensor::sum));
        m.put("mean_empty_all_nan", unary(Tensor::mean));
        m.put("add_empty", binary(Tensor::add));
        return m;
    }
}
