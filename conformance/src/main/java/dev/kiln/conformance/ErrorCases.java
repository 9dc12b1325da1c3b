package dev.kiln.conformance;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.util.List;
import java.util.function.Function;

/**
 * Bad input every backend must reject at the call, with an exception of the given type whose
 * message contains the given fragments (the op's name and the shapes or dtypes involved).
 */
public final class ErrorCases {

    /** One rejected call. */
    public record Case(String name, Function<Device, Object> call, Class<? extends RuntimeException> type, List<String> fragments) {
        @Override
        public String toString() {
            return name;
        }
    }

    private ErrorCases() {
    }

    private static Tensor t(Device d, long... shape) {
        return Tensor.zeros(shape).to(d);
    }

    private static Case c(String name, Function<Device, Object> call, Class<? extends RuntimeException> type, String... fragments) {
        return new Case(name, call, type, List.of(fragments));
    }

    public static List<Case> all() {
        return List.of(
                c("add_broadcast_mismatch", d -> t(d, 2, 3).add(t(d, 4)), IllegalArgumentException.class, "add", "[2, 3]", "[4]"),
                c("mul_broadcast_mismatch", d -> t(d, 5, 2).mul(t(d, 3, 2)), IllegalArgumentException.class, "mul", "[5, 2]", "[3, 2]"),
                c("matmul_inner_mismatch", d -> t(d, 64, 784).matmul(t(d, 100, 10)), IllegalArgumentException.class,
                        "matmul", "[64, 784] @ [100, 10]", "784", "100"),
                c("matmul_scalar", d -> Tensor.scalar(1).to(d).matmul(t(d, 2)), IllegalArgumentException.class, "matmul"),
                c("matmul_batch_mismatch", d -> t(d, 2, 3, 4).matmul(t(d, 3, 4, 5)), IllegalArgumentException.class, "matmul", "[2]", "[3]"),
                c("matmul_dtype_mismatch", d -> t(d, 2, 2).matmul(t(d, 2, 2).to(DType.FLOAT64)), IllegalArgumentException.class,
                        "matmul", "float32", "float64"),
                c("view_bad_size", d -> t(d, 2, 3).view(4, 2), IllegalArgumentException.class, "view", "[4, 2]", "6"),
                c("view_two_inferred", d -> t(d, 2, 3).view(-1, -1), IllegalArgumentException.class, "view", "one dimension"),
                c("view_noncontiguous", d -> t(d, 2, 3).t().view(6), IllegalArgumentException.class, "view", "reshape"),
                c("reshape_bad_size", d -> t(d, 2, 3).reshape(7), IllegalArgumentException.class, "reshape", "[7]", "6"),
                c("dim_out_of_range", d -> t(d, 2, 3).sum(2), IndexOutOfBoundsException.class, "sum", "dim 2", "rank 2"),
                c("select_out_of_range", d -> t(d, 2, 3).select(1, 3), IndexOutOfBoundsException.class, "select", "index 3", "size 3"),
                c("narrow_out_of_range", d -> t(d, 4).narrow(0, 2, 3), IndexOutOfBoundsException.class, "narrow", "size 4"),
                c("expand_bad", d -> t(d, 2, 3).expand(4, 3), IllegalArgumentException.class, "expand", "[4, 3]"),
                c("permute_repeat", d -> t(d, 2, 3).permute(0, 0), IllegalArgumentException.class, "permute", "repeats"),
                c("cat_size_mismatch", d -> Tensor.cat(0, t(d, 2, 3), t(d, 2, 4)), IllegalArgumentException.class, "cat", "[2, 3]", "[2, 4]"),
                c("stack_shape_mismatch", d -> Tensor.stack(0, t(d, 2), t(d, 3)), IllegalArgumentException.class, "stack", "[2]", "[3]"),
                c("gather_float_index", d -> t(d, 2, 3).gather(1, t(d, 2, 1)), IllegalArgumentException.class, "gather", "int64"),
                c("gather_index_out_of_bounds", d -> t(d, 2, 3).gather(1, Tensor.of(5L, 0L).reshape(2, 1).to(d)),
                        IndexOutOfBoundsException.class, "gather", "index 5", "size 3"),
                c("index_select_out_of_bounds", d -> t(d, 2, 3).indexSelect(0, Tensor.of(0L, 2L).to(d)),
                        IndexOutOfBoundsException.class, "indexSelect", "index 2", "size 2"),
                c("where_float_condition", d -> Tensor.where(t(d, 2), t(d, 2), t(d, 2)), IllegalArgumentException.class, "where", "bool"),
                c("item_of_many", d -> t(d, 2, 2).item(), IllegalStateException.class, "item", "4 elements"),
                c("mean_of_int", d -> Tensor.arange(4).to(d).mean(), IllegalArgumentException.class, "mean", "int64"),
                c("requires_grad_int", d -> Tensor.arange(4).to(d).requiresGrad(true), IllegalArgumentException.class,
                        "requiresGrad", "int64"),
                c("in_place_broadcast_self", d -> t(d, 3).add_(t(d, 2, 3)), IllegalArgumentException.class, "add", "[2, 3]", "[3]"),
                c("in_place_float_into_int", d -> Tensor.arange(3).to(d).mul_(0.5), IllegalArgumentException.class,
                        "mul_", "float32", "int64"),
                c("negative_shape", d -> Tensor.zeros(2, -1), IllegalArgumentException.class, "negative", "[2, -1]"),
                c("from_array_size_mismatch", d -> Tensor.fromArray(new float[5], 2, 3), IllegalArgumentException.class,
                        "fromArray", "[2, 3]", "5"),
                c("t_of_3d", d -> t(d, 2, 3, 4).t(), IllegalArgumentException.class, "t", "3"),
                c("max_of_empty", d -> t(d, 0).max(), IllegalArgumentException.class, "amax", "empty"),
                c("softmax_of_int", d -> Tensor.arange(3).to(d).softmax(0), IllegalArgumentException.class, "softmax", "int64"));
    }
}
