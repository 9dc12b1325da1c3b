// A fake libcudnn.so.8: the handle, descriptor, convolution and batch-norm entry points that Kiln's CUDA
// backend calls through JCudnn, computed directly (a plain loop per output element, accumulated
// in double) on the device memory of the fake libcuda.so.1, whose current context picks the
// device. Every other cuDNN function JCudnn references exists as a stub that prints its name
// once and returns CUDNN_STATUS_NOT_SUPPORTED.
//
// It checks what a real cuDNN would reject: unset or inconsistent descriptors, an output size
// that does not follow the convolution's formula, operands outside device allocations and a
// workspace smaller than the size it asked for (it asks for some, so that the caller's workspace
// path runs). It reports itself as cuDNN 8.9.7.
//
//   KILN_FAKE_CUDA_QUIET  set to 1 to silence the diagnostics on stderr
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <set>
#include <string>

#include "kiln_emu_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int cudnnStatus_t;

enum : cudnnStatus_t {
  CUDNN_STATUS_SUCCESS = 0,
  CUDNN_STATUS_NOT_INITIALIZED = 1,
  CUDNN_STATUS_ALLOC_FAILED = 2,
  CUDNN_STATUS_BAD_PARAM = 3,
  CUDNN_STATUS_INTERNAL_ERROR = 4,
  CUDNN_STATUS_INVALID_VALUE = 5,
  CUDNN_STATUS_ARCH_MISMATCH = 6,
  CUDNN_STATUS_MAPPING_ERROR = 7,
  CUDNN_STATUS_EXECUTION_FAILED = 8,
  CUDNN_STATUS_NOT_SUPPORTED = 9,
  CUDNN_STATUS_LICENSE_ERROR = 10,
};

enum { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1 };
enum { CUDNN_TENSOR_NCHW = 0 };
enum { CUDNN_CROSS_CORRELATION = 1 };
enum { CUDNN_DETERMINISTIC = 1 };

// The workspace every algorithm asks for, so that callers must allocate and pass one.
static const size_t kWorkspace = 256;

extern "C" KilnEmuDevice* kiln_fake_cuda_current_device(void);

namespace {

bool quiet() {
  const char* q = getenv("KILN_FAKE_CUDA_QUIET");
  return q && q[0] == '1';
}

cudnnStatus_t fail(cudnnStatus_t rc, const char* fn, const std::string& why) {
  if (!quiet()) fprintf(stderr, "kiln fake libcudnn: %s: %s\n", fn, why.c_str());
  return rc;
}

struct Handle {
  KilnEmuDevice* device;
  void* stream = nullptr;
};

struct Tensor {
  bool set = false;
  int dtype = 0;
  int n = 0, c = 0, h = 0, w = 0;
  int ns = 0, cs = 0, hs = 0, ws = 0;
  size_t elem() const { return dtype == CUDNN_DATA_DOUBLE ? 8 : 4; }
  // Bytes from the first element to one past the last.
  uint64_t extent() const {
    return (static_cast<uint64_t>(n - 1) * ns + static_cast<uint64_t>(c - 1) * cs + static_cast<uint64_t>(h - 1) * hs +
            static_cast<uint64_t>(w - 1) * ws + 1) * elem();
  }
  long long at(int a, int b, int y, int x) const {
    return static_cast<long long>(a) * ns + static_cast<long long>(b) * cs + static_cast<long long>(y) * hs +
           static_cast<long long>(x) * ws;
  }
};

struct Filter {
  bool set = false;
  int dtype = 0;
  int k = 0, c = 0, h = 0, w = 0;
  uint64_t bytes() const {
    return static_cast<uint64_t>(k) * c * h * w * (dtype == CUDNN_DATA_DOUBLE ? 8 : 4);
  }
};

struct Conv {
  bool set = false;
  int ph = 0, pw = 0, sh = 1, sw = 1, dh = 1, dw = 1;
  int mode = CUDNN_CROSS_CORRELATION;
  int compute = 0;
  int groups = 1;
  int math = 0;
};

// Checks that x (n, c, h, w), w (k, c/groups, kh, kw) and y (n, k, oh, ow) form the convolution.
cudnnStatus_t check(const char* fn, const Tensor* x, const Filter* f, const Conv* cd, const Tensor* y) {
  if (!x || !f || !cd || !y) return fail(CUDNN_STATUS_BAD_PARAM, fn, "null descriptor");
  if (!x->set || !f->set || !cd->set || !y->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "descriptor not set");
  if (x->dtype != f->dtype || y->dtype != f->dtype || cd->compute != f->dtype)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "data types differ");
  if (cd->mode != CUDNN_CROSS_CORRELATION) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "only cross-correlation is emulated");
  int g = cd->groups;
  if (x->c != f->c * g || f->k % g != 0 || y->c != f->k || y->n != x->n)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "channel or batch sizes do not match the filter and group count");
  int oh = (x->h + 2 * cd->ph - cd->dh * (f->h - 1) - 1) / cd->sh + 1;
  int ow = (x->w + 2 * cd->pw - cd->dw * (f->w - 1) - 1) / cd->sw + 1;
  if (y->h != oh || y->w != ow)
    return fail(CUDNN_STATUS_BAD_PARAM, fn,
                "output is " + std::to_string(y->h) + "x" + std::to_string(y->w) + ", expected " + std::to_string(oh) +
                    "x" + std::to_string(ow));
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ranges(const char* fn, Handle* h, const void* x, const Tensor* xd, const void* w, const Filter* f,
                     const void* y, const Tensor* yd, const void* workspace, size_t workspaceBytes) {
  if (kiln_emu_check_range(h->device, x, xd->extent()) != KILN_EMU_SUCCESS ||
      kiln_emu_check_range(h->device, w, f->bytes()) != KILN_EMU_SUCCESS ||
      kiln_emu_check_range(h->device, y, yd->extent()) != KILN_EMU_SUCCESS)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, std::string("an operand is not device memory: ") + kiln_emu_last_error());
  if (workspaceBytes < kWorkspace)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "workspace of " + std::to_string(workspaceBytes) + " bytes, " +
                                               std::to_string(kWorkspace) + " needed");
  if (kiln_emu_check_range(h->device, workspace, workspaceBytes) != KILN_EMU_SUCCESS)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, std::string("the workspace is not device memory: ") + kiln_emu_last_error());
  return CUDNN_STATUS_SUCCESS;
}

// out = alpha * value + beta * out, cuDNN's blending of a result into its destination (beta 0: out is not read).
template <class T>
void blend(T* out, double alpha, double value, double beta) {
  *out = static_cast<T>(alpha * value + (beta == 0 ? 0.0 : beta * *out));
}

enum class Pass { FORWARD, DATA, FILTER };

// One pass of the convolution: FORWARD writes y, DATA writes x from y, FILTER writes w from x and
// y; out = alpha * sum + beta * out, the sum accumulated in double.
template <class T>
void run(Pass pass, const Tensor& xd, T* x, const Filter& f, T* w, const Conv& cd, const Tensor& yd, T* y, double alpha,
         double beta) {
  const int g = cd.groups, cg = f.c, og = f.k / g;
  auto wat = [&](int k, int c, int ky, int kx) { return ((static_cast<long long>(k) * f.c + c) * f.h + ky) * f.w + kx; };
  if (pass == Pass::FORWARD) {
    for (int n = 0; n < yd.n; n++)
      for (int k = 0; k < yd.c; k++)
        for (int oy = 0; oy < yd.h; oy++)
          for (int ox = 0; ox < yd.w; ox++) {
            double sum = 0;
            int grp = k / og;
            for (int c = 0; c < cg; c++)
              for (int ky = 0; ky < f.h; ky++)
                for (int kx = 0; kx < f.w; kx++) {
                  int iy = oy * cd.sh - cd.ph + ky * cd.dh, ix = ox * cd.sw - cd.pw + kx * cd.dw;
                  if (iy < 0 || iy >= xd.h || ix < 0 || ix >= xd.w) continue;
                  sum += static_cast<double>(x[xd.at(n, grp * cg + c, iy, ix)]) * w[wat(k, c, ky, kx)];
                }
            blend(&y[yd.at(n, k, oy, ox)], alpha, sum, beta);
          }
  } else if (pass == Pass::DATA) {
    for (int n = 0; n < xd.n; n++)
      for (int ci = 0; ci < xd.c; ci++)
        for (int iy = 0; iy < xd.h; iy++)
          for (int ix = 0; ix < xd.w; ix++) {
            double sum = 0;
            int grp = ci / cg, c = ci % cg;
            for (int k = grp * og; k < (grp + 1) * og; k++)
              for (int ky = 0; ky < f.h; ky++)
                for (int kx = 0; kx < f.w; kx++) {
                  int ty = iy + cd.ph - ky * cd.dh, tx = ix + cd.pw - kx * cd.dw;
                  if (ty < 0 || tx < 0 || ty % cd.sh != 0 || tx % cd.sw != 0) continue;
                  int oy = ty / cd.sh, ox = tx / cd.sw;
                  if (oy >= yd.h || ox >= yd.w) continue;
                  sum += static_cast<double>(y[yd.at(n, k, oy, ox)]) * w[wat(k, c, ky, kx)];
                }
            blend(&x[xd.at(n, ci, iy, ix)], alpha, sum, beta);
          }
  } else {
    for (int k = 0; k < f.k; k++)
      for (int c = 0; c < f.c; c++)
        for (int ky = 0; ky < f.h; ky++)
          for (int kx = 0; kx < f.w; kx++) {
            double sum = 0;
            int ci = (k / og) * cg + c;
            for (int n = 0; n < xd.n; n++)
              for (int oy = 0; oy < yd.h; oy++)
                for (int ox = 0; ox < yd.w; ox++) {
                  int iy = oy * cd.sh - cd.ph + ky * cd.dh, ix = ox * cd.sw - cd.pw + kx * cd.dw;
                  if (iy < 0 || iy >= xd.h || ix < 0 || ix >= xd.w) continue;
                  sum += static_cast<double>(y[yd.at(n, k, oy, ox)]) * x[xd.at(n, ci, iy, ix)];
                }
            blend(&w[wat(k, c, ky, kx)], alpha, sum, beta);
          }
  }
}

cudnnStatus_t execute(const char* fn, Pass pass, Handle* h, const void* alpha, const Tensor* xd, void* x,
                      const Filter* f, void* w, const Conv* cd, const Tensor* yd, void* y, const void* beta,
                      void* workspace, size_t workspaceBytes) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  cudnnStatus_t rc = check(fn, xd, f, cd, yd);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  rc = ranges(fn, h, x, xd, w, f, y, yd, workspace, workspaceBytes);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  if (!alpha || !beta) return fail(CUDNN_STATUS_BAD_PARAM, fn, "null alpha or beta");
  if (f->dtype == CUDNN_DATA_DOUBLE) {
    run(pass, *xd, static_cast<double*>(x), *f, static_cast<double*>(w), *cd, *yd, static_cast<double*>(y),
        *static_cast<const double*>(alpha), *static_cast<const double*>(beta));
  } else {
    run(pass, *xd, static_cast<float*>(x), *f, static_cast<float*>(w), *cd, *yd, static_cast<float*>(y),
        *static_cast<const float*>(alpha), *static_cast<const float*>(beta));
  }
  return CUDNN_STATUS_SUCCESS;
}

// The perf records of cuDNN 8 (cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t share this layout).
struct AlgoPerf {
  int algo;
  cudnnStatus_t status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
};

cudnnStatus_t heuristics(const char* fn, Handle* h, const Tensor* x, const Filter* f, const Conv* cd, const Tensor* y,
                         int requested, int* returned, AlgoPerf* perf, int algo) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  cudnnStatus_t rc = check(fn, x, f, cd, y);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  if (requested < 1 || !returned || !perf) return fail(CUDNN_STATUS_BAD_PARAM, fn, "no room for results");
  // A non-deterministic algorithm first, as real heuristics may rank one: callers that want
  // reproducible results must look at the determinism field.
  int n = 0;
  if (algo == 0 && requested >= 2) {
    perf[n++] = AlgoPerf{0, CUDNN_STATUS_SUCCESS, 0.f, kWorkspace, 0, cd->math, {0, 0, 0}};
    perf[n++] = AlgoPerf{1, CUDNN_STATUS_SUCCESS, 0.f, kWorkspace, CUDNN_DETERMINISTIC, cd->math, {0, 0, 0}};
  } else {
    perf[n++] = AlgoPerf{algo, CUDNN_STATUS_SUCCESS, 0.f, kWorkspace, CUDNN_DETERMINISTIC, cd->math, {0, 0, 0}};
  }
  *returned = n;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

// ---- library -----------------------------------------------------------------------------------

EXPORT size_t cudnnGetVersion(void) { return 8907; }
EXPORT size_t cudnnGetCudartVersion(void) { return 12020; }

EXPORT cudnnStatus_t cudnnGetProperty(int type, int* value) {
  if (!value) return CUDNN_STATUS_BAD_PARAM;
  switch (type) {  // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
    case 0: *value = 8; return CUDNN_STATUS_SUCCESS;
    case 1: *value = 9; return CUDNN_STATUS_SUCCESS;
    case 2: *value = 7; return CUDNN_STATUS_SUCCESS;
  }
  return CUDNN_STATUS_BAD_PARAM;
}

EXPORT const char* cudnnGetErrorString(cudnnStatus_t s) {
  switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
    case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_INTERNAL_ERROR: return "CUDNN_STATUS_INTERNAL_ERROR";
    case CUDNN_STATUS_INVALID_VALUE: return "CUDNN_STATUS_INVALID_VALUE";
    case CUDNN_STATUS_ARCH_MISMATCH: return "CUDNN_STATUS_ARCH_MISMATCH";
    case CUDNN_STATUS_MAPPING_ERROR: return "CUDNN_STATUS_MAPPING_ERROR";
    case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_LICENSE_ERROR: return "CUDNN_STATUS_LICENSE_ERROR";
  }
  return "CUDNN_STATUS_UNKNOWN";
}

EXPORT cudnnStatus_t cudnnCreate(Handle** handle) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  KilnEmuDevice* d = kiln_fake_cuda_current_device();
  if (!d) return fail(CUDNN_STATUS_NOT_INITIALIZED, "cudnnCreate", "needs a current CUDA context");
  *handle = new Handle{d};
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnDestroy(Handle* h) {
  if (!h) return CUDNN_STATUS_BAD_PARAM;
  delete h;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetStream(Handle* h, void* stream) {
  if (!h) return CUDNN_STATUS_BAD_PARAM;
  h->stream = stream;  // every call is synchronous, so the stream changes nothing
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnGetStream(Handle* h, void** stream) {
  if (!h || !stream) return CUDNN_STATUS_BAD_PARAM;
  *stream = h->stream;
  return CUDNN_STATUS_SUCCESS;
}

// ---- descriptors ---------------------------------------------------------------------------------

EXPORT cudnnStatus_t cudnnCreateTensorDescriptor(Tensor** d) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  *d = new Tensor();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnDestroyTensorDescriptor(Tensor* d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetTensor4dDescriptorEx(Tensor* d, int dtype, int n, int c, int h, int w, int ns, int cs,
                                                  int hs, int ws) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  if (dtype != CUDNN_DATA_FLOAT && dtype != CUDNN_DATA_DOUBLE)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetTensor4dDescriptorEx", "only float and double are emulated");
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || ns <= 0 || cs <= 0 || hs <= 0 || ws <= 0)
    return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetTensor4dDescriptorEx", "sizes and strides must be positive");
  *d = Tensor{true, dtype, n, c, h, w, ns, cs, hs, ws};
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetTensor4dDescriptor(Tensor* d, int format, int dtype, int n, int c, int h, int w) {
  if (format != CUDNN_TENSOR_NCHW) return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetTensor4dDescriptor", "only NCHW");
  return cudnnSetTensor4dDescriptorEx(d, dtype, n, c, h, w, c * h * w, h * w, w, 1);
}

EXPORT cudnnStatus_t cudnnCreateFilterDescriptor(Filter** d) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  *d = new Filter();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnDestroyFilterDescriptor(Filter* d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetFilter4dDescriptor(Filter* d, int dtype, int format, int k, int c, int h, int w) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  if (format != CUDNN_TENSOR_NCHW) return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetFilter4dDescriptor", "only NCHW");
  if (dtype != CUDNN_DATA_FLOAT && dtype != CUDNN_DATA_DOUBLE)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetFilter4dDescriptor", "only float and double are emulated");
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = Filter{true, dtype, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnCreateConvolutionDescriptor(Conv** d) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  *d = new Conv();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnDestroyConvolutionDescriptor(Conv* d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetConvolution2dDescriptor(Conv* d, int ph, int pw, int sh, int sw, int dh, int dw, int mode,
                                                     int compute) {
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  if (ph < 0 || pw < 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0) return CUDNN_STATUS_BAD_PARAM;
  d->set = true;
  d->ph = ph, d->pw = pw, d->sh = sh, d->sw = sw, d->dh = dh, d->dw = dw, d->mode = mode, d->compute = compute;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetConvolutionGroupCount(Conv* d, int groups) {
  if (!d || groups <= 0) return CUDNN_STATUS_BAD_PARAM;
  d->groups = groups;
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnSetConvolutionMathType(Conv* d, int math) {
  if (!d || math < 0 || math > 3) return CUDNN_STATUS_BAD_PARAM;
  d->math = math;
  return CUDNN_STATUS_SUCCESS;
}

// ---- convolution -----------------------------------------------------------------------------------

EXPORT cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(Handle* h, const Tensor* x, const Filter* w, const Conv* c,
                                                            const Tensor* y, int requested, int* returned,
                                                            AlgoPerf* perf) {
  return heuristics("cudnnGetConvolutionForwardAlgorithm_v7", h, x, w, c, y, requested, returned, perf, 1);
}

EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(Handle* h, const Filter* w, const Tensor* dy,
                                                                 const Conv* c, const Tensor* dx, int requested,
                                                                 int* returned, AlgoPerf* perf) {
  return heuristics("cudnnGetConvolutionBackwardDataAlgorithm_v7", h, dx, w, c, dy, requested, returned, perf, 0);
}

EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(Handle* h, const Tensor* x, const Tensor* dy,
                                                                   const Conv* c, const Filter* dw, int requested,
                                                                   int* returned, AlgoPerf* perf) {
  return heuristics("cudnnGetConvolutionBackwardFilterAlgorithm_v7", h, x, dw, c, dy, requested, returned, perf, 0);
}

EXPORT cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(Handle* h, const Tensor* x, const Filter* w, const Conv* c,
                                                             const Tensor* y, int algo, size_t* bytes) {
  if (!h || !bytes) return CUDNN_STATUS_BAD_PARAM;
  (void)algo;
  cudnnStatus_t rc = check("cudnnGetConvolutionForwardWorkspaceSize", x, w, c, y);
  if (rc == CUDNN_STATUS_SUCCESS) *bytes = kWorkspace;
  return rc;
}

EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(Handle* h, const Filter* w, const Tensor* dy,
                                                                  const Conv* c, const Tensor* dx, int algo,
                                                                  size_t* bytes) {
  if (!h || !bytes) return CUDNN_STATUS_BAD_PARAM;
  (void)algo;
  cudnnStatus_t rc = check("cudnnGetConvolutionBackwardDataWorkspaceSize", dx, w, c, dy);
  if (rc == CUDNN_STATUS_SUCCESS) *bytes = kWorkspace;
  return rc;
}

EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(Handle* h, const Tensor* x, const Tensor* dy,
                                                                    const Conv* c, const Filter* dw, int algo,
                                                                    size_t* bytes) {
  if (!h || !bytes) return CUDNN_STATUS_BAD_PARAM;
  (void)algo;
  cudnnStatus_t rc = check("cudnnGetConvolutionBackwardFilterWorkspaceSize", x, dw, c, dy);
  if (rc == CUDNN_STATUS_SUCCESS) *bytes = kWorkspace;
  return rc;
}

EXPORT cudnnStatus_t cudnnConvolutionForward(Handle* h, const void* alpha, const Tensor* xd, const void* x,
                                             const Filter* wd, const void* w, const Conv* cd, int algo, void* workspace,
                                             size_t workspaceBytes, const void* beta, const Tensor* yd, void* y) {
  (void)algo;
  return execute("cudnnConvolutionForward", Pass::FORWARD, h, alpha, xd, const_cast<void*>(x), wd,
                 const_cast<void*>(w), cd, yd, y, beta, workspace, workspaceBytes);
}

EXPORT cudnnStatus_t cudnnConvolutionBackwardData(Handle* h, const void* alpha, const Filter* wd, const void* w,
                                                  const Tensor* dyd, const void* dy, const Conv* cd, int algo,
                                                  void* workspace, size_t workspaceBytes, const void* beta,
                                                  const Tensor* dxd, void* dx) {
  (void)algo;
  return execute("cudnnConvolutionBackwardData", Pass::DATA, h, alpha, dxd, dx, wd, const_cast<void*>(w), cd, dyd,
                 const_cast<void*>(dy), beta, workspace, workspaceBytes);
}

EXPORT cudnnStatus_t cudnnConvolutionBackwardFilter(Handle* h, const void* alpha, const Tensor* xd, const void* x,
                                                    const Tensor* dyd, const void* dy, const Conv* cd, int algo,
                                                    void* workspace, size_t workspaceBytes, const void* beta,
                                                    const Filter* dwd, void* dw) {
  (void)algo;
  return execute("cudnnConvolutionBackwardFilter", Pass::FILTER, h, alpha, xd, const_cast<void*>(x), dwd, dw, cd, dyd,
                 const_cast<void*>(dy), beta, workspace, workspaceBytes);
}

// ---- batch normalization (spatial) ---------------------------------------------------------------

enum { CUDNN_BATCHNORM_SPATIAL = 1 };

namespace {

// x and y alike, the per-channel descriptor 1 x C x 1 x 1 of x's type, dense operands in device memory.
cudnnStatus_t bnCheck(const char* fn, Handle* h, int mode, const Tensor* xd, const Tensor* yd, const Tensor* bd) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  if (mode != CUDNN_BATCHNORM_SPATIAL) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "only the spatial mode is emulated");
  if (!xd || !yd || !bd || !xd->set || !yd->set || !bd->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "descriptor not set");
  if (xd->dtype != yd->dtype || xd->n != yd->n || xd->c != yd->c || xd->h != yd->h || xd->w != yd->w)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "x and y descriptors differ");
  if (bd->dtype != xd->dtype || bd->n != 1 || bd->c != xd->c || bd->h != 1 || bd->w != 1)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "the per-channel descriptor is not 1 x C x 1 x 1 of x's type");
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t bnRanges(const char* fn, Handle* h, std::initializer_list<std::pair<const void*, uint64_t>> operands) {
  for (const auto& o : operands) {
    if (o.first && kiln_emu_check_range(h->device, o.first, o.second) != KILN_EMU_SUCCESS)
      return fail(CUDNN_STATUS_BAD_PARAM, fn, std::string("an operand is not device memory: ") + kiln_emu_last_error());
  }
  return CUDNN_STATUS_SUCCESS;
}

// Every position (n, h, w) of a channel, in order.
template <class F>
void eachPosition(const Tensor& d, F f) {
  for (int n = 0; n < d.n; n++)
    for (int y = 0; y < d.h; y++)
      for (int x = 0; x < d.w; x++) f(n, y, x);
}

// The mean and 1 / sqrt(biased variance + eps) of channel c, in double; var is the biased variance.
struct Stats {
  double mean, var, inv;
};

template <class T>
Stats channelStats(const Tensor& xd, const T* x, int c, double eps) {
  const double m = static_cast<double>(xd.n) * xd.h * xd.w;
  double sum = 0, sq = 0;
  eachPosition(xd, [&](int n, int y, int w) { sum += x[xd.at(n, c, y, w)]; });
  const double mean = sum / m;
  eachPosition(xd, [&](int n, int y, int w) {
    double d = x[xd.at(n, c, y, w)] - mean;
    sq += d * d;
  });
  return {mean, sq / m, 1.0 / std::sqrt(sq / m + eps)};
}

template <class T>
void bnTraining(const Tensor& xd, const T* x, const Tensor& yd, T* y, double alpha, double beta, const T* scale,
                const T* bias, double factor, T* runningMean, T* runningVar, double eps, T* saveMean, T* saveInv) {
  const double m = static_cast<double>(xd.n) * xd.h * xd.w;
  for (int c = 0; c < xd.c; c++) {
    const Stats st = channelStats(xd, x, c, eps);
    eachPosition(xd, [&](int n, int h, int w) {
      blend(&y[yd.at(n, c, h, w)], alpha, scale[c] * (x[xd.at(n, c, h, w)] - st.mean) * st.inv + bias[c], beta);
    });
    if (runningMean) runningMean[c] = static_cast<T>((1 - factor) * runningMean[c] + factor * st.mean);
    if (runningVar) runningVar[c] = static_cast<T>((1 - factor) * runningVar[c] + factor * st.var * m / (m - 1));
    if (saveMean) saveMean[c] = static_cast<T>(st.mean);
    if (saveInv) saveInv[c] = static_cast<T>(st.inv);
  }
}

template <class T>
void bnInference(const Tensor& xd, const T* x, const Tensor& yd, T* y, double alpha, double beta, const T* scale,
                 const T* bias, const T* mean, const T* var, double eps) {
  for (int c = 0; c < xd.c; c++) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    eachPosition(xd, [&](int n, int h, int w) {
      blend(&y[yd.at(n, c, h, w)], alpha, scale[c] * (x[xd.at(n, c, h, w)] - mean[c]) * inv + bias[c], beta);
    });
  }
}

template <class T>
void bnBackward(const Tensor& xd, const T* x, const Tensor& dyd, const T* dy, const Tensor& dxd, T* dx, double aData,
                double bData, double aParam, double bParam, const T* scale, T* dScale, T* dBias, double eps,
                const T* savedMean, const T* savedInv) {
  const double m = static_cast<double>(xd.n) * xd.h * xd.w;
  for (int c = 0; c < xd.c; c++) {
    Stats st = savedMean && savedInv ? Stats{static_cast<double>(savedMean[c]), 0, static_cast<double>(savedInv[c])}
                                     : channelStats(xd, x, c, eps);
    auto xhat = [&](int n, int h, int w) { return (x[xd.at(n, c, h, w)] - st.mean) * st.inv; };
    double sumG = 0, sumGx = 0;
    eachPosition(xd, [&](int n, int h, int w) {
      double g = dy[dyd.at(n, c, h, w)];
      sumG += g;
      sumGx += g * xhat(n, h, w);
    });
    eachPosition(xd, [&](int n, int h, int w) {
      double v = (dy[dyd.at(n, c, h, w)] - sumG / m - xhat(n, h, w) * sumGx / m) * st.inv * scale[c];
      blend(&dx[dxd.at(n, c, h, w)], aData, v, bData);
    });
    blend(&dScale[c], aParam, sumGx, bParam);
    blend(&dBias[c], aParam, sumG, bParam);
  }
}

double scalar(const Tensor& d, const void* p) {
  return d.dtype == CUDNN_DATA_DOUBLE ? *static_cast<const double*>(p) : *static_cast<const float*>(p);
}

}  // namespace

EXPORT cudnnStatus_t cudnnDeriveBNTensorDescriptor(Tensor* derived, const Tensor* xd, int mode) {
  if (!derived || !xd || !xd->set) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnDeriveBNTensorDescriptor", "descriptor not set");
  if (mode != CUDNN_BATCHNORM_SPATIAL)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnDeriveBNTensorDescriptor", "only the spatial mode is emulated");
  *derived = Tensor{true, xd->dtype, 1, xd->c, 1, 1, xd->c, 1, 1, 1};
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnBatchNormalizationForwardTraining(Handle* h, int mode, const void* alpha, const void* beta,
                                                            const Tensor* xd, const void* x, const Tensor* yd, void* y,
                                                            const Tensor* bd, const void* scale, const void* bias,
                                                            double factor, void* runningMean, void* runningVar,
                                                            double eps, void* saveMean, void* saveInv) {
  const char* fn = "cudnnBatchNormalizationForwardTraining";
  cudnnStatus_t rc = bnCheck(fn, h, mode, xd, yd, bd);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  if (!alpha || !beta || !x || !y || !scale || !bias) return fail(CUDNN_STATUS_BAD_PARAM, fn, "a required pointer is null");
  if ((runningMean == nullptr) != (runningVar == nullptr) || (saveMean == nullptr) != (saveInv == nullptr))
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "running (or saved) mean and variance must be both given or both null");
  if (eps < 0) return fail(CUDNN_STATUS_BAD_PARAM, fn, "eps is negative");
  uint64_t cb = bd->extent();
  rc = bnRanges(fn, h, {{x, xd->extent()}, {y, yd->extent()}, {scale, cb}, {bias, cb}, {runningMean, cb}, {runningVar, cb},
                        {saveMean, cb}, {saveInv, cb}});
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  double a = scalar(*xd, alpha), b = scalar(*xd, beta);
  if (xd->dtype == CUDNN_DATA_DOUBLE)
    bnTraining(*xd, static_cast<const double*>(x), *yd, static_cast<double*>(y), a, b, static_cast<const double*>(scale),
               static_cast<const double*>(bias), factor, static_cast<double*>(runningMean), static_cast<double*>(runningVar),
               eps, static_cast<double*>(saveMean), static_cast<double*>(saveInv));
  else
    bnTraining(*xd, static_cast<const float*>(x), *yd, static_cast<float*>(y), a, b, static_cast<const float*>(scale),
               static_cast<const float*>(bias), factor, static_cast<float*>(runningMean), static_cast<float*>(runningVar), eps,
               static_cast<float*>(saveMean), static_cast<float*>(saveInv));
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnBatchNormalizationForwardInference(Handle* h, int mode, const void* alpha, const void* beta,
                                                             const Tensor* xd, const void* x, const Tensor* yd, void* y,
                                                             const Tensor* bd, const void* scale, const void* bias,
                                                             const void* mean, const void* var, double eps) {
  const char* fn = "cudnnBatchNormalizationForwardInference";
  cudnnStatus_t rc = bnCheck(fn, h, mode, xd, yd, bd);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  if (!alpha || !beta || !x || !y || !scale || !bias || !mean || !var)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "a required pointer is null");
  uint64_t cb = bd->extent();
  rc = bnRanges(fn, h, {{x, xd->extent()}, {y, yd->extent()}, {scale, cb}, {bias, cb}, {mean, cb}, {var, cb}});
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  double a = scalar(*xd, alpha), b = scalar(*xd, beta);
  if (xd->dtype == CUDNN_DATA_DOUBLE)
    bnInference(*xd, static_cast<const double*>(x), *yd, static_cast<double*>(y), a, b, static_cast<const double*>(scale),
                static_cast<const double*>(bias), static_cast<const double*>(mean), static_cast<const double*>(var), eps);
  else
    bnInference(*xd, static_cast<const float*>(x), *yd, static_cast<float*>(y), a, b, static_cast<const float*>(scale),
                static_cast<const float*>(bias), static_cast<const float*>(mean), static_cast<const float*>(var), eps);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t cudnnBatchNormalizationBackward(Handle* h, int mode, const void* alphaData, const void* betaData,
                                                     const void* alphaParam, const void* betaParam, const Tensor* xd,
                                                     const void* x, const Tensor* dyd, const void* dy, const Tensor* dxd,
                                                     void* dx, const Tensor* bd, const void* scale, void* dScale,
                                                     void* dBias, double eps, const void* savedMean, const void* savedInv) {
  const char* fn = "cudnnBatchNormalizationBackward";
  cudnnStatus_t rc = bnCheck(fn, h, mode, xd, dyd, bd);
  if (rc == CUDNN_STATUS_SUCCESS) rc = bnCheck(fn, h, mode, xd, dxd, bd);
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  if (!alphaData || !betaData || !alphaParam || !betaParam || !x || !dy || !dx || !scale || !dScale || !dBias)
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "a required pointer is null");
  if ((savedMean == nullptr) != (savedInv == nullptr))
    return fail(CUDNN_STATUS_BAD_PARAM, fn, "saved mean and inverse variance must be both given or both null");
  uint64_t cb = bd->extent();
  rc = bnRanges(fn, h, {{x, xd->extent()}, {dy, dyd->extent()}, {dx, dxd->extent()}, {scale, cb}, {dScale, cb},
                        {dBias, cb}, {savedMean, cb}, {savedInv, cb}});
  if (rc != CUDNN_STATUS_SUCCESS) return rc;
  double ad = scalar(*xd, alphaData), bdd = scalar(*xd, betaData), ap = scalar(*xd, alphaParam), bp = scalar(*xd, betaParam);
  if (xd->dtype == CUDNN_DATA_DOUBLE)
    bnBackward(*xd, static_cast<const double*>(x), *dyd, static_cast<const double*>(dy), *dxd, static_cast<double*>(dx), ad,
               bdd, ap, bp, static_cast<const double*>(scale), static_cast<double*>(dScale), static_cast<double*>(dBias), eps,
               static_cast<const double*>(savedMean), static_cast<const double*>(savedInv));
  else
    bnBackward(*xd, static_cast<const float*>(x), *dyd, static_cast<const float*>(dy), *dxd, static_cast<float*>(dx), ad, bdd,
               ap, bp, static_cast<const float*>(scale), static_cast<float*>(dScale), static_cast<float*>(dBias), eps,
               static_cast<const float*>(savedMean), static_cast<const float*>(savedInv));
  return CUDNN_STATUS_SUCCESS;
}

extern "C" __attribute__((visibility("hidden"))) cudnnStatus_t kiln_fake_cudnn_unimplemented(const char* name) {
  static std::mutex mu;
  static std::set<std::string> reported;
  std::lock_guard<std::mutex> lk(mu);
  if (reported.insert(name).second && !quiet()) {
    fprintf(stderr, "kiln fake libcudnn: %s is not implemented (CUDNN_STATUS_NOT_SUPPORTED)\n", name);
  }
  return CUDNN_STATUS_NOT_SUPPORTED;
}
