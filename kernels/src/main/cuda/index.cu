// Gather / scatter / index kernels along one dim. Indices are int64; an index outside
// [0, dim_size) is never dereferenced: gather and index_select write 0 (all bits zero) there,
// scatter, scatter_add and index_add skip it. (PyTorch raises on such indices; a kernel cannot,
// so the host validates them when it wants an error.)
//
// kiln_gather_<dt>(out, in, index, geom, dim, in_dim_size, in_dim_stride)
//   geom.shape = index.shape = out.shape; operands 0 out, 1 in (its stride along dim is
//   ignored), 2 index. out[p] = in[p with coordinate dim replaced by index[p]].
// kiln_scatter_<dt>(out, index, src, geom, dim, out_dim_size, out_dim_stride)
//   geom.shape = index.shape; operands 0 out (stride along dim ignored), 1 index, 2 src.
//   out[p with coordinate dim replaced by index[p]] = src[p]; duplicates: one of them wins.
// kiln_scatter_add_<dt>: as scatter, accumulating with atomicAdd (order, so float rounding, is
//   unspecified).
// kiln_index_select_<dt>(out, in, index, geom, dim, in_dim_size, in_dim_stride, index_stride)
//   geom.shape = out.shape; operands 0 out, 1 in (stride along dim ignored); index is 1-D with
//   index_stride. out[p] = in[p with coordinate dim replaced by index[p[dim]]].
// kiln_index_add_<dt>(out, index, src, geom, dim, out_dim_size, out_dim_stride, index_stride)
//   geom.shape = src.shape; operands 0 out (stride along dim ignored), 2 src; index 1-D.
//   out[p with coordinate dim replaced by index[p[dim]]] += src[p], atomically.
#include "kiln_common.cuh"

#define KILN_GATHER(SUF, T)                                                                      \
  extern "C" __global__ void kiln_gather_##SUF(T* out, const T* in, const long long* index,       \
                                               KilnGeom g, long long dim, long long dim_size,     \
                                               long long dim_stride) {                            \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                          \
      long long off[3];                                                                          \
      const long long at = kiln_offsets_at<3>(g, i, (int)dim, off);                              \
      const long long j = index[off[2]];                                                         \
      off[1] -= at * g.stride[1][dim];                                                           \
      out[off[0]] = (j >= 0 && j < dim_size) ? in[off[1] + j * dim_stride] : (T)0;               \
    }                                                                                            \
  }                                                                                              \
  KILN_EXPORT(kiln_gather_##SUF)                                                                 \
  extern "C" __global__ void kiln_scatter_##SUF(T* out, const long long* index, const T* src,    \
                                                KilnGeom g, long long dim, long long dim_size,    \
                                                long long dim_stride) {                           \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                          \
      long long off[3];                                                                          \
      const long long at = kiln_offsets_at<3>(g, i, (int)dim, off);                              \
      const long long j = index[off[1]];                                                         \
      off[0] -= at * g.stride[0][dim];                                                           \
      if (j >= 0 && j < dim_size) out[off[0] + j * dim_stride] = src[off[2]];                    \
    }                                                                                            \
  }                                                                                              \
  KILN_EXPORT(kiln_scatter_##SUF)                                                                \
  extern "C" __global__ void kiln_index_select_##SUF(T* out, const T* in, const long long* index, \
                                                     KilnGeom g, long long dim, long long dim_size, \
                                                     long long dim_stride, long long index_stride) { \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                          \
      long long off[2];                                                                          \
      const long long at = kiln_offsets_at<2>(g, i, (int)dim, off);                              \
      const long long j = index[at * index_stride];                                              \
      off[1] -= at * g.stride[1][dim];                                                           \
      out[off[0]] = (j >= 0 && j < dim_size) ? in[off[1] + j * dim_stride] : (T)0;               \
    }                                                                                            \
  }                                                                                              \
  KILN_EXPORT(kiln_index_select_##SUF)

KILN_GATHER(f32, float)
KILN_GATHER(f64, double)
KILN_GATHER(i64, long long)
KILN_GATHER(bool, kiln_bool)
KILN_GATHER(f16, kiln_half)
KILN_GATHER(bf16, kiln_half)

// atomicAdd has no signed 64-bit overload; two's-complement addition is the same on the bits.
__device__ __forceinline__ void kiln_atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void kiln_atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void kiln_atomic_add(long long* p, long long v) {
  atomicAdd((unsigned long long*)p, (unsigned long long)v);
}

#define KILN_ACCUMULATE(SUF, T)                                                                  \
  extern "C" __global__ void kiln_scatter_add_##SUF(T* out, const long long* index, const T* src, \
                                                    KilnGeom g, long long dim, long long dim_size, \
                                                    long long dim_stride) {                       \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                          \
      long long off[3];                                                                          \
      const long long at = kiln_offsets_at<3>(g, i, (int)dim, off);                              \
      const long long j = index[off[1]];                                                         \
      off[0] -= at * g.stride[0][dim];                                                           \
      if (j >= 0 && j < dim_size) kiln_atomic_add(out + off[0] + j * dim_stride, src[off[2]]);   \
    }                                                                                            \
  }                                                                                              \
  KILN_EXPORT(kiln_scatter_add_##SUF)                                                            \
  extern "C" __global__ void kiln_index_add_##SUF(T* out, const long long* index, const T* src,  \
                                                  KilnGeom g, long long dim, long long dim_size,  \
                                                  long long dim_stride, long long index_stride) { \
    KILN_GRID_STRIDE_LOOP(i, g.numel) {                                                          \
      long long off[3];                                                                          \
      const long long at = kiln_offsets_at<3>(g, i, (int)dim, off);                              \
      const long long j = index[at * index_stride];                                              \
      off[0] -= at * g.stride[0][dim];                                                           \
      if (j >= 0 && j < dim_size) kiln_atomic_add(out + off[0] + j * dim_stride, src[off[2]]);   \
    }                                                                                            \
  }                                                                                              \
  KILN_EXPORT(kiln_index_add_##SUF)

KILN_ACCUMULATE(f32, float)
KILN_ACCUMULATE(f64, double)
KILN_ACCUMULATE(i64, long long)
