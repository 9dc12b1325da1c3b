// A fake libcublas.so.12: the handle management and GEMM entry points that Kiln's CUDA backend
// calls through JCublas, computed by the emulator on the device memory of the fake libcuda.so.1
// (whose current context picks the device, as with the real libraries). Every other cuBLAS
// function JCublas references exists as a stub that prints its name once and returns
// CUBLAS_STATUS_NOT_SUPPORTED.
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "kiln_emu_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int cublasStatus_t;

enum : cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16,
};

extern "C" KilnEmuDevice* kiln_fake_cuda_current_device(void);

namespace {

struct Handle {
  KilnEmuDevice* device;
  void* stream = nullptr;
  int pointer_mode = 0;  // CUBLAS_POINTER_MODE_HOST
  int math_mode = 0;     // CUBLAS_DEFAULT_MATH
};

// alpha and beta live on the host or, in device pointer mode, in device memory; both are
// host-addressable here, but device scalars must be inside an allocation.
template <class T>
bool scalar(const Handle* h, const T* p, T* out) {
  if (!p) return false;
  if (h->pointer_mode == 1 && kiln_emu_check_range(h->device, p, sizeof(T)) != KILN_EMU_SUCCESS) return false;
  *out = *p;
  return true;
}

cublasStatus_t report(cublasStatus_t rc, const char* fn) {
  if (rc != CUBLAS_STATUS_SUCCESS) fprintf(stderr, "kiln fake libcublas: %s: %s\n", fn, kiln_emu_last_error());
  return rc;
}

}  // namespace

EXPORT cublasStatus_t cublasCreate_v2(Handle** handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  KilnEmuDevice* d = kiln_fake_cuda_current_device();
  if (!d) {
    fprintf(stderr, "kiln fake libcublas: cublasCreate needs a current CUDA context\n");
    return CUBLAS_STATUS_NOT_INITIALIZED;
  }
  *handle = new Handle{d};
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasDestroy_v2(Handle* h) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetVersion_v2(Handle* h, int* version) {
  (void)h;
  if (!version) return CUBLAS_STATUS_INVALID_VALUE;
  *version = 120604;  // reports itself as cuBLAS 12.6.4, the release JCublas 12.6.0 targets
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetProperty(int type, int* value) {
  if (!value) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {  // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
    case 0: *value = 12; return CUBLAS_STATUS_SUCCESS;
    case 1: *value = 6; return CUBLAS_STATUS_SUCCESS;
    case 2: *value = 4; return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

EXPORT size_t cublasGetCudartVersion(void) { return 12060; }

EXPORT cublasStatus_t cublasSetStream_v2(Handle* h, void* stream) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = stream;  // every call is synchronous, so the stream changes nothing
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetStream_v2(Handle* h, void** stream) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!stream) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetPointerMode_v2(Handle* h, int mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != 0 && mode != 1) return CUBLAS_STATUS_INVALID_VALUE;
  h->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetPointerMode_v2(Handle* h, int* mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = h->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

// TF32 and the other math modes would change results only on real tensor cores.
EXPORT cublasStatus_t cublasSetMathMode(Handle* h, int mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetMathMode(Handle* h, int* mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = h->math_mode;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetWorkspace_v2(Handle* h, void* workspace, size_t bytes) {
  (void)workspace;
  (void)bytes;
  return h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

EXPORT const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

EXPORT const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
  }
  return "an error occurred";
}

EXPORT cublasStatus_t cublasSgemm_v2(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha,
                                     const float* A, int lda, const float* B, int ldb, const float* beta, float* C,
                                     int ldc) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  float a, b;
  if (!scalar(h, alpha, &a) || !scalar(h, beta, &b)) return CUBLAS_STATUS_INVALID_VALUE;
  return report(kiln_emu_sgemm(h->device, ta, tb, m, n, k, a, A, lda, B, ldb, b, C, ldc), "cublasSgemm");
}

EXPORT cublasStatus_t cublasDgemm_v2(Handle* h, int ta, int tb, int m, int n, int k, const double* alpha,
                                     const double* A, int lda, const double* B, int ldb, const double* beta,
                                     double* C, int ldc) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  double a, b;
  if (!scalar(h, alpha, &a) || !scalar(h, beta, &b)) return CUBLAS_STATUS_INVALID_VALUE;
  return report(kiln_emu_dgemm(h->device, ta, tb, m, n, k, a, A, lda, B, ldb, b, C, ldc), "cublasDgemm");
}

EXPORT cublasStatus_t cublasSgemmStridedBatched(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha,
                                                const float* A, int lda, long long sa, const float* B, int ldb,
                                                long long sb, const float* beta, float* C, int ldc, long long sc,
                                                int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  float a, b;
  if (!scalar(h, alpha, &a) || !scalar(h, beta, &b)) return CUBLAS_STATUS_INVALID_VALUE;
  return report(kiln_emu_sgemm_strided_batched(h->device, ta, tb, m, n, k, a, A, lda, sa, B, ldb, sb, b, C, ldc, sc,
                                               batch),
                "cublasSgemmStridedBatched");
}

EXPORT cublasStatus_t cublasDgemmStridedBatched(Handle* h, int ta, int tb, int m, int n, int k, const double* alpha,
                                                const double* A, int lda, long long sa, const double* B, int ldb,
                                                long long sb, const double* beta, double* C, int ldc, long long sc,
                                                int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  double a, b;
  if (!scalar(h, alpha, &a) || !scalar(h, beta, &b)) return CUBLAS_STATUS_INVALID_VALUE;
  return report(kiln_emu_dgemm_strided_batched(h->device, ta, tb, m, n, k, a, A, lda, sa, B, ldb, sb, b, C, ldc, sc,
                                               batch),
                "cublasDgemmStridedBatched");
}

extern "C" __attribute__((visibility("hidden"))) cublasStatus_t kiln_fake_cublas_unimplemented(const char* name) {
  static std::mutex mu;
  static std::set<std::string> reported;
  std::lock_guard<std::mutex> lk(mu);
  if (reported.insert(name).second) {
    fprintf(stderr, "kiln fake libcublas: %s is not implemented by the emulator (CUBLAS_STATUS_NOT_SUPPORTED)\n", name);
  }
  return CUBLAS_STATUS_NOT_SUPPORTED;
}
