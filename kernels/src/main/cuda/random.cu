// Counter-based random numbers: Philox4x32-10 with key = the 64-bit seed and counter = the
// 64-bit block number, see kiln_philox_block. Every element is a pure function of
// (seed, offset, i), so any launch configuration, the emulator and the CPU backend
// (dev.kiln.Philox, which defines the same stream) all draw the same numbers. Outputs are
// contiguous arrays of n elements; w0..w3 are the words of a block.
//
// kiln_rand_uniform_f32(out, n, seed, offset, low, high): element i takes word i % 4 of block
//   offset + i / 4 as x, u = (x >> 8) * 2^-24, and writes (float)(low + u * (high - low))
//   computed in float64, or the float below high if that rounds up to high. ceil(n/4) blocks.
// kiln_rand_uniform_f64: element i takes words a = w[2*(i%2)], b = w[2*(i%2)+1] of block
//   offset + i / 2, u = ((a >> 5) * 2^26 + (b >> 6)) * 2^-53, and writes low + u * (high - low).
//   ceil(n/2) blocks.
// kiln_rand_normal_<dt>(out, n, seed, offset, mean, std): element i uses block offset + i:
//   u1 = 1 - U(w0, w1), u2 = U(w2, w3) with U the 53-bit map of uniform_f64 (u1 is in (0, 1],
//   so the log is finite), z = sqrt(-2 ln u1) * cos(2 pi u2), and writes mean + std * z
//   computed in float64 (rounded once to float32 for f32). n blocks.
// kiln_dropout_<dt>(out, mask, in, n, seed, offset, p): u as for uniform_f32 (block
//   offset + i / 4, word i % 4); keep when u >= p: mask = 1, out = in * (1 / (1 - p)); else
//   mask = 0, out = 0. ceil(n/4) blocks.
// Products and sums use __dmul_rn/__dadd_rn so that nvcc cannot fuse them into an FMA that the
// CPU backend would not.
#include "kiln_common.cuh"

__device__ __forceinline__ double kiln_u53(unsigned a, unsigned b) {
  return ((double)(a >> 5) * 67108864.0 + (double)(b >> 6)) * 1.1102230246251565404e-16;  // 2^-53
}

extern "C" __global__ void kiln_rand_uniform_f32(float* out, long long n, long long seed, long long offset,
                                                 double low, double high) {
  const double span = high - low;
  const float below_high = nextafterf((float)high, -kiln_inf_f());
  KILN_GRID_STRIDE_LOOP(i, n) {
    unsigned r[4];
    kiln_philox_block((unsigned long long)seed, (unsigned long long)offset + (unsigned long long)(i >> 2), r);
    const float f = (float)__dadd_rn(low, __dmul_rn((double)kiln_u01_f32(r[i & 3]), span));
    out[i] = ((double)f >= high && span > 0.0) ? below_high : f;
  }
}
KILN_EXPORT(kiln_rand_uniform_f32)

extern "C" __global__ void kiln_rand_uniform_f64(double* out, long long n, long long seed, long long offset,
                                                 double low, double high) {
  const double span = high - low;
  KILN_GRID_STRIDE_LOOP(i, n) {
    unsigned r[4];
    kiln_philox_block((unsigned long long)seed, (unsigned long long)offset + (unsigned long long)(i >> 1), r);
    const int k = (int)(i & 1) * 2;
    out[i] = __dadd_rn(low, __dmul_rn(kiln_u53(r[k], r[k + 1]), span));
  }
}
KILN_EXPORT(kiln_rand_uniform_f64)

__device__ __forceinline__ double kiln_normal_from_block(const unsigned r[4]) {
  const double u1 = 1.0 - kiln_u53(r[0], r[1]);
  const double u2 = kiln_u53(r[2], r[3]);
  return __dmul_rn(sqrt(-2.0 * log(u1)), cos(__dmul_rn(6.283185307179586476925, u2)));
}

extern "C" __global__ void kiln_rand_normal_f32(float* out, long long n, long long seed, long long offset,
                                                double mean, double std) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    unsigned r[4];
    kiln_philox_block((unsigned long long)seed, (unsigned long long)offset + (unsigned long long)i, r);
    out[i] = (float)__dadd_rn(mean, __dmul_rn(std, kiln_normal_from_block(r)));
  }
}
KILN_EXPORT(kiln_rand_normal_f32)

extern "C" __global__ void kiln_rand_normal_f64(double* out, long long n, long long seed, long long offset,
                                                double mean, double std) {
  KILN_GRID_STRIDE_LOOP(i, n) {
    unsigned r[4];
    kiln_philox_block((unsigned long long)seed, (unsigned long long)offset + (unsigned long long)i, r);
    out[i] = __dadd_rn(mean, __dmul_rn(std, kiln_normal_from_block(r)));
  }
}
KILN_EXPORT(kiln_rand_normal_f64)

#define KILN_DROPOUT(SUF, T)                                                                           \
  extern "C" __global__ void kiln_dropout_##SUF(T* out, kiln_bool* mask, const T* in, long long n,     \
                                                long long seed, long long offset, double p) {          \
    const T scale = p < 1.0 ? (T)(1.0 / (1.0 - p)) : (T)0;                                             \
    KILN_GRID_STRIDE_LOOP(i, n) {                                                                      \
      unsigned r[4];                                                                                   \
      kiln_philox_block((unsigned long long)seed, (unsigned long long)offset + (unsigned long long)(i >> 2), r); \
      const bool keep = (double)kiln_u01_f32(r[i & 3]) >= p;                                           \
      mask[i] = keep ? 1 : 0;                                                                          \
      out[i] = keep ? in[i] * scale : (T)0;                                                            \
    }                                                                                                  \
  }                                                                                                    \
  KILN_EXPORT(kiln_dropout_##SUF)

KILN_DROPOUT(f32, float)
KILN_DROPOUT(f64, double)
