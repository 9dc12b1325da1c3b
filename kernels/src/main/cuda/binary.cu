// Strided elementwise binary kernels kiln_binary_<op>_<dtype>(out, a, b, geom) and the ternary
// kiln_where_<dtype>(out, cond, a, b, geom). geom operands: 0 out, 1 a, 2 b (3 for where's b,
// 1 its cond); broadcasting is a stride of 0. Comparisons and logical ops write bool.
#include "kiln_common.cuh"

// torch.maximum/minimum: NaN in either operand gives NaN.
template <class T> __device__ __forceinline__ T kiln_maximum(T a, T b) {
  return kiln_isnan(a) ? a : (kiln_isnan(b) ? b : (a > b ? a : b));
}
template <class T> __device__ __forceinline__ T kiln_minimum(T a, T b) {
  return kiln_isnan(a) ? a : (kiln_isnan(b) ? b : (a < b ? a : b));
}
// Python's %: the result takes the sign of the divisor.
template <class T> __device__ __forceinline__ T kiln_remainder(T a, T b) {
  T r = kiln_fmod(a, b);
  if (r != (T)0 && ((r < (T)0) != (b < (T)0))) r += b;
  return r;
}
// int64 division truncates toward zero; x / 0 and x % 0 give 0 (a GPU would not trap either).
__device__ __forceinline__ long long kiln_div_i64(long long a, long long b) {
  if (b == 0) return 0;
  if (b == -1) return kiln_wrap_neg(a);
  return a / b;
}
__device__ __forceinline__ long long kiln_remainder_i64(long long a, long long b) {
  if (b == 0 || b == -1) return 0;
  long long r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
// Integer power by squaring, wrapping on overflow; a negative exponent gives 1/a truncated.
__device__ __forceinline__ long long kiln_pow_i64(long long a, long long e) {
  if (e < 0) return a == 1 ? 1 : (a == -1 ? ((e & 1) ? -1 : 1) : 0);
  long long r = 1;
  while (e > 0) {
    if (e & 1) r = kiln_wrap_mul(r, a);
    a = kiln_wrap_mul(a, a);
    e >>= 1;
  }
  return r;
}

#define KILN_BINARY_KERNEL(NAME, SUF, TIN, TOUT, EXPR)                                         \
  extern "C" __global__ void kiln_binary_##NAME##_##SUF(TOUT* out, const TIN* a, const TIN* b, \
                                                        KilnGeom g) {                         \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                       \
      long long off[3];                                                                       \
      kiln_offsets<3>(g, i, off);                                                             \
      const TIN x = a[off[1]];                                                                \
      const TIN y = b[off[2]];                                                                \
      out[off[0]] = (EXPR);                                                                   \
    }                                                                                         \
  }                                                                                           \
  KILN_EXPORT(kiln_binary_##NAME##_##SUF)

#define KILN_BINARY_COMPARE(SUF, T)                                            \
  KILN_BINARY_KERNEL(eq, SUF, T, kiln_bool, (kiln_bool)(x == y))               \
  KILN_BINARY_KERNEL(ne, SUF, T, kiln_bool, (kiln_bool)(x != y))               \
  KILN_BINARY_KERNEL(lt, SUF, T, kiln_bool, (kiln_bool)(x < y))                \
  KILN_BINARY_KERNEL(le, SUF, T, kiln_bool, (kiln_bool)(x <= y))               \
  KILN_BINARY_KERNEL(gt, SUF, T, kiln_bool, (kiln_bool)(x > y))                \
  KILN_BINARY_KERNEL(ge, SUF, T, kiln_bool, (kiln_bool)(x >= y))               \
  KILN_BINARY_KERNEL(logical_and, SUF, T, kiln_bool, (kiln_bool)(x != 0 && y != 0)) \
  KILN_BINARY_KERNEL(logical_or, SUF, T, kiln_bool, (kiln_bool)(x != 0 || y != 0))

#define KILN_BINARY_FLOAT(SUF, T)                                        \
  KILN_BINARY_KERNEL(add, SUF, T, T, x + y)                              \
  KILN_BINARY_KERNEL(sub, SUF, T, T, x - y)                              \
  KILN_BINARY_KERNEL(mul, SUF, T, T, x * y)                              \
  KILN_BINARY_KERNEL(div, SUF, T, T, x / y)                              \
  KILN_BINARY_KERNEL(pow, SUF, T, T, kiln_pow(x, y))                     \
  KILN_BINARY_KERNEL(maximum, SUF, T, T, kiln_maximum(x, y))             \
  KILN_BINARY_KERNEL(minimum, SUF, T, T, kiln_minimum(x, y))             \
  KILN_BINARY_KERNEL(remainder, SUF, T, T, kiln_remainder(x, y))         \
  KILN_BINARY_COMPARE(SUF, T)

KILN_BINARY_FLOAT(f32, float)
KILN_BINARY_FLOAT(f64, double)

KILN_BINARY_KERNEL(add, i64, long long, long long, kiln_wrap_add(x, y))
KILN_BINARY_KERNEL(sub, i64, long long, long long, kiln_wrap_sub(x, y))
KILN_BINARY_KERNEL(mul, i64, long long, long long, kiln_wrap_mul(x, y))
KILN_BINARY_KERNEL(div, i64, long long, long long, kiln_div_i64(x, y))
KILN_BINARY_KERNEL(pow, i64, long long, long long, kiln_pow_i64(x, y))
KILN_BINARY_KERNEL(maximum, i64, long long, long long, x > y ? x : y)
KILN_BINARY_KERNEL(minimum, i64, long long, long long, x < y ? x : y)
KILN_BINARY_KERNEL(remainder, i64, long long, long long, kiln_remainder_i64(x, y))
KILN_BINARY_COMPARE(i64, long long)

// bool operands are compared as truth values, so any non-zero byte counts as true.
KILN_BINARY_KERNEL(eq, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) == (y != 0)))
KILN_BINARY_KERNEL(ne, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) != (y != 0)))
KILN_BINARY_KERNEL(lt, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) < (y != 0)))
KILN_BINARY_KERNEL(le, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) <= (y != 0)))
KILN_BINARY_KERNEL(gt, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) > (y != 0)))
KILN_BINARY_KERNEL(ge, bool, kiln_bool, kiln_bool, (kiln_bool)((x != 0) >= (y != 0)))
KILN_BINARY_KERNEL(logical_and, bool, kiln_bool, kiln_bool, (kiln_bool)(x != 0 && y != 0))
KILN_BINARY_KERNEL(logical_or, bool, kiln_bool, kiln_bool, (kiln_bool)(x != 0 || y != 0))
KILN_BINARY_KERNEL(maximum, bool, kiln_bool, kiln_bool, (kiln_bool)(x != 0 || y != 0))
KILN_BINARY_KERNEL(minimum, bool, kiln_bool, kiln_bool, (kiln_bool)(x != 0 && y != 0))

#define KILN_WHERE_KERNEL(SUF, T)                                                              \
  extern "C" __global__ void kiln_where_##SUF(T* out, const kiln_bool* cond, const T* a,       \
                                              const T* b, KilnGeom g) {                        \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                        \
      long long off[4];                                                                        \
      kiln_offsets<4>(g, i, off);                                                              \
      out[off[0]] = cond[off[1]] != 0 ? a[off[2]] : b[off[3]];                                 \
    }                                                                                          \
  }                                                                                            \
  KILN_EXPORT(kiln_where_##SUF)

KILN_WHERE_KERNEL(f32, float)
KILN_WHERE_KERNEL(f64, double)
KILN_WHERE_KERNEL(i64, long long)
KILN_WHERE_KERNEL(bool, kiln_bool)
KILN_WHERE_KERNEL(f16, kiln_half)
KILN_WHERE_KERNEL(bf16, kiln_half)
