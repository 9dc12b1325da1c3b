// Definitions shared by Kiln's kernels.
//
// Every .cu file of Kiln compiles three ways: with nvcc, with NVRTC at run time, and with g++
// against the CPU emulation (kiln_emu.h is force-included there). So: no standard headers, no
// <math.h>-only macros (INFINITY, NAN, M_PI), no dynamic shared memory, __syncthreads and warp
// shuffles only in control flow that is uniform across the block or the warp.
#pragma once

// Registers a kernel with the emulator; compiles to nothing for nvcc and NVRTC.
#ifndef KILN_EXPORT
#define KILN_EXPORT(fn)
#endif

#define KILN_MAX_DIMS 8
#define KILN_MAX_OPERANDS 4

// Shape and per-operand strides of a strided kernel, passed by value (parameter kind 'G',
// 336 bytes, 8-byte aligned). Strides are in elements and may be 0 (broadcast) or negative.
// Operand k is the k-th pointer parameter of the kernel (0 is usually the output). Byte
// offsets of a tensor's storage are applied to the pointers, not stored here.
struct KilnGeom {
  static constexpr char kiln_param_kind = 'G';
  int ndim;
  int reserved;
  long long numel;
  long long shape[KILN_MAX_DIMS];
  long long stride[KILN_MAX_OPERANDS][KILN_MAX_DIMS];
};

typedef unsigned char kiln_bool;   // bool storage: one byte; kernels write 0 or 1, read != 0
typedef unsigned short kiln_half;  // float16 and bfloat16 storage: the raw 16 bits

// The general case of kiln_offsets: one 64-bit division per dim (a long instruction sequence
// on the GPU); the dim loop stays a loop so that each kernel carries one copy of it.
template <int N>
__device__ __forceinline__ void kiln_offsets_nd(const KilnGeom& g, long long i, int dim, long long* at,
                                                long long* off) {
  for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll 1
  for (int d = g.ndim - 1; d >= 0; --d) {
    const long long s = g.shape[d];
    // 32-bit division is several times shorter than 64-bit on the GPU
    const long long q = ((unsigned long long)(i | s) >> 32) == 0 ? (long long)((unsigned)i / (unsigned)s) : i / s;
    const long long c = i - q * s;
    i = q;
    if (d == dim) *at = c;
    for (int k = 0; k < N; ++k) off[k] += c * g.stride[k][d];
  }
}

// Element offsets (in elements) of linear index i, row-major over g.shape, for operands 0..N-1.
// One dim (what a host that coalesces dims passes for contiguous data) needs no division.
template <int N>
__device__ __forceinline__ void kiln_offsets(const KilnGeom& g, long long i, long long (&off)[N]) {
  if (g.ndim <= 1) {
    for (int k = 0; k < N; ++k) off[k] = g.ndim == 1 ? i * g.stride[k][0] : 0;
    return;
  }
  long long unused = 0;
  kiln_offsets_nd<N>(g, i, -1, &unused, off);
}

// As kiln_offsets, and returns the coordinate of i along dimension dim.
template <int N>
__device__ __forceinline__ long long kiln_offsets_at(const KilnGeom& g, long long i, int dim,
                                                     long long (&off)[N]) {
  long long at = 0;
  kiln_offsets_nd<N>(g, i, dim, &at, off);
  return at;
}

#define KILN_GRID_STRIDE_LOOP(i, n)                                                \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long)blockDim.x * gridDim.x)

// ---- constants without <math.h> ----------------------------------------------------------

__device__ __forceinline__ float kiln_inf_f() { return __int_as_float(0x7f800000); }
__device__ __forceinline__ float kiln_nan_f() { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ double kiln_inf_d() { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ double kiln_nan_d() { return __longlong_as_double(0x7ff8000000000000LL); }

template <class T> struct KilnLimits;
template <> struct KilnLimits<float> {
  static __device__ __forceinline__ float lowest() { return -kiln_inf_f(); }
  static __device__ __forceinline__ float highest() { return kiln_inf_f(); }
  static __device__ __forceinline__ float nan() { return kiln_nan_f(); }
};
template <> struct KilnLimits<double> {
  static __device__ __forceinline__ double lowest() { return -kiln_inf_d(); }
  static __device__ __forceinline__ double highest() { return kiln_inf_d(); }
  static __device__ __forceinline__ double nan() { return kiln_nan_d(); }
};
template <> struct KilnLimits<long long> {
  static __device__ __forceinline__ long long lowest() { return -0x7fffffffffffffffLL - 1; }
  static __device__ __forceinline__ long long highest() { return 0x7fffffffffffffffLL; }
  static __device__ __forceinline__ long long nan() { return 0; }
};

template <class T>
__device__ __forceinline__ bool kiln_isnan(T x) { return x != x; }

// ---- float/double overloads of the device math library ----------------------------------

#define KILN_MATH1(NAME, FN_F, FN_D)                                               \
  __device__ __forceinline__ float NAME(float x) { return FN_F(x); }               \
  __device__ __forceinline__ double NAME(double x) { return FN_D(x); }
KILN_MATH1(kiln_exp, expf, exp)
KILN_MATH1(kiln_log, logf, log)
KILN_MATH1(kiln_sqrt, sqrtf, sqrt)
KILN_MATH1(kiln_rsqrt, rsqrtf, rsqrt)
KILN_MATH1(kiln_sin, sinf, sin)
KILN_MATH1(kiln_cos, cosf, cos)
KILN_MATH1(kiln_tanh, tanhf, tanh)
KILN_MATH1(kiln_floor, floorf, floor)
KILN_MATH1(kiln_ceil, ceilf, ceil)
KILN_MATH1(kiln_rint, rintf, rint)
KILN_MATH1(kiln_fabs, fabsf, fabs)
KILN_MATH1(kiln_log1p, log1pf, log1p)
KILN_MATH1(kiln_expm1, expm1f, expm1)
KILN_MATH1(kiln_erf, erff, erf)
#undef KILN_MATH1
__device__ __forceinline__ float kiln_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double kiln_pow(double a, double b) { return pow(a, b); }
__device__ __forceinline__ float kiln_fmod(float a, float b) { return fmodf(a, b); }
__device__ __forceinline__ double kiln_fmod(double a, double b) { return fmod(a, b); }

// ---- integer helpers: two's-complement wrap-around, as on the GPU, without C++ overflow UB --

__device__ __forceinline__ long long kiln_wrap_add(long long a, long long b) {
  return (long long)((unsigned long long)a + (unsigned long long)b);
}
__device__ __forceinline__ long long kiln_wrap_sub(long long a, long long b) {
  return (long long)((unsigned long long)a - (unsigned long long)b);
}
__device__ __forceinline__ long long kiln_wrap_mul(long long a, long long b) {
  return (long long)((unsigned long long)a * (unsigned long long)b);
}
__device__ __forceinline__ long long kiln_wrap_neg(long long a) {
  return (long long)(0ULL - (unsigned long long)a);
}

// double -> int64 with the GPU's cvt.rzi.s64 semantics: truncate, saturate, NaN -> 0.
__device__ __forceinline__ long long kiln_d2ll(double x) {
  if (x != x) return 0;
  if (x >= 9223372036854775808.0) return 0x7fffffffffffffffLL;
  if (x <= -9223372036854775808.0) return -0x7fffffffffffffffLL - 1;
  return (long long)x;
}

// ---- float16 / bfloat16 by bit manipulation (no cuda_fp16.h, so NVRTC needs no headers) ----

__device__ __forceinline__ float kiln_f16_to_f32(kiln_half h) {
  const unsigned sign = ((unsigned)h >> 15) & 1u;
  const unsigned exp = ((unsigned)h >> 10) & 0x1fu;
  const unsigned mant = (unsigned)h & 0x3ffu;
  if (exp == 0x1fu) return __uint_as_float((sign << 31) | 0x7f800000u | (mant << 13));
  if (exp == 0u) {
    const float v = (float)mant * __uint_as_float(0x33800000u);  // mant * 2^-24, exact
    return sign ? -v : v;
  }
  return __uint_as_float((sign << 31) | ((exp + 112u) << 23) | (mant << 13));
}

__device__ __forceinline__ float kiln_bf16_to_f32(kiln_half h) {
  return __uint_as_float((unsigned)h << 16);
}

// Rounds sign * mant * 2^e2 (mant != 0) to nearest-even in a binary format with ebits exponent
// and mbits fraction bits; returns the encoding. One rounding step, so float64 and int64
// sources convert without double rounding.
__device__ __forceinline__ unsigned kiln_round_to_format(unsigned sign, unsigned long long mant,
                                                         int e2, int ebits, int mbits) {
  const int bias = (1 << (ebits - 1)) - 1;
  const int emin = 1 - bias;
  const unsigned inf_bits = ((1u << ebits) - 1u) << mbits;
  const unsigned sign_bit = sign << (ebits + mbits);
  const int msb = 63 - __clzll((long long)mant);
  const int e = msb + e2;  // unbiased exponent of the leading bit
  if (e > bias) return sign_bit | inf_bits;
  const int lsb_exp = (e >= emin ? e : emin) - mbits;  // weight of the result's last bit
  const int shift = lsb_exp - e2;
  unsigned long long q;
  if (shift <= 0) {
    q = mant << (-shift);
  } else if (shift >= 65) {
    q = 0;
  } else if (shift == 64) {
    q = mant > 0x8000000000000000ULL ? 1 : 0;
  } else {
    q = mant >> shift;
    const unsigned long long rem = mant & ((1ULL << shift) - 1ULL);
    const unsigned long long half = 1ULL << (shift - 1);
    if (rem > half || (rem == half && (q & 1ULL))) ++q;
  }
  unsigned bits;
  if (e >= emin) {
    bits = (unsigned)((unsigned long long)(e + bias) << mbits) + (unsigned)(q - (1ULL << mbits));
    if (bits >= inf_bits) bits = inf_bits;
  } else {
    bits = (unsigned)q;  // subnormal; q == 2^mbits encodes the smallest normal correctly
  }
  return sign_bit | bits;
}

__device__ __forceinline__ kiln_half kiln_f64_to_half(double x, int ebits, int mbits, unsigned nan_bits) {
  const unsigned long long b = (unsigned long long)__double_as_longlong(x);
  const unsigned sign = (unsigned)(b >> 63);
  const int exp = (int)((b >> 52) & 0x7ffULL);
  const unsigned long long frac = b & 0xfffffffffffffULL;
  const unsigned sign_bit = sign << (ebits + mbits);
  if (exp == 0x7ff) return (kiln_half)(sign_bit | (frac ? nan_bits : (((1u << ebits) - 1u) << mbits)));
  if (exp == 0 && frac == 0) return (kiln_half)sign_bit;
  if (exp == 0) return (kiln_half)kiln_round_to_format(sign, frac, -1074, ebits, mbits);
  return (kiln_half)kiln_round_to_format(sign, frac | (1ULL << 52), exp - 1075, ebits, mbits);
}

__device__ __forceinline__ kiln_half kiln_f32_to_half(float x, int ebits, int mbits, unsigned nan_bits) {
  const unsigned b = __float_as_uint(x);
  const unsigned sign = b >> 31;
  const int exp = (int)((b >> 23) & 0xffu);
  const unsigned frac = b & 0x7fffffu;
  const unsigned sign_bit = sign << (ebits + mbits);
  if (exp == 0xff) return (kiln_half)(sign_bit | (frac ? nan_bits : (((1u << ebits) - 1u) << mbits)));
  if (exp == 0 && frac == 0) return (kiln_half)sign_bit;
  if (exp == 0) return (kiln_half)kiln_round_to_format(sign, frac, -149, ebits, mbits);
  return (kiln_half)kiln_round_to_format(sign, frac | 0x800000u, exp - 150, ebits, mbits);
}

__device__ __forceinline__ kiln_half kiln_i64_to_half(long long x, int ebits, int mbits) {
  if (x == 0) return 0;
  const unsigned sign = x < 0 ? 1u : 0u;
  const unsigned long long mag = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
  return (kiln_half)kiln_round_to_format(sign, mag, 0, ebits, mbits);
}

// Canonical quiet NaNs written for a NaN input (the sign is kept).
#define KILN_F16_NAN 0x7e00u
#define KILN_BF16_NAN 0x7fc0u

__device__ __forceinline__ kiln_half kiln_f32_to_f16(float x) { return kiln_f32_to_half(x, 5, 10, KILN_F16_NAN); }
__device__ __forceinline__ kiln_half kiln_f64_to_f16(double x) { return kiln_f64_to_half(x, 5, 10, KILN_F16_NAN); }
__device__ __forceinline__ kiln_half kiln_i64_to_f16(long long x) { return kiln_i64_to_half(x, 5, 10); }
__device__ __forceinline__ kiln_half kiln_f32_to_bf16(float x) { return kiln_f32_to_half(x, 8, 7, KILN_BF16_NAN); }
__device__ __forceinline__ kiln_half kiln_f64_to_bf16(double x) { return kiln_f64_to_half(x, 8, 7, KILN_BF16_NAN); }
__device__ __forceinline__ kiln_half kiln_i64_to_bf16(long long x) { return kiln_i64_to_half(x, 8, 7); }

// ---- block and warp reductions -----------------------------------------------------------
// Require a one-dimensional block whose size is a multiple of 32 (at most 1024); every thread
// of the block must call them (they contain __syncthreads).

template <class Op, class T>
__device__ __forceinline__ T kiln_warp_reduce(T v) {
  for (int o = 16; o > 0; o >>= 1) v = Op::combine(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;  // complete in lane 0
}

// Returns the reduction of v over the block in every thread.
template <class Op, class T>
__device__ T kiln_block_reduce(T v) {
  __shared__ T partial[32];
  const unsigned lane = threadIdx.x & 31u;
  const unsigned warp = threadIdx.x >> 5;
  const unsigned nwarps = blockDim.x >> 5;
  v = kiln_warp_reduce<Op>(v);
  __syncthreads();  // a previous call may still be reading partial
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? partial[lane] : Op::identity();
    v = kiln_warp_reduce<Op>(v);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

template <class T>
struct KilnSumOp {
  static __device__ __forceinline__ T identity() { return (T)0; }
  static __device__ __forceinline__ T combine(T a, T b) { return a + b; }
};
template <>
struct KilnSumOp<long long> {
  static __device__ __forceinline__ long long identity() { return 0; }
  static __device__ __forceinline__ long long combine(long long a, long long b) { return kiln_wrap_add(a, b); }
};
template <class T>
struct KilnProdOp {
  static __device__ __forceinline__ T identity() { return (T)1; }
  static __device__ __forceinline__ T combine(T a, T b) { return a * b; }
};
template <>
struct KilnProdOp<long long> {
  static __device__ __forceinline__ long long identity() { return 1; }
  static __device__ __forceinline__ long long combine(long long a, long long b) { return kiln_wrap_mul(a, b); }
};
// max/min propagate NaN, as torch.max and torch.amax do.
template <class T>
struct KilnMaxOp {
  static __device__ __forceinline__ T identity() { return KilnLimits<T>::lowest(); }
  static __device__ __forceinline__ T combine(T a, T b) {
    return kiln_isnan(a) ? a : (kiln_isnan(b) ? b : (a > b ? a : b));
  }
};
template <class T>
struct KilnMinOp {
  static __device__ __forceinline__ T identity() { return KilnLimits<T>::highest(); }
  static __device__ __forceinline__ T combine(T a, T b) {
    return kiln_isnan(a) ? a : (kiln_isnan(b) ? b : (a < b ? a : b));
  }
};
struct KilnAndOp {
  static __device__ __forceinline__ int identity() { return 1; }
  static __device__ __forceinline__ int combine(int a, int b) { return a & b; }
};
struct KilnOrOp {
  static __device__ __forceinline__ int identity() { return 0; }
  static __device__ __forceinline__ int combine(int a, int b) { return a | b; }
};

// ---- Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC11) -----
// Counter (c0..c3), key (k0, k1); ten rounds, the key bumped between rounds.
__device__ __forceinline__ void kiln_philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                                                   unsigned k0, unsigned k1, unsigned out[4]) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const unsigned hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    const unsigned hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    const unsigned n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// Kiln's stream: block number b uses counter (lo32(b), hi32(b), 0, 0) and key (lo32(seed), hi32(seed)).
__device__ __forceinline__ void kiln_philox_block(unsigned long long seed, unsigned long long b, unsigned out[4]) {
  kiln_philox4x32_10((unsigned)b, (unsigned)(b >> 32), 0u, 0u, (unsigned)seed, (unsigned)(seed >> 32), out);
}

// Uniform float in [0, 1) from 32 random bits: the top 24 bits times 2^-24.
__device__ __forceinline__ float kiln_u01_f32(unsigned x) {
  return (float)(x >> 8) * __uint_as_float(0x33800000u);
}
