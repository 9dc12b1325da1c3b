// CPU emulation of the CUDA C subset that Kiln's kernels are written in.
//
// g++ force-includes this header (-include kiln_emu.h) when it compiles a .cu file, so the
// kernel sources never mention the emulator. Each block's threads run as fibers on one worker
// thread; __syncthreads and the warp intrinsics are real rendezvous points handled by the
// scheduler in kiln_emu_runtime.cpp, which also reports misuse (divergent barriers, deadlocks,
// shuffles that read absent or exited lanes) with file and line.
#pragma once

#define KILN_EMULATION 1

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <array>
#include <tuple>
#include <type_traits>
#include <utility>

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// Spelled with the reserved form of the attribute name: libstdc++ itself writes
// __attribute__((__noinline__)), which a plain "noinline" expansion would break.
#define __noinline__ __attribute__((__noinline__))
#define __launch_bounds__(...)
// One instance per worker thread, and a worker runs one block at a time: exactly the lifetime
// and sharing of CUDA shared memory (contents are not reset between blocks).
#define __shared__ static thread_local
#define __constant__ static const

namespace kiln_emu {

// What threadIdx/blockIdx/blockDim/gridDim read. Each fiber owns one; the scheduler points
// tls_coords at the running fiber's copy before it switches to it.
struct Coords {
  uint3 tid;
  uint3 bid;
  dim3 bdim;
  dim3 gdim;
};

extern thread_local const Coords* tls_coords;

enum WarpOpKind : int {
  OP_SYNCWARP = 0,
  OP_SHFL_IDX,
  OP_SHFL_UP,
  OP_SHFL_DOWN,
  OP_SHFL_XOR,
  OP_BALLOT,
  OP_ALL,
  OP_ANY,
};

void sync_block(const char* file, int line);
uint64_t warp_op(const char* file, int line, int kind, unsigned mask, uint64_t value, int arg,
                 int width);

inline unsigned default_mask() { return 0xffffffffu; }
inline unsigned default_mask(unsigned m) { return m; }
inline int default_width() { return 32; }
inline int default_width(int w) { return w; }

template <class T>
inline T shfl(const char* file, int line, int kind, unsigned mask, T v, int arg, int width) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "shuffled values must be trivially copyable and at most 8 bytes");
  uint64_t raw = 0;
  memcpy(&raw, &v, sizeof(T));
  uint64_t r = warp_op(file, line, kind, mask, raw, arg, width);
  T out;
  memcpy(&out, &r, sizeof(T));
  return out;
}

// ---- kernel registry -------------------------------------------------------------------

// Parameter kinds, one character per kernel parameter: p pointer, i 32-bit int, l 64-bit int,
// f float, d double; a struct passed by value names its own kind (KilnGeom is 'G').
template <class>
struct always_false : std::false_type {};

template <class T>
constexpr char param_kind() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_pointer<U>::value) {
    return 'p';
  } else if constexpr (std::is_same<U, int>::value || std::is_same<U, unsigned>::value) {
    return 'i';
  } else if constexpr (std::is_same<U, long long>::value ||
                       std::is_same<U, unsigned long long>::value) {
    return 'l';
  } else if constexpr (std::is_same<U, float>::value) {
    return 'f';
  } else if constexpr (std::is_same<U, double>::value) {
    return 'd';
  } else if constexpr (std::is_class<U>::value) {
    return U::kiln_param_kind;
  } else {
    static_assert(always_false<U>::value, "unsupported kernel parameter type");
    return '?';
  }
}

using Invoker = void (*)(void* fn, const unsigned char* packed);

struct KernelInfo {
  const char* name;
  const char* file;
  void* fn;
  Invoker invoke;
  int nparams;
  const char* kinds;            // NUL-terminated, nparams characters
  const size_t* sizes;          // per parameter
  const size_t* offsets;        // per parameter, into the packed argument buffer
  size_t packed_bytes;
};

void register_kernel(const KernelInfo& info);

template <class... A>
struct ArgLayout {
  static constexpr size_t N = sizeof...(A);
  static constexpr std::array<size_t, N> sizes{{sizeof(std::decay_t<A>)...}};
  static constexpr std::array<size_t, N> aligns{{alignof(std::decay_t<A>)...}};
  static constexpr std::array<size_t, N> compute_offsets() {
    std::array<size_t, N> off{};
    size_t at = 0;
    for (size_t i = 0; i < N; ++i) {
      at = (at + aligns[i] - 1) / aligns[i] * aligns[i];
      off[i] = at;
      at += sizes[i];
    }
    return off;
  }
  static constexpr std::array<size_t, N> offsets = compute_offsets();
  static constexpr size_t total() { return N == 0 ? 0 : offsets[N - 1] + sizes[N - 1]; }
  static constexpr char kinds[N + 1] = {param_kind<std::decay_t<A>>()..., '\0'};
};

template <class... A>
struct Registrar {
  using Fn = void (*)(A...);
  using Layout = ArgLayout<A...>;

  // The launch copied each argument to its offset in an aligned buffer (see kiln_emu_launch),
  // so the values are read in place: copying them again per thread costs real time, since
  // every fiber of every block makes this call.
  template <size_t... I>
  static void call(void* fn, const unsigned char* packed, std::index_sequence<I...>) {
    (void)packed;
    reinterpret_cast<Fn>(fn)(
        *reinterpret_cast<const std::decay_t<A>*>(packed + Layout::offsets[I])...);
  }
  static void invoke(void* fn, const unsigned char* packed) {
    call(fn, packed, std::index_sequence_for<A...>{});
  }

  Registrar(const char* name, Fn fn, const char* file) {
    KernelInfo info;
    info.name = name;
    info.file = file;
    info.fn = reinterpret_cast<void*>(fn);
    info.invoke = &invoke;
    info.nparams = static_cast<int>(Layout::N);
    info.kinds = Layout::kinds;
    info.sizes = Layout::sizes.data();
    info.offsets = Layout::offsets.data();
    info.packed_bytes = Layout::total();
    register_kernel(info);
  }
};

template <class... A>
Registrar<A...> make_registrar(const char* name, void (*fn)(A...), const char* file) {
  return Registrar<A...>(name, fn, file);
}

}  // namespace kiln_emu

#define KILN_EXPORT(fn) \
  static const auto kiln_emu_registrar_##fn = ::kiln_emu::make_registrar(#fn, &fn, __FILE__);

// ---- built-in variables and intrinsics ----------------------------------------------------

#define threadIdx (::kiln_emu::tls_coords->tid)
#define blockIdx (::kiln_emu::tls_coords->bid)
#define blockDim (::kiln_emu::tls_coords->bdim)
#define gridDim (::kiln_emu::tls_coords->gdim)
#define warpSize 32

#define __syncthreads() ::kiln_emu::sync_block(__FILE__, __LINE__)
#define __syncwarp(...)                                                                  \
  ((void)::kiln_emu::warp_op(__FILE__, __LINE__, ::kiln_emu::OP_SYNCWARP,                \
                             ::kiln_emu::default_mask(__VA_ARGS__), 0, 0, 32))
#define __shfl_sync(mask, v, src, ...)                                                       \
  ::kiln_emu::shfl(__FILE__, __LINE__, ::kiln_emu::OP_SHFL_IDX, (mask), (v), (int)(src),     \
                   ::kiln_emu::default_width(__VA_ARGS__))
#define __shfl_up_sync(mask, v, delta, ...)                                                  \
  ::kiln_emu::shfl(__FILE__, __LINE__, ::kiln_emu::OP_SHFL_UP, (mask), (v), (int)(delta),    \
                   ::kiln_emu::default_width(__VA_ARGS__))
#define __shfl_down_sync(mask, v, delta, ...)                                                \
  ::kiln_emu::shfl(__FILE__, __LINE__, ::kiln_emu::OP_SHFL_DOWN, (mask), (v), (int)(delta),  \
                   ::kiln_emu::default_width(__VA_ARGS__))
#define __shfl_xor_sync(mask, v, lm, ...)                                                    \
  ::kiln_emu::shfl(__FILE__, __LINE__, ::kiln_emu::OP_SHFL_XOR, (mask), (v), (int)(lm),      \
                   ::kiln_emu::default_width(__VA_ARGS__))
#define __ballot_sync(mask, pred) \
  ((unsigned)::kiln_emu::warp_op(__FILE__, __LINE__, ::kiln_emu::OP_BALLOT, (mask), (pred) ? 1 : 0, 0, 32))
#define __all_sync(mask, pred) \
  ((int)::kiln_emu::warp_op(__FILE__, __LINE__, ::kiln_emu::OP_ALL, (mask), (pred) ? 1 : 0, 0, 32))
#define __any_sync(mask, pred) \
  ((int)::kiln_emu::warp_op(__FILE__, __LINE__, ::kiln_emu::OP_ANY, (mask), (pred) ? 1 : 0, 0, 32))

// Blocks of one grid run concurrently on several worker threads, so atomics are real atomics.
// CUDA's atomics are relaxed; so are these.
#define KILN_EMU_ATOMIC_INT(T)                                                                  \
  inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }           \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }       \
  inline T atomicCAS(T* p, T cmp, T v) {                                                       \
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);        \
    return cmp;                                                                                \
  }                                                                                            \
  inline T atomicMax(T* p, T v) {                                                              \
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                              \
    while (old < v &&                                                                          \
           !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) \
      ;                                                                                        \
    return old;                                                                                \
  }                                                                                            \
  inline T atomicMin(T* p, T v) {                                                              \
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                              \
    while (old > v &&                                                                          \
           !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) \
      ;                                                                                        \
    return old;                                                                                \
  }
KILN_EMU_ATOMIC_INT(int)
KILN_EMU_ATOMIC_INT(unsigned)
KILN_EMU_ATOMIC_INT(unsigned long long)
KILN_EMU_ATOMIC_INT(long long)
#undef KILN_EMU_ATOMIC_INT

#define KILN_EMU_ATOMIC_FLOAT(T)                                                             \
  inline T atomicAdd(T* p, T v) {                                                           \
    T old;                                                                                  \
    __atomic_load(p, &old, __ATOMIC_RELAXED);                                               \
    T next;                                                                                 \
    do {                                                                                    \
      next = old + v;                                                                       \
    } while (!__atomic_compare_exchange(p, &old, &next, true, __ATOMIC_RELAXED,             \
                                        __ATOMIC_RELAXED));                                 \
    return old;                                                                             \
  }                                                                                         \
  inline T atomicExch(T* p, T v) {                                                          \
    T old;                                                                                  \
    __atomic_exchange(p, &v, &old, __ATOMIC_RELAXED);                                       \
    return old;                                                                             \
  }
KILN_EMU_ATOMIC_FLOAT(float)
KILN_EMU_ATOMIC_FLOAT(double)
#undef KILN_EMU_ATOMIC_FLOAT

inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

template <class T>
inline T __ldg(const T* p) { return *p; }

// ---- device math that <math.h> lacks ----------------------------------------------------

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x != x ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x)); }

// The _rn intrinsics exist so that nvcc cannot contract a*b+c into an FMA; g++ is built with
// -ffp-contract=off, so plain operators give the same bits.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __ddiv_rn(double a, double b) { return a / b; }

template <class To, class From>
inline To kiln_emu_bitcast(From f) {
  static_assert(sizeof(To) == sizeof(From), "size mismatch");
  To t;
  memcpy(&t, &f, sizeof(To));
  return t;
}
inline float __int_as_float(int i) { return kiln_emu_bitcast<float>(i); }
inline float __uint_as_float(unsigned i) { return kiln_emu_bitcast<float>(i); }
inline int __float_as_int(float f) { return kiln_emu_bitcast<int>(f); }
inline unsigned __float_as_uint(float f) { return kiln_emu_bitcast<unsigned>(f); }
inline double __longlong_as_double(long long i) { return kiln_emu_bitcast<double>(i); }
inline long long __double_as_longlong(double d) { return kiln_emu_bitcast<long long>(d); }

inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) { return __builtin_ffs(x); }

// CUDA declares min/max for every arithmetic type in the global namespace.
#define KILN_EMU_MINMAX(T)                          \
  inline T min(T a, T b) { return a < b ? a : b; } \
  inline T max(T a, T b) { return a > b ? a : b; }
KILN_EMU_MINMAX(int)
KILN_EMU_MINMAX(unsigned)
KILN_EMU_MINMAX(long long)
KILN_EMU_MINMAX(unsigned long long)
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
#undef KILN_EMU_MINMAX
