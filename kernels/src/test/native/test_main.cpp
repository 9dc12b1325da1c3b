// Runs the kernel tests on the emulated device under one thread schedule:
//   kiln_kernel_tests [--schedule forward|reverse|random] [--seed N] [--workers N] [filter...]
#include <chrono>
#include <cstdlib>

#include "kiln_test.h"

namespace kt {

std::vector<TestCase>& tests() {
  static std::vector<TestCase> t;
  return t;
}

static int g_failures = 0;
static int g_test_failures = 0;
static const char* g_current = "";
static KilnEmuDevice* g_dev = nullptr;
static const char* g_schedule = "forward";

std::string strf(const char* fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void fail_at(const char* file, int line, const std::string& msg) {
  ++g_failures;
  if (++g_test_failures <= 10) {
    const char* base = strrchr(file, '/');
    fprintf(stderr, "  FAIL %s (%s:%d): %s\n", g_current, base ? base + 1 : file, line, msg.c_str());
  }
}

int failures() { return g_failures; }

KilnEmuDevice* dev() { return g_dev; }

const char* schedule_name() { return g_schedule; }

Strides contiguous(const Shape& shape) {
  Strides s(shape.size());
  long long acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

long long numel(const Shape& shape) {
  long long n = 1;
  for (long long d : shape) n *= d;
  return n;
}

Geom geom(const Shape& shape, const std::vector<Strides>& strides) {
  Geom g;
  g.ndim = static_cast<int>(shape.size());
  g.numel = numel(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    g.shape[d] = shape[d];
    for (size_t k = 0; k < strides.size(); ++k) g.stride[k][d] = strides[k][d];
  }
  return g;
}

void for_each_index(const Shape& shape, const std::function<void(long long, const Shape&)>& fn) {
  const long long n = numel(shape);
  Shape c(shape.size(), 0);
  for (long long i = 0; i < n; ++i) {
    fn(i, c);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

long long offset_of(const Shape& coords, const Strides& strides) {
  long long o = 0;
  for (size_t d = 0; d < coords.size(); ++d) o += coords[d] * strides[d];
  return o;
}

std::mt19937_64& rng() {
  static std::mt19937_64 r(12345);
  return r;
}

std::vector<double> uniform(size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

}  // namespace kt

int main(int argc, char** argv) {
  int schedule = KILN_EMU_SCHEDULE_FORWARD;
  unsigned long long seed = 7;
  std::vector<std::string> filters;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--schedule" && i + 1 < argc) {
      std::string s = argv[++i];
      kt::g_schedule = argv[i];
      if (s == "forward") schedule = KILN_EMU_SCHEDULE_FORWARD;
      else if (s == "reverse") schedule = KILN_EMU_SCHEDULE_REVERSE;
      else if (s == "random") schedule = KILN_EMU_SCHEDULE_RANDOM;
      else {
        fprintf(stderr, "unknown schedule %s\n", s.c_str());
        return 2;
      }
    } else if (a == "--seed" && i + 1 < argc) {
      seed = strtoull(argv[++i], nullptr, 10);
    } else if (a == "--workers" && i + 1 < argc) {
      kiln_emu_set_workers(atoi(argv[++i]));
    } else {
      filters.push_back(a);
    }
  }
  kiln_emu_set_schedule(schedule, seed);
  kt::g_dev = kiln_emu_device_create(1ull << 32);
  printf("kiln kernel tests: schedule %s (seed %llu), %d workers, %d kernels registered\n",
         kt::g_schedule, seed, kiln_emu_workers(), kiln_emu_kernel_count());
  int run = 0, failed = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (const kt::TestCase& t : kt::tests()) {
    // death_* tests crash the process on purpose; they run only when named exactly
    const bool death = std::string(t.name).rfind("death_", 0) == 0;
    bool selected = filters.empty() && !death;
    for (const auto& f : filters) selected |= death ? f == t.name : std::string(t.name).find(f) != std::string::npos;
    if (!selected) continue;
    kt::g_current = t.name;
    kt::g_test_failures = 0;
    auto s = std::chrono::steady_clock::now();
    t.fn();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
    ++run;
    if (kt::g_test_failures) {
      ++failed;
      printf("FAIL %-40s %8.1f ms  (%d failed checks)\n", t.name, ms, kt::g_test_failures);
    } else {
      printf("ok   %-40s %8.1f ms\n", t.name, ms);
    }
    fflush(stdout);
  }
  uint64_t leaked = kiln_emu_live_allocations(kt::g_dev);
  if (leaked) {
    printf("FAIL %llu device allocations leaked by the tests\n", (unsigned long long)leaked);
    ++failed;
  }
  kiln_emu_device_destroy(kt::g_dev);
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("%d tests, %d failed, %.1f s (schedule %s)\n", run, failed, total, kt::g_schedule);
  return failed ? 1 : 0;
}
