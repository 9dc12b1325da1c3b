// The emulator itself: warp intrinsics, diagnostics for broken kernels, launch checks, the
// allocation tracker and the cuBLAS-style GEMM.
#include <string>

#include "kiln_test.h"

using namespace kt;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Launches and expects a failure whose message contains every part.
template <class... A>
void expect_error(int want_rc, std::initializer_list<const char*> parts, const char* name, unsigned grid,
                  unsigned block, A... args) {
  int rc = launch_cfg(name, grid, block, args...);
  const std::string msg = kiln_emu_last_error();
  KT_CHECK(rc == want_rc, "%s returned %d (want %d): %s", name, rc, want_rc, msg.c_str());
  for (const char* p : parts) KT_CHECK(contains(msg, p), "%s: message lacks \"%s\": %s", name, p, msg.c_str());
}

const unsigned* b3_ok() {
  static const unsigned b[3] = {32, 1, 1};
  return b;
}

struct ScheduleGuard {
  int schedule = kiln_emu_schedule();
  uint64_t seed = kiln_emu_schedule_seed();
  ~ScheduleGuard() { kiln_emu_set_schedule(schedule, seed); }
};

}  // namespace

KT_TEST(warp_intrinsics_values) {
  Buf<int> out(2 * 64 * 9);
  KT_REQUIRE(launch_cfg("probe_warp_intrinsics", 2, 64, out.p) == 0, "%s", kiln_emu_last_error());
  auto o = out.get();
  for (int t = 0; t < 128; ++t) {
    const int lane = t % 32;
    const int* r = &o[9 * t];
    KT_CHECK(r[0] == (31 - lane) * 10, "shfl lane %d: %d", lane, r[0]);
    KT_CHECK(r[1] == (lane >= 3 ? lane - 3 : lane) * 10, "shfl_up lane %d: %d", lane, r[1]);
    KT_CHECK(r[2] == (lane + 5 < 32 ? lane + 5 : lane) * 10, "shfl_down lane %d: %d", lane, r[2]);
    KT_CHECK(r[3] == (lane ^ 6) * 10, "shfl_xor lane %d: %d", lane, r[3]);
    KT_CHECK(r[4] == ((lane % 8) + 2 < 8 ? lane + 2 : lane) * 10, "shfl_down width 8 lane %d: %d", lane, r[4]);
    KT_CHECK(static_cast<unsigned>(r[5]) == 0x49249249u, "ballot lane %d: %08x", lane, r[5]);
    KT_CHECK(r[6] == 1 && r[7] == 1, "all/any lane %d: %d %d", lane, r[6], r[7]);
    KT_CHECK(r[8] == (lane < 16 ? 100 : 216), "partial-mask shfl lane %d: %d", lane, r[8]);
  }
  Buf<double> d(32);
  Buf<long long> l(32);
  Buf<float> f(32);
  KT_REQUIRE(launch_cfg("probe_shfl_types", 1, 32, d.p, l.p, f.p) == 0, "%s", kiln_emu_last_error());
  auto gd = d.get();
  auto gl = l.get();
  auto gf = f.get();
  for (int t = 0; t < 32; ++t) {
    KT_CHECK(gd[t] == 0.5 + (t ^ 1), "double shfl %d", t);
    KT_CHECK(gl[t] == (static_cast<long long>(t < 31 ? t + 1 : t) << 40), "int64 shfl %d", t);
    KT_CHECK(gf[t] == 0.25f * (t > 0 ? t - 1 : t), "float shfl %d", t);
  }
}

KT_TEST(missing_barrier_shows_up_under_some_schedule) {
  ScheduleGuard guard;
  std::vector<float> in = cast_vec<float>(uniform(2 * 256, 0, 1));
  for (auto& x : in) x = std::round(x * 8);  // small integers: every order sums exactly
  Buf<float> din(in), out(2);
  float want[2] = {0, 0};
  for (int i = 0; i < 512; ++i) want[i / 256] += in[i];
  int wrong = 0;
  // Forward and reverse may both happen to order the unsynchronised reads benignly, and a single
  // random interleaving can too, so several random seeds are tried: one wrong sum is enough.
  const int schedules[] = {KILN_EMU_SCHEDULE_FORWARD, KILN_EMU_SCHEDULE_REVERSE, KILN_EMU_SCHEDULE_RANDOM,
                           KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM,
                           KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM,
                           KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM, KILN_EMU_SCHEDULE_RANDOM};
  int seed = 99;
  for (int s : schedules) {
    kiln_emu_set_schedule(s, seed++);
    KT_REQUIRE(launch_cfg("probe_tree_sum", 2, 256, out.p, (const float*)din.p, 1) == 0, "%s", kiln_emu_last_error());
    auto g = out.get();
    KT_CHECK(g[0] == want[0] && g[1] == want[1], "correct tree sum under schedule %d: %g %g", s, g[0], g[1]);
    KT_REQUIRE(launch_cfg("probe_tree_sum", 2, 256, out.p, (const float*)din.p, 0) == 0, "%s", kiln_emu_last_error());
    g = out.get();
    if (g[0] != want[0] || g[1] != want[1]) ++wrong;
  }
  KT_CHECK(wrong > 0, "the tree sum without barriers gave the right answer under every schedule");
}

KT_TEST(shared_memory_is_poisoned_at_every_block_start) {
  KT_REQUIRE(kiln_emu_shared_poison_bytes() >= 64 * sizeof(unsigned), "shared-memory poisoning is off (%llu bytes)",
             (unsigned long long)kiln_emu_shared_poison_bytes());
  Buf<unsigned> out(4 * 64);
  for (int launch = 0; launch < 2; ++launch) {
    KT_REQUIRE(launch_cfg("probe_shared_poison", 4, 64, out.p) == 0, "%s", kiln_emu_last_error());
    auto got = out.get();
    for (size_t i = 0; i < got.size(); ++i) KT_CHECK(got[i] == 0xFFFFFFFFu, "launch %d thread %zu read 0x%x", launch, i, got[i]);
  }
}

KT_TEST(broken_kernels_are_reported) {
  Buf<int> out(64 * 9);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"__shfl_down_sync", "emu_probe.cu:", "has exited"},
               "probe_divergent_shuffle", 1, 32, out.p);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"divergent warp operation", "__shfl_xor_sync", "emu_probe.cu:"},
               "probe_two_shuffles", 1, 32, out.p);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"different barriers", "emu_probe.cu:"}, "probe_divergent_barrier", 1, 64, out.p);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"exited while", "__syncthreads at emu_probe.cu:"},
               "probe_exit_before_barrier", 1, 64, out.p, 40);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"deadlock", "__shfl_sync", "__syncthreads"}, "probe_deadlock", 1, 32, out.p);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"lane 5", "exited"}, "probe_shuffle_exited_lane", 1, 32, out.p);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"does not include the calling lane"}, "probe_bad_masks", 1, 32, out.p, 0);
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"reads lane 20", "not in the mask"}, "probe_bad_masks", 1, 32, out.p, 1);
  // a mask naming lanes that do not exist: a 48-thread block has a 16-lane second warp
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"has only 16 threads"}, "probe_warp_intrinsics", 1, 48, out.p);
  // the early-return kernel is fine when nobody returns early
  KT_CHECK(launch_cfg("probe_exit_before_barrier", 1, 64, out.p, 64) == 0, "%s", kiln_emu_last_error());
  // reductions reject blocks that are not whole warps the same way
  Buf<float> f(4);
  Geom outer = geom({1}, {{1}, {0}}), inner = geom({4}, {{0}, {1}});
  expect_error(KILN_EMU_ERROR_LAUNCH_FAILED, {"kiln_common.cuh"}, "kiln_reduce_sum_f32", 1, 40, f.p, (const float*)f.p, outer, inner, 0.0);
}

KT_TEST(launch_configuration_and_signature_checks) {
  Buf<int> out(4096);
  expect_error(KILN_EMU_ERROR_INVALID_VALUE, {"block.x or block.y exceeds 1024"}, "probe_coords", 1, 2048, out.p);
  expect_error(KILN_EMU_ERROR_INVALID_VALUE, {"grid dimension is 0"}, "probe_coords", 0, 32, out.p);
  expect_error(KILN_EMU_ERROR_NOT_FOUND, {"no kernel named kiln_does_not_exist"}, "kiln_does_not_exist", 1, 1, out.p);
  // wrong parameter kinds: an int where the kernel takes a pointer and an int
  expect_error(KILN_EMU_ERROR_INVALID_VALUE, {"takes parameters (pi)", "launched with (p)"}, "probe_exit_before_barrier", 1, 32, out.p);
  expect_error(KILN_EMU_ERROR_INVALID_VALUE, {"takes parameters (ppGdd)", "launched with (ppGd)"}, "kiln_unary_exp_f32",
               1, 32, out.p, (const int*)out.p, geom({1}, {{1}, {1}}), 0.0);
  const unsigned g[3] = {1, 70000, 1}, b[3] = {32, 1, 1};
  void* args[] = {&out.p};
  KT_CHECK(kiln_emu_launch(dev(), "probe_coords", g, b, 0, "p", args) == KILN_EMU_ERROR_INVALID_VALUE, "grid.y 70000 accepted");
  const unsigned g2[3] = {1, 1, 1}, b2[3] = {8, 8, 65};
  KT_CHECK(kiln_emu_launch(dev(), "probe_coords", g2, b2, 0, "p", args) == KILN_EMU_ERROR_INVALID_VALUE, "block.z 65 accepted");
  const unsigned b4[3] = {64, 32, 1};
  KT_CHECK(kiln_emu_launch(dev(), "probe_coords", g2, b4, 0, "p", args) == KILN_EMU_ERROR_INVALID_VALUE &&
               contains(kiln_emu_last_error(), "more than 1024 threads per block"),
           "64x32 block: %s", kiln_emu_last_error());
  KT_CHECK(kiln_emu_launch(dev(), "probe_coords", g2, b3_ok(), 65536, "p", args) == KILN_EMU_ERROR_INVALID_VALUE &&
               contains(kiln_emu_last_error(), "shared memory"),
           "64 KiB of dynamic shared memory: %s", kiln_emu_last_error());
  // 3-D blocks and 2-D grids run every thread once
  const unsigned g3[3] = {3, 2, 1}, b3[3] = {4, 3, 2};
  KT_REQUIRE(kiln_emu_launch(dev(), "probe_coords", g3, b3, 0, "p", args) == 0, "%s", kiln_emu_last_error());
  auto o = out.get();
  for (int bx = 0; bx < 6; ++bx)
    for (int t = 0; t < 24; ++t) KT_CHECK(o[bx * 24 + t] == bx * 1000 + t, "coords block %d thread %d: %d", bx, t, o[bx * 24 + t]);
}

KT_TEST(allocation_tracking) {
  KilnEmuDevice* d = kiln_emu_device_create(1000);
  void* a = nullptr;
  void* b = nullptr;
  KT_CHECK(kiln_emu_malloc(d, 600, &a) == 0, "first allocation");
  KT_CHECK(reinterpret_cast<uintptr_t>(a) % 256 == 0, "allocations are 256-byte aligned");
  int rc = kiln_emu_malloc(d, 600, &b);
  KT_CHECK(rc == KILN_EMU_ERROR_OUT_OF_MEMORY, "over the capacity: %d", rc);
  std::string msg = kiln_emu_last_error();
  KT_CHECK(contains(msg, "requested 600") && contains(msg, "600 allocated") && contains(msg, "capacity 1000"), "%s", msg.c_str());
  KT_CHECK(kiln_emu_allocated_bytes(d) == 600 && kiln_emu_live_allocations(d) == 1, "stats after OOM");
  // fresh memory is poisoned: reads as NaN
  std::vector<float> host(150);
  KT_CHECK(kiln_emu_memcpy_dtoh(d, host.data(), a, 600) == 0, "read back");
  KT_CHECK(std::isnan(host[0]) && std::isnan(host[149]), "allocation not poisoned");
  // copies must stay inside the allocation
  KT_CHECK(kiln_emu_memcpy_dtoh(d, host.data(), static_cast<char*>(a) + 8, 600) == KILN_EMU_ERROR_ILLEGAL_ADDRESS, "overlong copy accepted");
  KT_CHECK(contains(kiln_emu_last_error(), "overruns"), "%s", kiln_emu_last_error());
  KT_CHECK(kiln_emu_memset(d, a, 0, 1, 601) == KILN_EMU_ERROR_ILLEGAL_ADDRESS, "overlong memset accepted");
  KT_CHECK(kiln_emu_memset(d, a, 0x3f800000u, 4, 150) == 0, "memset32");
  KT_CHECK(kiln_emu_memcpy_dtoh(d, host.data(), a, 600) == 0 && host[77] == 1.0f, "memset32 value");
  KT_CHECK(kiln_emu_free(d, static_cast<char*>(a) + 4) == KILN_EMU_ERROR_INVALID_VALUE, "interior free accepted");
  KT_CHECK(kiln_emu_free(d, a) == 0, "free");
  KT_CHECK(kiln_emu_free(d, a) == KILN_EMU_ERROR_INVALID_VALUE && contains(kiln_emu_last_error(), "double free"), "double free: %s", kiln_emu_last_error());
  KT_CHECK(kiln_emu_memcpy_htod(d, a, host.data(), 4) == KILN_EMU_ERROR_ILLEGAL_ADDRESS && contains(kiln_emu_last_error(), "was freed"),
           "use after free: %s", kiln_emu_last_error());
  KT_CHECK(kiln_emu_peak_bytes(d) == 600 && kiln_emu_allocated_bytes(d) == 0 && kiln_emu_total_allocations(d) == 1, "stats");
  kiln_emu_set_capacity(d, 2000);
  KT_CHECK(kiln_emu_malloc(d, 1500, &b) == 0 && kiln_emu_peak_bytes(d) == 1500, "raised capacity");
  KT_CHECK(kiln_emu_malloc(d, 0, &a) == KILN_EMU_ERROR_INVALID_VALUE, "zero-byte allocation accepted");
  KT_CHECK(kiln_emu_device_destroy(d) == 1, "destroy reports the leaked allocation");
}

KT_TEST(kernel_pointer_arguments_are_checked) {
  Buf<float> live(4);
  void* p = nullptr;
  KT_REQUIRE(kiln_emu_malloc(dev(), 64, &p) == 0, "malloc");
  KT_REQUIRE(kiln_emu_free(dev(), p) == 0, "free");
  // freed memory sits in a quarantine, so new allocations do not hide a use after free
  Buf<float> fresh(16);
  KT_CHECK(static_cast<void*>(fresh.p) != p, "freed memory was handed out again at once");
  expect_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS, {"argument 0", "was freed"}, "probe_out_of_bounds", 1, 32, static_cast<float*>(p), 0);
  float host = 0;
  expect_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS, {"argument 0", "not inside a live device allocation"}, "probe_out_of_bounds", 1, 32, &host, 0);
#if !defined(__SANITIZE_ADDRESS__)
  // a write past the end lands in the guard bytes and is reported after the launch (under
  // AddressSanitizer the guard bytes are poisoned instead, and the write itself would trap)
  expect_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS, {"past the end", "16 bytes"}, "probe_out_of_bounds", 1, 32, live.p, 4);
  // restore the guard bytes so that the buffer's free passes
  unsigned char* tail = reinterpret_cast<unsigned char*>(live.p) + 16;
  memset(tail, 0xFB, 4);
#endif
}

// ---- GEMM -------------------------------------------------------------------------------------

namespace {

template <class T>
void ref_gemm(int ta, int tb, int m, int n, int k, T alpha, const std::vector<T>& A, int lda, const std::vector<T>& B,
              int ldb, T beta, std::vector<T>& C, int ldc) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      long double s = 0;
      for (int p = 0; p < k; ++p) {
        const T a = ta ? A[p + i * lda] : A[i + p * lda];
        const T b = tb ? B[j + p * ldb] : B[p + j * ldb];
        s += (long double)a * b;
      }
      T& c = C[i + j * ldc];
      c = (T)(alpha * s + (beta == 0 ? 0 : beta * (long double)c));
    }
}

}  // namespace

KT_TEST(gemm_column_major_semantics) {
  for (int ta : {0, 1})
    for (int tb : {0, 1}) {
      const int m = 13, n = 9, k = 17;
      const int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
      std::vector<float> A = cast_vec<float>(uniform(lda * (ta ? m : k), -1, 1));
      std::vector<float> B = cast_vec<float>(uniform(ldb * (tb ? k : n), -1, 1));
      std::vector<float> C = cast_vec<float>(uniform(ldc * n, -1, 1));
      Buf<float> dA(A), dB(B), dC(C);
      int rc = kiln_emu_sgemm(dev(), ta, tb, m, n, k, 1.5f, dA.p, lda, dB.p, ldb, -0.5f, dC.p, ldc);
      KT_REQUIRE(rc == 0, "sgemm: %s", kiln_emu_last_error());
      ref_gemm<float>(ta, tb, m, n, k, 1.5f, A, lda, B, ldb, -0.5f, C, ldc);
      auto got = dC.get();
      for (size_t i = 0; i < C.size(); ++i) KT_CHECK(close(got[i], C[i], 1e-5, 1e-5), "sgemm %d%d C[%zu] = %g want %g", ta, tb, i, got[i], C[i]);
    }
  // beta == 0 never reads C: NaN there must not leak into the result
  std::vector<double> A = {1, 2, 3, 4}, B = {5, 6, 7, 8}, C(4, NAN);
  Buf<double> dA(A), dB(B), dC(C);
  KT_REQUIRE(kiln_emu_dgemm(dev(), 0, 0, 2, 2, 2, 1.0, dA.p, 2, dB.p, 2, 0.0, dC.p, 2) == 0, "dgemm: %s", kiln_emu_last_error());
  auto got = dC.get();
  const double want[] = {23, 34, 31, 46};
  for (int i = 0; i < 4; ++i) KT_CHECK(got[i] == want[i], "dgemm C[%d] = %g", i, got[i]);
  // strided batched: 3 independent 2x2 products
  std::vector<float> bA(12), bB(12), bC(12, 0);
  for (int i = 0; i < 12; ++i) {
    bA[i] = static_cast<float>(i + 1);
    bB[i] = static_cast<float>(12 - i);
  }
  Buf<float> dbA(bA), dbB(bB), dbC(bC);
  KT_REQUIRE(kiln_emu_sgemm_strided_batched(dev(), 1, 0, 2, 2, 2, 1.0f, dbA.p, 2, 4, dbB.p, 2, 4, 0.0f, dbC.p, 2, 4, 3) == 0, "batched: %s", kiln_emu_last_error());
  auto gb = dbC.get();
  for (int b = 0; b < 3; ++b) {
    std::vector<float> a(bA.begin() + 4 * b, bA.begin() + 4 * b + 4), bb(bB.begin() + 4 * b, bB.begin() + 4 * b + 4), c(4, 0);
    ref_gemm<float>(1, 0, 2, 2, 2, 1.0f, a, 2, bb, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; ++i) KT_CHECK(gb[4 * b + i] == c[i], "batch %d C[%d] = %g want %g", b, i, gb[4 * b + i], c[i]);
  }
}

KT_TEST(gemm_argument_checks_return_cublas_codes) {
  Buf<float> A(64), B(64), C(64);
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, 4, 4, 4, 1, A.p, 3, B.p, 4, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "lda < m accepted");
  KT_CHECK(contains(kiln_emu_last_error(), "lda"), "%s", kiln_emu_last_error());
  KT_CHECK(kiln_emu_sgemm(dev(), 1, 0, 4, 4, 5, 1, A.p, 4, B.p, 5, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "transposed A with lda < k accepted");
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, 4, 4, 4, 1, A.p, 4, B.p, 3, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "ldb < k accepted");
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 1, 4, 5, 4, 1, A.p, 4, B.p, 4, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "transposed B with ldb < n accepted");
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, 4, 4, 4, 1, A.p, 4, B.p, 4, 0, C.p, 3) == KILN_BLAS_INVALID_VALUE, "ldc < m accepted");
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, -1, 4, 4, 1, A.p, 4, B.p, 4, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "negative m accepted");
  KT_CHECK(kiln_emu_sgemm(dev(), 7, 0, 4, 4, 4, 1, A.p, 4, B.p, 4, 0, C.p, 4) == KILN_BLAS_INVALID_VALUE, "bad op accepted");
  KT_CHECK(kiln_emu_sgemm(nullptr, 0, 0, 4, 4, 4, 1, A.p, 4, B.p, 4, 0, C.p, 4) == KILN_BLAS_NOT_INITIALIZED, "null handle accepted");
  // lda of 1 is fine for m = 0 (cuBLAS requires max(1, m))
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, 0, 4, 4, 1, A.p, 1, B.p, 4, 0, C.p, 1) == 0, "m = 0 rejected");
  // a matrix that runs off the end of its allocation
  KT_CHECK(kiln_emu_sgemm(dev(), 0, 0, 8, 8, 8, 1, A.p, 8, B.p, 8, 0, C.p, 9) == KILN_BLAS_EXECUTION_FAILED, "overrun accepted");
  KT_CHECK(contains(kiln_emu_last_error(), "matrix C"), "%s", kiln_emu_last_error());
}

// Run by the Java suite against the sanitizer build only: the write lands in the poisoned guard
// zone after the allocation, and AddressSanitizer must stop the process there.
KT_TEST(death_out_of_bounds_write) {
  Buf<float> out(4);
  int rc = launch_cfg("probe_out_of_bounds", 1, 32, out.p, 4);
  KT_CHECK(false, "the out-of-bounds write was not trapped (rc %d: %s)", rc, kiln_emu_last_error());
}
