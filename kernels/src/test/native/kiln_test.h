// A small test harness for the kernels on the emulated device. The reference results in the
// tests are computed here on the host from the definitions in the kernels' comments and the
// docs, never with the kernels' own helpers.
#pragma once

#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kiln_emu_api.h"

namespace kt {

// ---- registration and checks -------------------------------------------------------------

struct TestCase {
  const char* name;
  void (*fn)();
};
std::vector<TestCase>& tests();
struct Registrar {
  Registrar(const char* name, void (*fn)()) { tests().push_back(TestCase{name, fn}); }
};

#define KT_TEST(name)                                      \
  static void kt_test_##name();                            \
  static ::kt::Registrar kt_reg_##name(#name, &kt_test_##name); \
  static void kt_test_##name()

std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail_at(const char* file, int line, const std::string& msg);
int failures();

#define KT_CHECK(cond, ...)                                                  \
  do {                                                                       \
    if (!(cond)) ::kt::fail_at(__FILE__, __LINE__, ::kt::strf(__VA_ARGS__)); \
  } while (0)

// Stops a test at its first failure when continuing makes no sense.
#define KT_REQUIRE(cond, ...)                                                \
  do {                                                                       \
    if (!(cond)) {                                                           \
      ::kt::fail_at(__FILE__, __LINE__, ::kt::strf(__VA_ARGS__));            \
      return;                                                                \
    }                                                                        \
  } while (0)

// ---- device --------------------------------------------------------------------------------

KilnEmuDevice* dev();

// Layout twin of KilnGeom, written independently so that a layout change shows up here.
struct Geom {
  static constexpr char kind = 'G';
  int ndim = 0;
  int reserved = 0;
  long long numel = 1;
  long long shape[8] = {};
  long long stride[4][8] = {};
};
static_assert(sizeof(Geom) == 336, "KilnGeom is 336 bytes");

using Shape = std::vector<long long>;
using Strides = std::vector<long long>;

Strides contiguous(const Shape& shape);
long long numel(const Shape& shape);
Geom geom(const Shape& shape, const std::vector<Strides>& strides);
// Calls fn(linear, coords) for every index of shape in row-major order.
void for_each_index(const Shape& shape, const std::function<void(long long, const Shape&)>& fn);
long long offset_of(const Shape& coords, const Strides& strides);

template <class T> constexpr char kind_of(T*) { return 'p'; }
constexpr char kind_of(int) { return 'i'; }
constexpr char kind_of(long long) { return 'l'; }
constexpr char kind_of(float) { return 'f'; }
constexpr char kind_of(double) { return 'd'; }
constexpr char kind_of(const Geom&) { return 'G'; }

// Launches a kernel by name through the C API, with the parameter kinds derived from the
// argument types (so the registry's signature check runs on every call).
template <class... A>
int launch_cfg(const char* name, unsigned grid, unsigned block, A... args) {
  const char kinds[] = {kind_of(args)..., '\0'};
  void* ptrs[] = {static_cast<void*>(&args)..., nullptr};
  const unsigned g[3] = {grid, 1, 1}, b[3] = {block, 1, 1};
  return kiln_emu_launch(dev(), name, g, b, 0, kinds, ptrs);
}

// Elementwise kernels: a few blocks, so that both the grid-stride loop and several blocks run.
#define KT_LAUNCH(name, ...)                                                          \
  do {                                                                                \
    int kt_rc = ::kt::launch_cfg(name, 3, 64, __VA_ARGS__);                           \
    KT_CHECK(kt_rc == 0, "%s failed (%d): %s", name, kt_rc, kiln_emu_last_error());   \
  } while (0)
// Block-per-row kernels (reductions, softmax, ...): 32-multiple blocks.
#define KT_LAUNCH_ROWS(name, ...)                                                     \
  do {                                                                                \
    int kt_rc = ::kt::launch_cfg(name, 2, 96, __VA_ARGS__);                           \
    KT_CHECK(kt_rc == 0, "%s failed (%d): %s", name, kt_rc, kiln_emu_last_error());   \
  } while (0)

template <class T>
struct Buf {
  T* p = nullptr;
  size_t n = 0;
  explicit Buf(size_t count) : n(count) {
    void* q = nullptr;
    int rc = kiln_emu_malloc(dev(), (count ? count : 1) * sizeof(T), &q);
    if (rc != 0) fail_at(__FILE__, __LINE__, strf("malloc: %s", kiln_emu_last_error()));
    p = static_cast<T*>(q);
  }
  explicit Buf(const std::vector<T>& v) : Buf(v.size()) { put(v); }
  ~Buf() {
    if (p && kiln_emu_free(dev(), p) != 0) fail_at(__FILE__, __LINE__, kiln_emu_last_error());
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  void put(const std::vector<T>& v) {
    if (kiln_emu_memcpy_htod(dev(), p, v.data(), v.size() * sizeof(T)) != 0)
      fail_at(__FILE__, __LINE__, kiln_emu_last_error());
  }
  std::vector<T> get() const {
    std::vector<T> v(n);
    if (kiln_emu_memcpy_dtoh(dev(), v.data(), p, n * sizeof(T)) != 0)
      fail_at(__FILE__, __LINE__, kiln_emu_last_error());
    return v;
  }
};

// ---- values --------------------------------------------------------------------------------

std::mt19937_64& rng();
std::vector<double> uniform(size_t n, double lo, double hi);

template <class T>
std::vector<T> cast_vec(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
  return out;
}

// got equals want within atol + rtol * |want|; NaN matches NaN, infinities match exactly.
inline bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

template <class T> struct Tol;
template <> struct Tol<float> {
  static constexpr double rtol = 4e-6, atol = 1e-6;
};
template <> struct Tol<double> {
  static constexpr double rtol = 1e-13, atol = 1e-13;
};

inline double bits_f32(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

const char* schedule_name();

}  // namespace kt
