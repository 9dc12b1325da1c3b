// Reductions, softmax and the fused cross-entropy. All of them run one block per output row
// (grid-stride over rows) and need a one-dimensional block whose size is a multiple of 32.
//
// kiln_reduce_<op>_<dtype>(out, in, outer, inner, param):
//   outer: shape of the kept dims (the output's shape); operand 0 = out strides, 1 = in strides.
//   inner: shape of the reduced dims; operand 1 = in strides along them (operand 0 unused).
//   param: the correction (e.g. 1 for the unbiased estimate) for var, ignored elsewhere.
// sum/prod/max/min/mean/var/logsumexp write the input dtype, argmax/argmin int64 (the linear
// index into inner's shape, first one on ties, NaN counts as the largest and the smallest),
// all/any bool. max/min/logsumexp propagate NaN. Empty reductions write the identity
// (sum 0, prod 1, max -inf, min +inf, all true, any false, argmax 0) and NaN for mean/var.
#include "kiln_common.cuh"

template <class T, class Op>
__device__ void kiln_reduce_simple(T* out, const T* in, const KilnGeom& outer, const KilnGeom& inner) {
  for (long long o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    long long ooff[2];
    kiln_offsets<2>(outer, o, ooff);
    const T* base = in + ooff[1];
    T acc = Op::identity();
    for (long long r = threadIdx.x; r < inner.numel; r += blockDim.x) {
      long long ioff[2];
      kiln_offsets<2>(inner, r, ioff);
      acc = Op::combine(acc, base[ioff[1]]);
    }
    acc = kiln_block_reduce<Op>(acc);
    if (threadIdx.x == 0) out[ooff[0]] = acc;
  }
}

template <class T, class Op>
__device__ void kiln_reduce_bool(kiln_bool* out, const T* in, const KilnGeom& outer, const KilnGeom& inner) {
  for (long long o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    long long ooff[2];
    kiln_offsets<2>(outer, o, ooff);
    const T* base = in + ooff[1];
    int acc = Op::identity();
    for (long long r = threadIdx.x; r < inner.numel; r += blockDim.x) {
      long long ioff[2];
      kiln_offsets<2>(inner, r, ioff);
      acc = Op::combine(acc, base[ioff[1]] != (T)0 ? 1 : 0);
    }
    acc = kiln_block_reduce<Op>(acc);
    if (threadIdx.x == 0) out[ooff[0]] = (kiln_bool)acc;
  }
}

// mean, var (two passes over the row, so no catastrophic cancellation) and logsumexp.
template <class T>
__device__ void kiln_reduce_moments(T* out, const T* in, const KilnGeom& outer, const KilnGeom& inner,
                                    int what, double correction) {
  for (long long o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    long long ooff[2];
    kiln_offsets<2>(outer, o, ooff);
    const T* base = in + ooff[1];
    const long long n = inner.numel;
    T first = what == 2 ? KilnMaxOp<T>::identity() : (T)0;
    for (long long r = threadIdx.x; r < n; r += blockDim.x) {
      long long ioff[2];
      kiln_offsets<2>(inner, r, ioff);
      const T x = base[ioff[1]];
      first = what == 2 ? KilnMaxOp<T>::combine(first, x) : first + x;
    }
    first = what == 2 ? kiln_block_reduce<KilnMaxOp<T> >(first) : kiln_block_reduce<KilnSumOp<T> >(first);
    T result;
    if (what == 0) {
      result = first / (T)n;
    } else {
      // var: center on the mean; logsumexp: shift by the max (0 when it is infinite, so that
      // all -inf gives -inf and any +inf gives +inf)
      const T center = what == 1 ? first / (T)n
                                 : ((first == KilnLimits<T>::highest() || first == KilnLimits<T>::lowest()) ? (T)0 : first);
      T second = (T)0;
      for (long long r = threadIdx.x; r < n; r += blockDim.x) {
        long long ioff[2];
        kiln_offsets<2>(inner, r, ioff);
        const T d = base[ioff[1]] - center;
        second += what == 1 ? d * d : kiln_exp(d);
      }
      second = kiln_block_reduce<KilnSumOp<T> >(second);
      if (what == 1) {
        const double dof = (double)n - correction;
        result = second / (T)(dof > 0.0 ? dof : 0.0);
      } else {
        result = kiln_log(second) + center;
      }
    }
    if (threadIdx.x == 0) out[ooff[0]] = result;
  }
}

// Does candidate (v, i) beat the current best (bv, bi)? bi < 0 means no best yet.
template <class T, bool MAX>
__device__ __forceinline__ bool kiln_arg_better(T v, long long i, T bv, long long bi) {
  if (i < 0) return false;
  if (bi < 0) return true;
  const bool vn = kiln_isnan(v), bn = kiln_isnan(bv);
  if (vn || bn) return vn && (!bn || i < bi);
  if (v == bv) return i < bi;
  return MAX ? v > bv : v < bv;
}

template <class T, bool MAX>
__device__ void kiln_reduce_arg(long long* out, const T* in, const KilnGeom& outer, const KilnGeom& inner) {
  __shared__ T part_v[32];
  __shared__ long long part_i[32];
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  for (long long o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    long long ooff[2];
    kiln_offsets<2>(outer, o, ooff);
    const T* base = in + ooff[1];
    T bv = (T)0;
    long long bi = -1;
    for (long long r = threadIdx.x; r < inner.numel; r += blockDim.x) {
      long long ioff[2];
      kiln_offsets<2>(inner, r, ioff);
      const T v = base[ioff[1]];
      if (kiln_arg_better<T, MAX>(v, r, bv, bi)) {
        bv = v;
        bi = r;
      }
    }
    for (int s = 16; s > 0; s >>= 1) {
      const T ov = __shfl_down_sync(0xffffffffu, bv, s);
      const long long oi = __shfl_down_sync(0xffffffffu, bi, s);
      if (kiln_arg_better<T, MAX>(ov, oi, bv, bi)) {
        bv = ov;
        bi = oi;
      }
    }
    __syncthreads();  // the previous row may still be reading part_v/part_i
    if (lane == 0) {
      part_v[warp] = bv;
      part_i[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
      bv = lane < nwarps ? part_v[lane] : (T)0;
      bi = lane < nwarps ? part_i[lane] : -1;
      for (int s = 16; s > 0; s >>= 1) {
        const T ov = __shfl_down_sync(0xffffffffu, bv, s);
        const long long oi = __shfl_down_sync(0xffffffffu, bi, s);
        if (kiln_arg_better<T, MAX>(ov, oi, bv, bi)) {
          bv = ov;
          bi = oi;
        }
      }
      if (lane == 0) out[ooff[0]] = bi < 0 ? 0 : bi;
    }
  }
}

#define KILN_REDUCE_SIG(NAME, SUF, TOUT, TIN) \
  extern "C" __global__ void kiln_reduce_##NAME##_##SUF(TOUT* out, const TIN* in, KilnGeom outer, KilnGeom inner, double param)

#define KILN_REDUCE_NUMERIC(SUF, T)                                                           \
  KILN_REDUCE_SIG(sum, SUF, T, T) { (void)param; kiln_reduce_simple<T, KilnSumOp<T> >(out, in, outer, inner); }   \
  KILN_EXPORT(kiln_reduce_sum_##SUF)                                                          \
  KILN_REDUCE_SIG(prod, SUF, T, T) { (void)param; kiln_reduce_simple<T, KilnProdOp<T> >(out, in, outer, inner); } \
  KILN_EXPORT(kiln_reduce_prod_##SUF)                                                         \
  KILN_REDUCE_SIG(max, SUF, T, T) { (void)param; kiln_reduce_simple<T, KilnMaxOp<T> >(out, in, outer, inner); }   \
  KILN_EXPORT(kiln_reduce_max_##SUF)                                                          \
  KILN_REDUCE_SIG(min, SUF, T, T) { (void)param; kiln_reduce_simple<T, KilnMinOp<T> >(out, in, outer, inner); }   \
  KILN_EXPORT(kiln_reduce_min_##SUF)                                                          \
  KILN_REDUCE_SIG(argmax, SUF, long long, T) { (void)param; kiln_reduce_arg<T, true>(out, in, outer, inner); }    \
  KILN_EXPORT(kiln_reduce_argmax_##SUF)                                                       \
  KILN_REDUCE_SIG(argmin, SUF, long long, T) { (void)param; kiln_reduce_arg<T, false>(out, in, outer, inner); }   \
  KILN_EXPORT(kiln_reduce_argmin_##SUF)

#define KILN_REDUCE_LOGICAL(SUF, T)                                                           \
  KILN_REDUCE_SIG(all, SUF, kiln_bool, T) { (void)param; kiln_reduce_bool<T, KilnAndOp>(out, in, outer, inner); } \
  KILN_EXPORT(kiln_reduce_all_##SUF)                                                          \
  KILN_REDUCE_SIG(any, SUF, kiln_bool, T) { (void)param; kiln_reduce_bool<T, KilnOrOp>(out, in, outer, inner); }  \
  KILN_EXPORT(kiln_reduce_any_##SUF)

#define KILN_REDUCE_FLOAT(SUF, T)                                                                     \
  KILN_REDUCE_SIG(mean, SUF, T, T) { kiln_reduce_moments<T>(out, in, outer, inner, 0, param); }        \
  KILN_EXPORT(kiln_reduce_mean_##SUF)                                                                 \
  KILN_REDUCE_SIG(var, SUF, T, T) { kiln_reduce_moments<T>(out, in, outer, inner, 1, param); }         \
  KILN_EXPORT(kiln_reduce_var_##SUF)                                                                  \
  KILN_REDUCE_SIG(logsumexp, SUF, T, T) { kiln_reduce_moments<T>(out, in, outer, inner, 2, param); }   \
  KILN_EXPORT(kiln_reduce_logsumexp_##SUF)

KILN_REDUCE_NUMERIC(f32, float)
KILN_REDUCE_NUMERIC(f64, double)
KILN_REDUCE_NUMERIC(i64, long long)
KILN_REDUCE_FLOAT(f32, float)
KILN_REDUCE_FLOAT(f64, double)
KILN_REDUCE_LOGICAL(f32, float)
KILN_REDUCE_LOGICAL(f64, double)
KILN_REDUCE_LOGICAL(i64, long long)
KILN_REDUCE_LOGICAL(bool, kiln_bool)

// ---- softmax / log-softmax over one dim ----------------------------------------------------
// kiln_softmax_<dtype>(out, in, outer, n, in_stride, out_stride): outer spans every dim but the
// softmax dim (operand 0 out, 1 in); n is the softmax dim's size, the strides its strides.

template <class T, bool LOG>
__device__ void kiln_softmax_impl(T* out, const T* in, const KilnGeom& outer, long long n,
                                  long long sin, long long sout) {
  for (long long o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    long long ooff[2];
    kiln_offsets<2>(outer, o, ooff);
    const T* x = in + ooff[1];
    T* y = out + ooff[0];
    T m = KilnMaxOp<T>::identity();
    for (long long r = threadIdx.x; r < n; r += blockDim.x) m = KilnMaxOp<T>::combine(m, x[r * sin]);
    m = kiln_block_reduce<KilnMaxOp<T> >(m);
    T s = (T)0;
    for (long long r = threadIdx.x; r < n; r += blockDim.x) s += kiln_exp(x[r * sin] - m);
    s = kiln_block_reduce<KilnSumOp<T> >(s);
    const T ls = kiln_log(s);
    for (long long r = threadIdx.x; r < n; r += blockDim.x) {
      const T d = x[r * sin] - m;
      y[r * sout] = LOG ? d - ls : kiln_exp(d) / s;
    }
  }
}

#define KILN_SOFTMAX(SUF, T)                                                                           \
  extern "C" __global__ void kiln_softmax_##SUF(T* out, const T* in, KilnGeom outer, long long n,      \
                                                long long in_stride, long long out_stride) {           \
    kiln_softmax_impl<T, false>(out, in, outer, n, in_stride, out_stride);                             \
  }                                                                                                    \
  KILN_EXPORT(kiln_softmax_##SUF)                                                                      \
  extern "C" __global__ void kiln_log_softmax_##SUF(T* out, const T* in, KilnGeom outer, long long n,  \
                                                    long long in_stride, long long out_stride) {       \
    kiln_softmax_impl<T, true>(out, in, outer, n, in_stride, out_stride);                              \
  }                                                                                                    \
  KILN_EXPORT(kiln_log_softmax_##SUF)

KILN_SOFTMAX(f32, float)
KILN_SOFTMAX(f64, double)

// ---- fused cross-entropy over contiguous logits [N, C] and int64 targets [N] ----------------
// Forward writes the per-row loss (0 for rows whose target is ignore_index, NaN for a target
// outside [0, C)) and the per-row logsumexp that the backward pass reuses. The caller reduces
// the losses (mean over non-ignored rows, or sum).
// Backward: grad[n, c] = grad_loss[n * grad_loss_stride] * (softmax[n, c] - (c == target[n])),
// 0 for ignored rows; a grad_loss_stride of 0 broadcasts one scalar (e.g. 1 / count for mean).

template <class T>
__device__ void kiln_ce_fwd(T* loss, T* lse, const T* logits, const long long* target, long long N,
                            long long C, long long ignore_index) {
  for (long long n = blockIdx.x; n < N; n += gridDim.x) {
    const T* x = logits + n * C;
    T m = KilnMaxOp<T>::identity();
    for (long long c = threadIdx.x; c < C; c += blockDim.x) m = KilnMaxOp<T>::combine(m, x[c]);
    m = kiln_block_reduce<KilnMaxOp<T> >(m);
    const T shift = (m == KilnLimits<T>::highest() || m == KilnLimits<T>::lowest()) ? (T)0 : m;
    T s = (T)0;
    for (long long c = threadIdx.x; c < C; c += blockDim.x) s += kiln_exp(x[c] - shift);
    s = kiln_block_reduce<KilnSumOp<T> >(s);
    if (threadIdx.x == 0) {
      const T l = kiln_log(s) + shift;
      lse[n] = l;
      const long long t = target[n];
      loss[n] = t == ignore_index ? (T)0 : ((t < 0 || t >= C) ? KilnLimits<T>::nan() : l - x[t]);
    }
  }
}

template <class T>
__device__ void kiln_ce_bwd(T* grad, const T* logits, const T* lse, const long long* target,
                            const T* grad_loss, long long grad_loss_stride, long long N, long long C,
                            long long ignore_index) {
  KILN_GRID_STRIDE_LOOP(i, N * C) {
    const long long n = i / C, c = i % C;
    const long long t = target[n];
    if (t == ignore_index) {
      grad[i] = (T)0;
    } else {
      const T p = kiln_exp(logits[i] - lse[n]);
      grad[i] = grad_loss[n * grad_loss_stride] * (c == t ? p - (T)1 : p);
    }
  }
}

#define KILN_CROSS_ENTROPY(SUF, T)                                                                     \
  extern "C" __global__ void kiln_cross_entropy_fwd_##SUF(T* loss, T* lse, const T* logits,            \
                                                          const long long* target, long long N,        \
                                                          long long C, long long ignore_index) {       \
    kiln_ce_fwd<T>(loss, lse, logits, target, N, C, ignore_index);                                     \
  }                                                                                                    \
  KILN_EXPORT(kiln_cross_entropy_fwd_##SUF)                                                            \
  extern "C" __global__ void kiln_cross_entropy_bwd_##SUF(                                             \
      T* grad, const T* logits, const T* lse, const long long* target, const T* grad_loss,             \
      long long grad_loss_stride, long long N, long long C, long long ignore_index) {                   \
    kiln_ce_bwd<T>(grad, logits, lse, target, grad_loss, grad_loss_stride, N, C, ignore_index);        \
  }                                                                                                    \
  KILN_EXPORT(kiln_cross_entropy_bwd_##SUF)

KILN_CROSS_ENTROPY(f32, float)
KILN_CROSS_ENTROPY(f64, double)
