// GEMM with cuBLAS's column-major semantics, argument checks and status codes, so that the CUDA
// backend's row-major to column-major mapping is exercised exactly as on a GPU.
#include <algorithm>
#include <string>
#include <vector>

#include "kiln_emu_api.h"
#include "kiln_emu_internal.h"

namespace {

using kiln_emu::set_error;

const char* op_char(int t) { return t == KILN_BLAS_OP_N ? "N" : (t == KILN_BLAS_OP_T ? "T" : "C"); }

// Elements spanned by a column-major rows x cols matrix with leading dimension ld.
long long span(long long rows, long long cols, long long ld) {
  return (rows == 0 || cols == 0) ? 0 : (cols - 1) * ld + rows;
}

template <class T>
int check_operand(KilnEmuDevice* dev, const char* fn, const char* what, const T* p, long long elems,
                  long long stride, int batch) {
  if (elems == 0) return KILN_BLAS_SUCCESS;
  for (int b = 0; b < batch; ++b) {
    const T* q = p + b * stride;
    if (kiln_emu_check_range(dev, q, static_cast<uint64_t>(elems) * sizeof(T)) != KILN_EMU_SUCCESS) {
      return set_error(KILN_BLAS_EXECUTION_FAILED,
                       std::string(fn) + ": matrix " + what + (batch > 1 ? " of batch " + std::to_string(b) : "") +
                           ": " + kiln_emu_last_error());
    }
  }
  return KILN_BLAS_SUCCESS;
}

template <class T>
int gemm(KilnEmuDevice* dev, const char* fn, int transa, int transb, int m, int n, int k, T alpha,
         const T* A, int lda, long long strideA, const T* B, int ldb, long long strideB, T beta,
         T* C, int ldc, long long strideC, int batch) {
  if (!dev) return set_error(KILN_BLAS_NOT_INITIALIZED, std::string(fn) + ": handle not initialized");
  auto invalid = [&](const std::string& why) {
    return set_error(KILN_BLAS_INVALID_VALUE,
                     std::string(fn) + "(" + op_char(transa) + op_char(transb) + ", m=" +
                         std::to_string(m) + ", n=" + std::to_string(n) + ", k=" +
                         std::to_string(k) + ", lda=" + std::to_string(lda) + ", ldb=" +
                         std::to_string(ldb) + ", ldc=" + std::to_string(ldc) + "): " + why);
  };
  if (transa < 0 || transa > 2 || transb < 0 || transb > 2) return invalid("invalid operation");
  if (m < 0 || n < 0 || k < 0) return invalid("negative dimension");
  if (batch < 0) return invalid("negative batch count");
  const bool ta = transa != KILN_BLAS_OP_N, tb = transb != KILN_BLAS_OP_N;
  const int rowsA = ta ? k : m, colsA = ta ? m : k;
  const int rowsB = tb ? n : k, colsB = tb ? k : n;
  if (lda < std::max(1, rowsA)) return invalid("lda < max(1, " + std::string(ta ? "k" : "m") + ")");
  if (ldb < std::max(1, rowsB)) return invalid("ldb < max(1, " + std::string(tb ? "n" : "k") + ")");
  if (ldc < std::max(1, m)) return invalid("ldc < max(1, m)");
  if (m == 0 || n == 0 || batch == 0) return KILN_BLAS_SUCCESS;
  const bool reads_ab = k > 0 && alpha != T(0);
  if (!reads_ab && beta == T(1)) return KILN_BLAS_SUCCESS;

  int rc;
  if (reads_ab) {
    if ((rc = check_operand(dev, fn, "A", A, span(rowsA, colsA, lda), strideA, batch))) return rc;
    if ((rc = check_operand(dev, fn, "B", B, span(rowsB, colsB, ldb), strideB, batch))) return rc;
  }
  if ((rc = check_operand(dev, fn, "C", C, span(m, n, ldc), strideC, batch))) return rc;

  std::vector<T> acc(static_cast<size_t>(m));
  for (int b = 0; b < batch; ++b) {
    const T* a = A + b * strideA;
    const T* bm = B + b * strideB;
    T* c = C + b * strideC;
    for (int j = 0; j < n; ++j) {
      std::fill(acc.begin(), acc.end(), T(0));
      if (reads_ab) {
        if (!ta) {
          for (int p = 0; p < k; ++p) {
            const T bv = tb ? bm[j + static_cast<long long>(p) * ldb] : bm[p + static_cast<long long>(j) * ldb];
            const T* col = a + static_cast<long long>(p) * lda;
            for (int i = 0; i < m; ++i) acc[i] += col[i] * bv;
          }
        } else {
          for (int i = 0; i < m; ++i) {
            const T* row = a + static_cast<long long>(i) * lda;
            T s = 0;
            for (int p = 0; p < k; ++p) {
              const T bv = tb ? bm[j + static_cast<long long>(p) * ldb] : bm[p + static_cast<long long>(j) * ldb];
              s += row[p] * bv;
            }
            acc[i] = s;
          }
        }
      }
      T* cc = c + static_cast<long long>(j) * ldc;
      for (int i = 0; i < m; ++i) {
        const T ab = reads_ab ? alpha * acc[i] : T(0);
        cc[i] = beta == T(0) ? ab : ab + beta * cc[i];  // beta == 0: C is not read (may hold NaN)
      }
    }
  }
  return KILN_BLAS_SUCCESS;
}

}  // namespace

extern "C" {

KILN_EMU_API int kiln_emu_sgemm(KilnEmuDevice* dev, int transa, int transb, int m, int n, int k,
                                float alpha, const float* A, int lda, const float* B, int ldb,
                                float beta, float* C, int ldc) {
  return gemm<float>(dev, "sgemm", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                     ldc, 0, 1);
}

KILN_EMU_API int kiln_emu_dgemm(KilnEmuDevice* dev, int transa, int transb, int m, int n, int k,
                                double alpha, const double* A, int lda, const double* B, int ldb,
                                double beta, double* C, int ldc) {
  return gemm<double>(dev, "dgemm", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                      ldc, 0, 1);
}

KILN_EMU_API int kiln_emu_sgemm_strided_batched(KilnEmuDevice* dev, int transa, int transb, int m,
                                                int n, int k, float alpha, const float* A, int lda,
                                                long long strideA, const float* B, int ldb,
                                                long long strideB, float beta, float* C, int ldc,
                                                long long strideC, int batch) {
  return gemm<float>(dev, "sgemmStridedBatched", transa, transb, m, n, k, alpha, A, lda, strideA,
                     B, ldb, strideB, beta, C, ldc, strideC, batch);
}

KILN_EMU_API int kiln_emu_dgemm_strided_batched(KilnEmuDevice* dev, int transa, int transb, int m,
                                                int n, int k, double alpha, const double* A,
                                                int lda, long long strideA, const double* B,
                                                int ldb, long long strideB, double beta, double* C,
                                                int ldc, long long strideC, int batch) {
  return gemm<double>(dev, "dgemmStridedBatched", transa, transb, m, n, k, alpha, A, lda, strideA,
                      B, ldb, strideB, beta, C, ldc, strideC, batch);
}

}  // extern "C"
