// Batch-norm statistics and the fused Adam/AdamW step.
//
// kiln_batchnorm_stats_<dt>(mean, var, in, n, c, hw): per channel of a contiguous [n, c, hw]
//   tensor (hw = 1 for [n, c]), the mean and the biased variance (divided by n*hw), computed
//   in two passes. One block per channel (grid-stride), block size a multiple of 32.
//
// kiln_adam_step_<dt>(param, grad, exp_avg, exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay,
//                     bias_correction1, bias_correction2, decoupled, maximize)
//   In place on contiguous arrays of n elements, the arithmetic of torch.optim.Adam/AdamW
//   (single-tensor path); bias_correction1/2 are 1 - beta1^t and 1 - beta2^t for step t:
//     g = maximize ? -grad : grad
//     decoupled (AdamW): param *= 1 - lr*weight_decay;  else: g += weight_decay * param
//     exp_avg    = lerp(exp_avg, g, 1 - beta1)
//     exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * (g * g)
//     param     += -(lr / bias_correction1) * (exp_avg / (sqrt(exp_avg_sq) / sqrt(bias_correction2) + eps))
#include "kiln_common.cuh"

template <class T>
__device__ void kiln_bn_stats_impl(T* mean, T* var, const T* in, long long N, long long C, long long HW) {
  const long long count = N * HW;
  for (long long c = blockIdx.x; c < C; c += gridDim.x) {
    T s = (T)0;
    for (long long r = threadIdx.x; r < count; r += blockDim.x) s += in[((r / HW) * C + c) * HW + r % HW];
    const T m = kiln_block_reduce<KilnSumOp<T> >(s) / (T)count;
    T q = (T)0;
    for (long long r = threadIdx.x; r < count; r += blockDim.x) {
      const T d = in[((r / HW) * C + c) * HW + r % HW] - m;
      q += d * d;
    }
    q = kiln_block_reduce<KilnSumOp<T> >(q);
    if (threadIdx.x == 0) {
      mean[c] = m;
      var[c] = q / (T)count;
    }
  }
}

template <class T>
__device__ void kiln_adam_impl(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, long long n, double lr,
                               double beta1, double beta2, double eps, double weight_decay, double bc1,
                               double bc2, int decoupled, int maximize) {
  const T w1 = (T)(1.0 - beta1);
  const T b2 = (T)beta2, w2 = (T)(1.0 - beta2);
  const T step = (T)(lr / bc1);
  const T bc2_sqrt = (T)sqrt(bc2);
  const T decay = (T)(1.0 - lr * weight_decay), wd = (T)weight_decay, e = (T)eps;
  KILN_GRID_STRIDE_LOOP(i, n) {
    T g = maximize ? -grad[i] : grad[i];
    T p = param[i];
    if (weight_decay != 0.0) {
      if (decoupled) p = p * decay;
      else g = g + wd * p;
    }
    T m = exp_avg[i];
    // torch.lerp's two forms keep the result exact at both ends
    m = w1 < (T)0.5 ? m + w1 * (g - m) : g - (g - m) * ((T)1 - w1);
    const T v = exp_avg_sq[i] * b2 + w2 * (g * g);
    const T denom = kiln_sqrt(v) / bc2_sqrt + e;
    param[i] = p + (-step) * (m / denom);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
  }
}

#define KILN_NN_KERNELS(SUF, T)                                                                      \
  extern "C" __global__ void kiln_batchnorm_stats_##SUF(T* mean, T* var, const T* in, long long N,   \
                                                        long long C, long long HW) {                 \
    kiln_bn_stats_impl<T>(mean, var, in, N, C, HW);                                                  \
  }                                                                                                  \
  KILN_EXPORT(kiln_batchnorm_stats_##SUF)                                                            \
  extern "C" __global__ void kiln_adam_step_##SUF(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, \
                                                  long long n, double lr, double beta1, double beta2, \
                                                  double eps, double weight_decay, double bias_correction1, \
                                                  double bias_correction2, int decoupled, int maximize) { \
    kiln_adam_impl<T>(param, grad, exp_avg, exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay,      \
                      bias_correction1, bias_correction2, decoupled, maximize);                     \
  }                                                                                                  \
  KILN_EXPORT(kiln_adam_step_##SUF)

KILN_NN_KERNELS(f32, float)
KILN_NN_KERNELS(f64, double)
