// Strided elementwise unary kernels: kiln_unary_<op>_<dtype>(out, in, geom, p0, p1).
// geom operand 0 is out, operand 1 is in; p0/p1 carry the scalar parameters of CLAMP
// (lo, hi; +-inf for an absent bound), LEAKY_RELU (slope) and ELU (alpha), and are ignored by
// the other ops. NaN propagates through every float op except SIGN, which maps NaN to 0.
#include "kiln_common.cuh"

template <class T> __device__ __forceinline__ T kiln_sigmoid(T x) {
  // Two branches so that exp never overflows: exp(-|x|) is at most 1.
  if (x >= (T)0) return (T)1 / ((T)1 + kiln_exp(-x));
  const T e = kiln_exp(x);
  return e / ((T)1 + e);
}
template <class T> __device__ __forceinline__ T kiln_relu(T x) {
  return x > (T)0 ? x : (kiln_isnan(x) ? x : (T)0);
}
template <class T> __device__ __forceinline__ T kiln_gelu(T x) {
  // exact GELU: x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))
  return (T)0.5 * x * ((T)1 + kiln_erf(x * (T)0.70710678118654752440));
}
template <class T> __device__ __forceinline__ T kiln_silu(T x) { return x * kiln_sigmoid(x); }
template <class T> __device__ __forceinline__ T kiln_sign(T x) {
  return x > (T)0 ? (T)1 : (x < (T)0 ? (T)-1 : (T)0);
}
template <class T> __device__ __forceinline__ T kiln_clamp(T x, T lo, T hi) {
  // min(max(x, lo), hi) with NaN kept; lo > hi gives hi everywhere, as in torch.clamp
  T r = x < lo ? lo : x;
  return r > hi ? hi : r;
}
template <class T> __device__ __forceinline__ T kiln_leaky_relu(T x, T slope) { return x > (T)0 ? x : x * slope; }
template <class T> __device__ __forceinline__ T kiln_elu(T x, T alpha) { return x > (T)0 ? x : alpha * kiln_expm1(x); }

// Clamp bounds for int64: lo rounds up, hi rounds down, +-inf and out-of-range saturate.
__device__ __forceinline__ long long kiln_lo_bound(double lo) {
  return lo != lo ? KilnLimits<long long>::lowest() : kiln_d2ll(ceil(lo));
}
__device__ __forceinline__ long long kiln_hi_bound(double hi) {
  return hi != hi ? KilnLimits<long long>::highest() : kiln_d2ll(floor(hi));
}

#define KILN_UNARY_KERNEL(NAME, SUF, TIN, TOUT, EXPR)                                            \
  extern "C" __global__ void kiln_unary_##NAME##_##SUF(TOUT* out, const TIN* in, KilnGeom g,     \
                                                       double p0, double p1) {                  \
    typedef TIN kiln_t;                                                                         \
    (void)sizeof(kiln_t);                                                                       \
    (void)p0;                                                                                   \
    (void)p1;                                                                                   \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                         \
      long long off[2];                                                                         \
      kiln_offsets<2>(g, i, off);                                                               \
      const TIN x = in[off[1]];                                                                 \
      out[off[0]] = (EXPR);                                                                     \
    }                                                                                           \
  }                                                                                             \
  KILN_EXPORT(kiln_unary_##NAME##_##SUF)

#define KILN_UNARY_FLOAT(NAME, EXPR)                  \
  KILN_UNARY_KERNEL(NAME, f32, float, float, EXPR)    \
  KILN_UNARY_KERNEL(NAME, f64, double, double, EXPR)

KILN_UNARY_FLOAT(neg, -x)
KILN_UNARY_FLOAT(abs, kiln_fabs(x))
KILN_UNARY_FLOAT(exp, kiln_exp(x))
KILN_UNARY_FLOAT(log, kiln_log(x))
KILN_UNARY_FLOAT(sqrt, kiln_sqrt(x))
KILN_UNARY_FLOAT(rsqrt, kiln_rsqrt(x))
KILN_UNARY_FLOAT(sin, kiln_sin(x))
KILN_UNARY_FLOAT(cos, kiln_cos(x))
KILN_UNARY_FLOAT(tanh, kiln_tanh(x))
KILN_UNARY_FLOAT(sigmoid, kiln_sigmoid(x))
KILN_UNARY_FLOAT(relu, kiln_relu(x))
KILN_UNARY_FLOAT(gelu, kiln_gelu(x))
KILN_UNARY_FLOAT(silu, kiln_silu(x))
KILN_UNARY_FLOAT(sign, kiln_sign(x))
KILN_UNARY_FLOAT(floor, kiln_floor(x))
KILN_UNARY_FLOAT(ceil, kiln_ceil(x))
KILN_UNARY_FLOAT(round, kiln_rint(x))
KILN_UNARY_FLOAT(reciprocal, (kiln_t)1 / x)
KILN_UNARY_FLOAT(square, x * x)
KILN_UNARY_FLOAT(log1p, kiln_log1p(x))
KILN_UNARY_FLOAT(expm1, kiln_expm1(x))
KILN_UNARY_FLOAT(erf, kiln_erf(x))
KILN_UNARY_FLOAT(clamp, kiln_clamp(x, (kiln_t)p0, (kiln_t)p1))
KILN_UNARY_FLOAT(leaky_relu, kiln_leaky_relu(x, (kiln_t)p0))
KILN_UNARY_FLOAT(elu, kiln_elu(x, (kiln_t)p0))

KILN_UNARY_KERNEL(neg, i64, long long, long long, kiln_wrap_neg(x))
KILN_UNARY_KERNEL(abs, i64, long long, long long, x < 0 ? kiln_wrap_neg(x) : x)
KILN_UNARY_KERNEL(sign, i64, long long, long long, (long long)((x > 0) - (x < 0)))
KILN_UNARY_KERNEL(square, i64, long long, long long, kiln_wrap_mul(x, x))
KILN_UNARY_KERNEL(relu, i64, long long, long long, x > 0 ? x : 0LL)
KILN_UNARY_KERNEL(clamp, i64, long long, long long, kiln_clamp(x, kiln_lo_bound(p0), kiln_hi_bound(p1)))

KILN_UNARY_KERNEL(logical_not, f32, float, kiln_bool, (kiln_bool)(x == 0.0f))
KILN_UNARY_KERNEL(logical_not, f64, double, kiln_bool, (kiln_bool)(x == 0.0))
KILN_UNARY_KERNEL(logical_not, i64, long long, kiln_bool, (kiln_bool)(x == 0))
KILN_UNARY_KERNEL(logical_not, bool, kiln_bool, kiln_bool, (kiln_bool)(x == 0))
