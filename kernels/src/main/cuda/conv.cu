// 2-D im2col/col2im and pooling over contiguous NCHW tensors, one thread per output element.
// The caller computes the output size (floor or ceil mode) and passes it as oh/ow:
//   oh = (h + 2*ph - dh*(kh-1) - 1) / sh + 1 in floor mode.
// Backward kernels gather instead of scattering, so they need no atomics, need no zeroed
// output and are deterministic.
//
// kiln_im2col_<dt>(col, im, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value)
//   col is [n, c*kh*kw, oh*ow]; row (ci*kh + i)*kw + j, column y*ow + x holds
//   im[ni, ci, y*sh - ph + i*dh, x*sw - pw + j*dw], or pad_value outside the image.
// kiln_col2im_<dt>(im, col, same sizes): im = the sum of every col entry that im2col would have
//   read from that pixel (the adjoint of im2col).
// kiln_maxpool2d_fwd_<dt>(out, argmax, in, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
//   argmax (int64) is the maximum's position in its window, ky*kw + kx, as Backend.maxPool2d
//   defines it: padding counts as -inf, the first maximum wins and so does the first NaN.
// kiln_maxpool2d_bwd_<dt>(grad_in, grad_out, argmax, same sizes): grad_in (overwritten) gets each
//   window's gradient at its argmax; an argmax in the padding contributes nothing.
// kiln_avgpool2d_fwd_<dt>(out, in, n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow,
//                         count_include_pad, divisor_override)   (divisor_override 0 = none)
// kiln_avgpool2d_bwd_<dt>(grad_in, grad_out, same sizes)
#include "kiln_common.cuh"

#define KILN_CONV_SIZES                                                                     \
  long long N, long long C, long long H, long long W, long long KH, long long KW, long long SH, \
      long long SW, long long PH, long long PW, long long DH, long long DW, long long OH,   \
      long long OW

template <class T>
__device__ void kiln_im2col_impl(T* col, const T* im, KILN_CONV_SIZES, T pad) {
  const long long L = OH * OW, K = C * KH * KW;
  KILN_GRID_STRIDE_LOOP(idx, N * K * L) {
    const long long l = idx % L, k = (idx / L) % K, n = idx / (L * K);
    const long long j = k % KW, i = (k / KW) % KH, c = k / (KW * KH);
    const long long y = (l / OW) * SH - PH + i * DH, x = (l % OW) * SW - PW + j * DW;
    col[idx] = (y >= 0 && y < H && x >= 0 && x < W) ? im[((n * C + c) * H + y) * W + x] : pad;
  }
}

// For pixel coordinate p and kernel tap t, the output position o with o*s - pd + t*d == p, or -1.
__device__ __forceinline__ long long kiln_tap_source(long long p, long long t, long long s, long long pd,
                                                     long long d, long long o_size) {
  const long long q = p + pd - t * d;
  if (q < 0 || q % s != 0) return -1;
  const long long o = q / s;
  return o < o_size ? o : -1;
}

template <class T>
__device__ void kiln_col2im_impl(T* im, const T* col, KILN_CONV_SIZES) {
  const long long L = OH * OW, K = C * KH * KW;
  KILN_GRID_STRIDE_LOOP(idx, N * C * H * W) {
    const long long x = idx % W, y = (idx / W) % H, c = (idx / (W * H)) % C, n = idx / (W * H * C);
    T sum = (T)0;
    for (long long i = 0; i < KH; ++i) {
      const long long oy = kiln_tap_source(y, i, SH, PH, DH, OH);
      if (oy < 0) continue;
      for (long long j = 0; j < KW; ++j) {
        const long long ox = kiln_tap_source(x, j, SW, PW, DW, OW);
        if (ox < 0) continue;
        sum += col[(n * K + (c * KH + i) * KW + j) * L + oy * OW + ox];
      }
    }
    im[idx] = sum;
  }
}

template <class T>
__device__ void kiln_maxpool_fwd_impl(T* out, long long* argmax, const T* in, KILN_CONV_SIZES) {
  KILN_GRID_STRIDE_LOOP(idx, N * C * OH * OW) {
    const long long ox = idx % OW, oy = (idx / OW) % OH, plane = idx / (OW * OH);
    const T* p = in + plane * H * W;
    T best = (T)0;
    long long bi = -1;
    for (long long i = 0; i < KH; ++i) {
      const long long y = oy * SH - PH + i * DH;
      for (long long j = 0; j < KW; ++j) {
        const long long x = ox * SW - PW + j * DW;
        const T v = (y >= 0 && y < H && x >= 0 && x < W) ? p[y * W + x] : KilnLimits<T>::lowest();
        const bool vn = kiln_isnan(v), bn = kiln_isnan(best);
        if (bi < 0 || (vn && !bn) || (!vn && !bn && v > best)) {
          best = v;
          bi = i * KW + j;
        }
      }
    }
    out[idx] = best;
    argmax[idx] = bi;
  }
}

template <class T>
__device__ void kiln_maxpool_bwd_impl(T* grad_in, const T* grad_out, const long long* argmax, KILN_CONV_SIZES) {
  KILN_GRID_STRIDE_LOOP(idx, N * C * H * W) {
    const long long x = idx % W, y = (idx / W) % H, plane = idx / (W * H);
    const long long base = plane * OH * OW;
    T sum = (T)0;
    for (long long i = 0; i < KH; ++i) {
      const long long oy = kiln_tap_source(y, i, SH, PH, DH, OH);
      if (oy < 0) continue;
      for (long long j = 0; j < KW; ++j) {
        const long long ox = kiln_tap_source(x, j, SW, PW, DW, OW);
        if (ox < 0) continue;
        const long long o = base + oy * OW + ox;
        if (argmax[o] == i * KW + j) sum += grad_out[o];
      }
    }
    grad_in[idx] = sum;
  }
}

// PyTorch's divisor: the window clipped to the padded image when count_include_pad, else to
// the image itself; divisor_override replaces both.
__device__ __forceinline__ long long kiln_avg_divisor(long long oy, long long ox, long long H, long long W,
                                                      long long KH, long long KW, long long SH, long long SW,
                                                      long long PH, long long PW, long long include_pad,
                                                      long long override_div) {
  if (override_div != 0) return override_div;
  long long y0 = oy * SH - PH, x0 = ox * SW - PW;
  long long y1 = y0 + KH < H + PH ? y0 + KH : H + PH;
  long long x1 = x0 + KW < W + PW ? x0 + KW : W + PW;
  const long long padded = (y1 - y0) * (x1 - x0);
  if (include_pad) return padded;
  y0 = y0 > 0 ? y0 : 0;
  x0 = x0 > 0 ? x0 : 0;
  y1 = y1 < H ? y1 : H;
  x1 = x1 < W ? x1 : W;
  return (y1 - y0) * (x1 - x0);
}

#define KILN_AVG_SIZES                                                                          \
  long long N, long long C, long long H, long long W, long long KH, long long KW, long long SH,  \
      long long SW, long long PH, long long PW, long long OH, long long OW, long long include_pad, \
      long long override_div

template <class T>
__device__ void kiln_avgpool_fwd_impl(T* out, const T* in, KILN_AVG_SIZES) {
  KILN_GRID_STRIDE_LOOP(idx, N * C * OH * OW) {
    const long long ox = idx % OW, oy = (idx / OW) % OH, plane = idx / (OW * OH);
    const T* p = in + plane * H * W;
    T sum = (T)0;
    for (long long i = 0; i < KH; ++i) {
      const long long y = oy * SH - PH + i;
      if (y < 0 || y >= H) continue;
      for (long long j = 0; j < KW; ++j) {
        const long long x = ox * SW - PW + j;
        if (x < 0 || x >= W) continue;
        sum += p[y * W + x];
      }
    }
    out[idx] = sum / (T)kiln_avg_divisor(oy, ox, H, W, KH, KW, SH, SW, PH, PW, include_pad, override_div);
  }
}

template <class T>
__device__ void kiln_avgpool_bwd_impl(T* grad_in, const T* grad_out, KILN_AVG_SIZES) {
  KILN_GRID_STRIDE_LOOP(idx, N * C * H * W) {
    const long long x = idx % W, y = (idx / W) % H, plane = idx / (W * H);
    T sum = (T)0;
    for (long long i = 0; i < KH; ++i) {
      const long long oy = kiln_tap_source(y, i, SH, PH, 1, OH);
      if (oy < 0) continue;
      for (long long j = 0; j < KW; ++j) {
        const long long ox = kiln_tap_source(x, j, SW, PW, 1, OW);
        if (ox < 0) continue;
        sum += grad_out[plane * OH * OW + oy * OW + ox] /
               (T)kiln_avg_divisor(oy, ox, H, W, KH, KW, SH, SW, PH, PW, include_pad, override_div);
      }
    }
    grad_in[idx] = sum;
  }
}

#define KILN_CONV_ARGS N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW
#define KILN_AVG_ARGS N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, include_pad, override_div

#define KILN_CONV_KERNELS(SUF, T)                                                                    \
  extern "C" __global__ void kiln_im2col_##SUF(T* col, const T* im, KILN_CONV_SIZES, double pad) {   \
    kiln_im2col_impl<T>(col, im, KILN_CONV_ARGS, (T)pad);                                            \
  }                                                                                                  \
  KILN_EXPORT(kiln_im2col_##SUF)                                                                     \
  extern "C" __global__ void kiln_col2im_##SUF(T* im, const T* col, KILN_CONV_SIZES) {               \
    kiln_col2im_impl<T>(im, col, KILN_CONV_ARGS);                                                    \
  }                                                                                                  \
  KILN_EXPORT(kiln_col2im_##SUF)                                                                     \
  extern "C" __global__ void kiln_maxpool2d_fwd_##SUF(T* out, long long* argmax, const T* in,        \
                                                      KILN_CONV_SIZES) {                             \
    kiln_maxpool_fwd_impl<T>(out, argmax, in, KILN_CONV_ARGS);                                       \
  }                                                                                                  \
  KILN_EXPORT(kiln_maxpool2d_fwd_##SUF)                                                              \
  extern "C" __global__ void kiln_maxpool2d_bwd_##SUF(T* grad_in, const T* grad_out,                 \
                                                      const long long* argmax, KILN_CONV_SIZES) {    \
    kiln_maxpool_bwd_impl<T>(grad_in, grad_out, argmax, KILN_CONV_ARGS);                             \
  }                                                                                                  \
  KILN_EXPORT(kiln_maxpool2d_bwd_##SUF)                                                              \
  extern "C" __global__ void kiln_avgpool2d_fwd_##SUF(T* out, const T* in, KILN_AVG_SIZES) {         \
    kiln_avgpool_fwd_impl<T>(out, in, KILN_AVG_ARGS);                                                \
  }                                                                                                  \
  KILN_EXPORT(kiln_avgpool2d_fwd_##SUF)                                                              \
  extern "C" __global__ void kiln_avgpool2d_bwd_##SUF(T* grad_in, const T* grad_out, KILN_AVG_SIZES) { \
    kiln_avgpool_bwd_impl<T>(grad_in, grad_out, KILN_AVG_ARGS);                                      \
  }                                                                                                  \
  KILN_EXPORT(kiln_avgpool2d_bwd_##SUF)

KILN_CONV_KERNELS(f32, float)
KILN_CONV_KERNELS(f64, double)
