/* C interface of the emulated CUDA device: what the JNI binding, the fake libcuda.so.1 /
 * libcublas.so.12 and the native tests call. Every function that can fail returns a status
 * and leaves a message for kiln_emu_last_error() on the calling thread. */
#ifndef KILN_EMU_API_H
#define KILN_EMU_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_EMU_API __attribute__((visibility("default")))

/* Status codes: the CUDA driver API's numbers for the same conditions. */
#define KILN_EMU_SUCCESS 0
#define KILN_EMU_ERROR_INVALID_VALUE 1
#define KILN_EMU_ERROR_OUT_OF_MEMORY 2
#define KILN_EMU_ERROR_NOT_FOUND 500
#define KILN_EMU_ERROR_ILLEGAL_ADDRESS 700
#define KILN_EMU_ERROR_LAUNCH_FAILED 719

/* cuBLAS status codes returned by the GEMM entry points. */
#define KILN_BLAS_SUCCESS 0
#define KILN_BLAS_NOT_INITIALIZED 1
#define KILN_BLAS_INVALID_VALUE 7
#define KILN_BLAS_EXECUTION_FAILED 13

/* cuBLAS operation codes. */
#define KILN_BLAS_OP_N 0
#define KILN_BLAS_OP_T 1
#define KILN_BLAS_OP_C 2

/* Thread interleavings inside a block. */
#define KILN_EMU_SCHEDULE_FORWARD 0
#define KILN_EMU_SCHEDULE_REVERSE 1
#define KILN_EMU_SCHEDULE_RANDOM 2

typedef struct KilnEmuDevice KilnEmuDevice;

KILN_EMU_API const char* kiln_emu_last_error(void);

KILN_EMU_API KilnEmuDevice* kiln_emu_device_create(uint64_t capacity_bytes);
/* Frees every allocation still live; returns how many there were. */
KILN_EMU_API uint64_t kiln_emu_device_destroy(KilnEmuDevice* dev);

KILN_EMU_API int kiln_emu_malloc(KilnEmuDevice* dev, uint64_t bytes, void** out);
KILN_EMU_API int kiln_emu_free(KilnEmuDevice* dev, void* ptr);
/* KILN_EMU_SUCCESS when [ptr, ptr + bytes) lies inside one live allocation. */
KILN_EMU_API int kiln_emu_check_range(KilnEmuDevice* dev, const void* ptr, uint64_t bytes);
/* Base and size of the live allocation containing ptr. */
KILN_EMU_API int kiln_emu_address_range(KilnEmuDevice* dev, const void* ptr, void** base,
                                        uint64_t* size);

KILN_EMU_API int kiln_emu_memcpy_htod(KilnEmuDevice* dev, void* dst, const void* src,
                                      uint64_t bytes);
KILN_EMU_API int kiln_emu_memcpy_dtoh(KilnEmuDevice* dev, void* dst, const void* src,
                                      uint64_t bytes);
KILN_EMU_API int kiln_emu_memcpy_dtod(KilnEmuDevice* dev, void* dst, const void* src,
                                      uint64_t bytes);
/* Fills count elements of element_size (1, 2 or 4) bytes with the low bits of value. */
KILN_EMU_API int kiln_emu_memset(KilnEmuDevice* dev, void* dst, uint32_t value,
                                 int element_size, uint64_t count);

KILN_EMU_API uint64_t kiln_emu_capacity(KilnEmuDevice* dev);
KILN_EMU_API void kiln_emu_set_capacity(KilnEmuDevice* dev, uint64_t bytes);
KILN_EMU_API uint64_t kiln_emu_allocated_bytes(KilnEmuDevice* dev);
KILN_EMU_API uint64_t kiln_emu_peak_bytes(KilnEmuDevice* dev);
KILN_EMU_API void kiln_emu_reset_peak(KilnEmuDevice* dev);
KILN_EMU_API uint64_t kiln_emu_live_allocations(KilnEmuDevice* dev);
KILN_EMU_API uint64_t kiln_emu_total_allocations(KilnEmuDevice* dev);

/* Launches a registered kernel. args follows cuLaunchKernel: args[i] points at the value of
 * parameter i. kinds, when not NULL, must equal the kernel's parameter kinds. */
KILN_EMU_API int kiln_emu_launch(KilnEmuDevice* dev, const char* name, const unsigned grid[3],
                                 const unsigned block[3], unsigned shared_bytes,
                                 const char* kinds, void** args);

KILN_EMU_API int kiln_emu_kernel_count(void);
KILN_EMU_API const char* kiln_emu_kernel_name(int index);
KILN_EMU_API const char* kiln_emu_kernel_kinds(int index);
/* Parameter kinds of a kernel, or NULL when there is no kernel of that name. */
KILN_EMU_API const char* kiln_emu_kernel_lookup(const char* name);

KILN_EMU_API void kiln_emu_set_schedule(int schedule, uint64_t seed);
KILN_EMU_API int kiln_emu_schedule(void);
KILN_EMU_API uint64_t kiln_emu_schedule_seed(void);
/* Worker threads that run blocks (1 = the calling thread only). */
KILN_EMU_API void kiln_emu_set_workers(int workers);
KILN_EMU_API int kiln_emu_workers(void);
/* Bytes of __shared__ variables poisoned at the start of every block (0: poisoning is off
 * because the link did not place them between the markers). */
KILN_EMU_API uint64_t kiln_emu_shared_poison_bytes(void);

/* Column-major GEMM with cuBLAS's semantics and argument checks:
 * C = alpha * op(A) * op(B) + beta * C; C is not read when beta == 0. */
KILN_EMU_API int kiln_emu_sgemm(KilnEmuDevice* dev, int transa, int transb, int m, int n, int k,
                                float alpha, const float* A, int lda, const float* B, int ldb,
                                float beta, float* C, int ldc);
KILN_EMU_API int kiln_emu_dgemm(KilnEmuDevice* dev, int transa, int transb, int m, int n, int k,
                                double alpha, const double* A, int lda, const double* B, int ldb,
                                double beta, double* C, int ldc);
KILN_EMU_API int kiln_emu_sgemm_strided_batched(KilnEmuDevice* dev, int transa, int transb, int m,
                                                int n, int k, float alpha, const float* A, int lda,
                                                long long strideA, const float* B, int ldb,
                                                long long strideB, float beta, float* C, int ldc,
                                                long long strideC, int batch);
KILN_EMU_API int kiln_emu_dgemm_strided_batched(KilnEmuDevice* dev, int transa, int transb, int m,
                                                int n, int k, double alpha, const double* A,
                                                int lda, long long strideA, const double* B,
                                                int ldb, long long strideB, double beta, double* C,
                                                int ldc, long long strideC, int batch);

#ifdef __cplusplus
}
#endif

#endif
