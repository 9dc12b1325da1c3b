// Casts and fills. kiln_cast_<from>_<to>(out, in, geom) is also the strided copy (from == to);
// geom operand 0 is out, 1 is in. kiln_fill_<dtype>(out, geom, bits) writes the element whose
// bit pattern is the low bits of `bits` (a float32 1.0 is 0x3f800000), exact for every dtype.
//
// Conversions: float -> int64 truncates toward zero and saturates, NaN -> 0 (the GPU's
// cvt.rzi); anything -> bool is x != 0 (NaN is true); to float16/bfloat16 rounds to nearest
// even in one step from the source value, overflow gives inf, NaN gives a quiet NaN.
#include "kiln_common.cuh"

__device__ __forceinline__ double kiln_half_to_f64(kiln_half h, bool bf) {
  return (double)(bf ? kiln_bf16_to_f32(h) : kiln_f16_to_f32(h));
}

// Converters, named kiln_cvt_<from>_<to>.
#define KILN_CVT(FROM, TO, TIN, TOUT, EXPR) \
  __device__ __forceinline__ TOUT kiln_cvt_##FROM##_##TO(TIN x) { return (EXPR); }

KILN_CVT(f32, f32, float, float, x)
KILN_CVT(f64, f32, double, float, (float)x)
KILN_CVT(i64, f32, long long, float, (float)x)
KILN_CVT(bool, f32, kiln_bool, float, x != 0 ? 1.0f : 0.0f)
KILN_CVT(f16, f32, kiln_half, float, kiln_f16_to_f32(x))
KILN_CVT(bf16, f32, kiln_half, float, kiln_bf16_to_f32(x))

KILN_CVT(f32, f64, float, double, (double)x)
KILN_CVT(f64, f64, double, double, x)
KILN_CVT(i64, f64, long long, double, (double)x)
KILN_CVT(bool, f64, kiln_bool, double, x != 0 ? 1.0 : 0.0)
KILN_CVT(f16, f64, kiln_half, double, kiln_half_to_f64(x, false))
KILN_CVT(bf16, f64, kiln_half, double, kiln_half_to_f64(x, true))

KILN_CVT(f32, i64, float, long long, kiln_d2ll((double)x))
KILN_CVT(f64, i64, double, long long, kiln_d2ll(x))
KILN_CVT(i64, i64, long long, long long, x)
KILN_CVT(bool, i64, kiln_bool, long long, x != 0 ? 1LL : 0LL)
KILN_CVT(f16, i64, kiln_half, long long, kiln_d2ll(kiln_half_to_f64(x, false)))
KILN_CVT(bf16, i64, kiln_half, long long, kiln_d2ll(kiln_half_to_f64(x, true)))

KILN_CVT(f32, bool, float, kiln_bool, (kiln_bool)(x != 0.0f))
KILN_CVT(f64, bool, double, kiln_bool, (kiln_bool)(x != 0.0))
KILN_CVT(i64, bool, long long, kiln_bool, (kiln_bool)(x != 0))
KILN_CVT(bool, bool, kiln_bool, kiln_bool, (kiln_bool)(x != 0))
KILN_CVT(f16, bool, kiln_half, kiln_bool, (kiln_bool)((x & 0x7fffu) != 0))
KILN_CVT(bf16, bool, kiln_half, kiln_bool, (kiln_bool)((x & 0x7fffu) != 0))

KILN_CVT(f32, f16, float, kiln_half, kiln_f32_to_f16(x))
KILN_CVT(f64, f16, double, kiln_half, kiln_f64_to_f16(x))
KILN_CVT(i64, f16, long long, kiln_half, kiln_i64_to_f16(x))
KILN_CVT(bool, f16, kiln_bool, kiln_half, (kiln_half)(x != 0 ? 0x3c00u : 0u))
KILN_CVT(f16, f16, kiln_half, kiln_half, x)
KILN_CVT(bf16, f16, kiln_half, kiln_half, kiln_f32_to_f16(kiln_bf16_to_f32(x)))

KILN_CVT(f32, bf16, float, kiln_half, kiln_f32_to_bf16(x))
KILN_CVT(f64, bf16, double, kiln_half, kiln_f64_to_bf16(x))
KILN_CVT(i64, bf16, long long, kiln_half, kiln_i64_to_bf16(x))
KILN_CVT(bool, bf16, kiln_bool, kiln_half, (kiln_half)(x != 0 ? 0x3f80u : 0u))
KILN_CVT(f16, bf16, kiln_half, kiln_half, kiln_f32_to_bf16(kiln_f16_to_f32(x)))
KILN_CVT(bf16, bf16, kiln_half, kiln_half, x)

#define KILN_CAST_KERNEL(FROM, TO, TIN, TOUT)                                                     \
  extern "C" __global__ void kiln_cast_##FROM##_##TO(TOUT* out, const TIN* in, KilnGeom g) {      \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                           \
      long long off[2];                                                                           \
      kiln_offsets<2>(g, i, off);                                                                 \
      out[off[0]] = kiln_cvt_##FROM##_##TO(in[off[1]]);                                           \
    }                                                                                             \
  }                                                                                               \
  KILN_EXPORT(kiln_cast_##FROM##_##TO)

#define KILN_CAST_FROM(FROM, TIN)                   \
  KILN_CAST_KERNEL(FROM, f32, TIN, float)           \
  KILN_CAST_KERNEL(FROM, f64, TIN, double)          \
  KILN_CAST_KERNEL(FROM, i64, TIN, long long)       \
  KILN_CAST_KERNEL(FROM, bool, TIN, kiln_bool)      \
  KILN_CAST_KERNEL(FROM, f16, TIN, kiln_half)       \
  KILN_CAST_KERNEL(FROM, bf16, TIN, kiln_half)

KILN_CAST_FROM(f32, float)
KILN_CAST_FROM(f64, double)
KILN_CAST_FROM(i64, long long)
KILN_CAST_FROM(bool, kiln_bool)
KILN_CAST_FROM(f16, kiln_half)
KILN_CAST_FROM(bf16, kiln_half)

#define KILN_FILL_KERNEL(SUF, T, EXPR)                                                  \
  extern "C" __global__ void kiln_fill_##SUF(T* out, KilnGeom g, long long bits) {      \
    const T v = (EXPR);                                                                 \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                 \
      long long off[1];                                                                 \
      kiln_offsets<1>(g, i, off);                                                       \
      out[off[0]] = v;                                                                  \
    }                                                                                   \
  }                                                                                     \
  KILN_EXPORT(kiln_fill_##SUF)

KILN_FILL_KERNEL(f32, float, __uint_as_float((unsigned)bits))
KILN_FILL_KERNEL(f64, double, __longlong_as_double(bits))
KILN_FILL_KERNEL(i64, long long, bits)
KILN_FILL_KERNEL(bool, kiln_bool, (kiln_bool)bits)
KILN_FILL_KERNEL(f16, kiln_half, (kiln_half)bits)
KILN_FILL_KERNEL(bf16, kiln_half, (kiln_half)bits)
