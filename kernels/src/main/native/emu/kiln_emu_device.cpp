// The emulated device's memory: tracked allocations with guard bytes around them and poison in
// them, range-checked copies, a capacity for out-of-memory tests, and launch by name.
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kiln_emu.h"
#include "kiln_emu_api.h"
#include "kiln_emu_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define KILN_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#endif

namespace {

using kiln_emu::set_error;

// cudaMalloc returns 256-byte aligned memory; the guard zone before each allocation keeps that.
const size_t kRedzone = 256;
const unsigned char kGuard = 0xFB;

unsigned char poison_byte() {
  // 0xFF reads as NaN in float32/float64 and as -1 in integers, so a kernel that reads memory
  // nobody wrote produces visibly wrong results instead of plausible zeros.
  static int v = [] {
    const char* s = getenv("KILN_EMU_POISON");
    return s ? static_cast<int>(strtol(s, nullptr, 0) & 0xff) : 0xff;
  }();
  return static_cast<unsigned char>(v);
}

struct Allocation {
  char* user;
  uint64_t size;
  char* raw;
  size_t raw_size;
  uint64_t serial;
};

struct Freed {
  uintptr_t base;
  uint64_t size;
  uint64_t serial;
};

std::string hex(const void* p) {
  char b[32];
  snprintf(b, sizeof b, "%p", p);
  return b;
}

std::string describe(const Allocation& a) {
  return "allocation #" + std::to_string(a.serial) + " at " + hex(a.user) + " of " +
         std::to_string(a.size) + " bytes";
}

}  // namespace

// Freed blocks wait here before going back to the host allocator, so that a stale pointer
// does not immediately alias a new allocation and slip past the use-after-free check.
const size_t kQuarantineBytes = 64u << 20;

struct KilnEmuDevice {
  std::mutex mu;
  std::map<uintptr_t, Allocation> live;
  std::deque<Freed> freed;  // recent frees, to explain use-after-free errors
  std::deque<Allocation> quarantine;
  size_t quarantine_bytes = 0;
  uint64_t capacity;
  uint64_t allocated = 0;
  uint64_t peak = 0;
  uint64_t total = 0;
  uint64_t serial = 0;

  explicit KilnEmuDevice(uint64_t cap) : capacity(cap) {}

  // The live allocation that contains [p, p + n); a pointer one past the end is accepted when
  // n == 0 (an empty tensor at the end of its storage).
  const Allocation* find(uintptr_t p, uint64_t n) const {
    auto it = live.upper_bound(p);
    if (it == live.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    uintptr_t base = reinterpret_cast<uintptr_t>(a.user);
    if (p < base || p > base + a.size) return nullptr;
    if (n > a.size - (p - base)) return nullptr;
    return &a;
  }

  std::string explain(uintptr_t p, uint64_t n) const {
    std::string msg = "[" + hex(reinterpret_cast<void*>(p)) + ", +" + std::to_string(n) +
                      " bytes) is not inside a live device allocation";
    auto it = live.upper_bound(p);
    if (it != live.begin()) {
      --it;
      const Allocation& a = it->second;
      uintptr_t base = reinterpret_cast<uintptr_t>(a.user);
      if (p >= base && p <= base + a.size) {
        return msg + " (it overruns " + describe(a) + " by " +
               std::to_string(p + n - base - a.size) + " bytes)";
      }
    }
    for (auto f = freed.rbegin(); f != freed.rend(); ++f) {
      if (p >= f->base && p < f->base + f->size) {
        return msg + " (it lies in allocation #" + std::to_string(f->serial) + " of " +
               std::to_string(f->size) + " bytes, which was freed)";
      }
    }
    return msg;
  }

  // Scans the guard bytes of every allocation; a kernel that wrote out of bounds leaves marks.
  int check_guards(const char* after) const {
#ifndef KILN_EMU_ASAN  // under ASan the guards are poisoned and every stray access already trapped
    static unsigned char pattern[kRedzone * 2];
    static bool init = [] {
      memset(pattern, kGuard, sizeof pattern);
      return true;
    }();
    (void)init;
    for (const auto& kv : live) {
      const Allocation& a = kv.second;
      if (memcmp(a.raw, pattern, kRedzone) != 0) {
        return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS,
                         std::string(after) + ": bytes before the start of " + describe(a) +
                             " were overwritten (out-of-bounds write)");
      }
      size_t tail = a.raw_size - kRedzone - a.size;
      const char* t = a.user + a.size;
      for (size_t off = 0; off < tail; off += sizeof pattern) {
        size_t n = std::min(sizeof pattern, tail - off);
        if (memcmp(t + off, pattern, n) != 0) {
          return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS,
                           std::string(after) + ": bytes past the end of " + describe(a) +
                               " were overwritten (out-of-bounds write)");
        }
      }
    }
#else
    (void)after;
#endif
    return KILN_EMU_SUCCESS;
  }

  void release(Allocation& a) {
#ifdef KILN_EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(a.raw, a.raw_size);
#endif
    free(a.raw);
  }

  void retire(Allocation& a) {
#ifdef KILN_EMU_ASAN
    ASAN_POISON_MEMORY_REGION(a.raw, a.raw_size);  // any access through a stale pointer traps
#endif
    quarantine.push_back(a);
    quarantine_bytes += a.raw_size;
    while (quarantine_bytes > kQuarantineBytes && !quarantine.empty()) {
      quarantine_bytes -= quarantine.front().raw_size;
      release(quarantine.front());
      quarantine.pop_front();
    }
  }

  ~KilnEmuDevice() {
    for (auto& kv : live) release(kv.second);
    for (auto& a : quarantine) release(a);
  }
};

extern "C" {

KILN_EMU_API KilnEmuDevice* kiln_emu_device_create(uint64_t capacity_bytes) {
  return new KilnEmuDevice(capacity_bytes);
}

KILN_EMU_API uint64_t kiln_emu_device_destroy(KilnEmuDevice* dev) {
  if (!dev) return 0;
  uint64_t leaked = dev->live.size();
  delete dev;
  return leaked;
}

KILN_EMU_API int kiln_emu_malloc(KilnEmuDevice* dev, uint64_t bytes, void** out) {
  if (!dev || !out) return set_error(KILN_EMU_ERROR_INVALID_VALUE, "malloc: null argument");
  *out = nullptr;
  if (bytes == 0) return set_error(KILN_EMU_ERROR_INVALID_VALUE, "malloc: cannot allocate 0 bytes");
  std::lock_guard<std::mutex> lk(dev->mu);
  if (bytes > dev->capacity || dev->allocated > dev->capacity - bytes) {
    return set_error(KILN_EMU_ERROR_OUT_OF_MEMORY,
                     "out of memory: requested " + std::to_string(bytes) + " bytes, " +
                         std::to_string(dev->allocated) + " allocated, capacity " +
                         std::to_string(dev->capacity) + ", free " +
                         std::to_string(dev->capacity - dev->allocated));
  }
  uint64_t rounded = (bytes + kRedzone - 1) / kRedzone * kRedzone;
  size_t raw_size = kRedzone + rounded + kRedzone;
  void* raw = nullptr;
  if (rounded < bytes || posix_memalign(&raw, kRedzone, raw_size) != 0 || !raw) {
    return set_error(KILN_EMU_ERROR_OUT_OF_MEMORY,
                     "out of memory: the host could not provide " + std::to_string(bytes) + " bytes");
  }
  Allocation a;
  a.raw = static_cast<char*>(raw);
  a.raw_size = raw_size;
  a.user = a.raw + kRedzone;
  a.size = bytes;
  a.serial = ++dev->serial;
  memset(a.raw, kGuard, kRedzone);
  memset(a.user, poison_byte(), bytes);
  memset(a.user + bytes, kGuard, raw_size - kRedzone - bytes);
#ifdef KILN_EMU_ASAN
  ASAN_POISON_MEMORY_REGION(a.raw, kRedzone);
  ASAN_POISON_MEMORY_REGION(a.user + bytes, raw_size - kRedzone - bytes);
#endif
  dev->live[reinterpret_cast<uintptr_t>(a.user)] = a;
  dev->allocated += bytes;
  dev->total++;
  if (dev->allocated > dev->peak) dev->peak = dev->allocated;
  *out = a.user;
  return KILN_EMU_SUCCESS;
}

KILN_EMU_API int kiln_emu_free(KilnEmuDevice* dev, void* ptr) {
  if (!dev) return set_error(KILN_EMU_ERROR_INVALID_VALUE, "free: null device");
  if (!ptr) return KILN_EMU_SUCCESS;
  std::lock_guard<std::mutex> lk(dev->mu);
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  auto it = dev->live.find(p);
  if (it == dev->live.end()) {
    for (auto f = dev->freed.rbegin(); f != dev->freed.rend(); ++f) {
      if (f->base == p) {
        return set_error(KILN_EMU_ERROR_INVALID_VALUE,
                         "free: double free of allocation #" + std::to_string(f->serial) + " at " +
                             hex(ptr));
      }
    }
    return set_error(KILN_EMU_ERROR_INVALID_VALUE,
                     "free: " + hex(ptr) + " is not the start of a live device allocation");
  }
  int rc = dev->check_guards("free");
  Allocation a = it->second;
  dev->live.erase(it);
  dev->allocated -= a.size;
  dev->freed.push_back(Freed{p, a.size, a.serial});
  if (dev->freed.size() > 4096) dev->freed.pop_front();
  dev->retire(a);
  return rc;
}

KILN_EMU_API int kiln_emu_check_range(KilnEmuDevice* dev, const void* ptr, uint64_t bytes) {
  std::lock_guard<std::mutex> lk(dev->mu);
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  if (!dev->find(p, bytes)) return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS, dev->explain(p, bytes));
  return KILN_EMU_SUCCESS;
}

KILN_EMU_API int kiln_emu_address_range(KilnEmuDevice* dev, const void* ptr, void** base,
                                        uint64_t* size) {
  std::lock_guard<std::mutex> lk(dev->mu);
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  const Allocation* a = dev->find(p, 0);
  if (!a) return set_error(KILN_EMU_ERROR_NOT_FOUND, dev->explain(p, 0));
  if (base) *base = a->user;
  if (size) *size = a->size;
  return KILN_EMU_SUCCESS;
}

static int copy_checked(KilnEmuDevice* dev, const char* what, void* dst, bool dst_dev,
                        const void* src, bool src_dev, uint64_t bytes) {
  if (!dev) return set_error(KILN_EMU_ERROR_INVALID_VALUE, std::string(what) + ": null device");
  if (bytes == 0) return KILN_EMU_SUCCESS;
  if (!dst || !src) return set_error(KILN_EMU_ERROR_INVALID_VALUE, std::string(what) + ": null pointer");
  std::lock_guard<std::mutex> lk(dev->mu);
  if (dst_dev && !dev->find(reinterpret_cast<uintptr_t>(dst), bytes)) {
    return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS,
                     std::string(what) + ": destination " +
                         dev->explain(reinterpret_cast<uintptr_t>(dst), bytes));
  }
  if (src_dev && !dev->find(reinterpret_cast<uintptr_t>(src), bytes)) {
    return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS,
                     std::string(what) + ": source " +
                         dev->explain(reinterpret_cast<uintptr_t>(src), bytes));
  }
  memmove(dst, src, bytes);
  return KILN_EMU_SUCCESS;
}

KILN_EMU_API int kiln_emu_memcpy_htod(KilnEmuDevice* dev, void* dst, const void* src, uint64_t bytes) {
  return copy_checked(dev, "memcpy host to device", dst, true, src, false, bytes);
}

KILN_EMU_API int kiln_emu_memcpy_dtoh(KilnEmuDevice* dev, void* dst, const void* src, uint64_t bytes) {
  return copy_checked(dev, "memcpy device to host", dst, false, src, true, bytes);
}

KILN_EMU_API int kiln_emu_memcpy_dtod(KilnEmuDevice* dev, void* dst, const void* src, uint64_t bytes) {
  return copy_checked(dev, "memcpy device to device", dst, true, src, true, bytes);
}

KILN_EMU_API int kiln_emu_memset(KilnEmuDevice* dev, void* dst, uint32_t value, int element_size,
                                 uint64_t count) {
  if (!dev) return set_error(KILN_EMU_ERROR_INVALID_VALUE, "memset: null device");
  if (element_size != 1 && element_size != 2 && element_size != 4) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE, "memset: element size must be 1, 2 or 4");
  }
  if (count == 0) return KILN_EMU_SUCCESS;
  uint64_t bytes = count * static_cast<uint64_t>(element_size);
  std::lock_guard<std::mutex> lk(dev->mu);
  uintptr_t p = reinterpret_cast<uintptr_t>(dst);
  if (!dev->find(p, bytes)) {
    return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS, "memset: " + dev->explain(p, bytes));
  }
  if (p % static_cast<uintptr_t>(element_size) != 0) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE, "memset: destination is not aligned to its element size");
  }
  char* d = static_cast<char*>(dst);
  if (element_size == 1) {
    memset(d, static_cast<int>(value & 0xff), bytes);
  } else if (element_size == 2) {
    uint16_t v = static_cast<uint16_t>(value);
    for (uint64_t i = 0; i < count; ++i) memcpy(d + 2 * i, &v, 2);
  } else {
    for (uint64_t i = 0; i < count; ++i) memcpy(d + 4 * i, &value, 4);
  }
  return KILN_EMU_SUCCESS;
}

KILN_EMU_API uint64_t kiln_emu_capacity(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  return dev->capacity;
}

KILN_EMU_API void kiln_emu_set_capacity(KilnEmuDevice* dev, uint64_t bytes) {
  std::lock_guard<std::mutex> lk(dev->mu);
  dev->capacity = bytes;
}

KILN_EMU_API uint64_t kiln_emu_allocated_bytes(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  return dev->allocated;
}

KILN_EMU_API uint64_t kiln_emu_peak_bytes(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  return dev->peak;
}

KILN_EMU_API void kiln_emu_reset_peak(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  dev->peak = dev->allocated;
}

KILN_EMU_API uint64_t kiln_emu_live_allocations(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  return dev->live.size();
}

KILN_EMU_API uint64_t kiln_emu_total_allocations(KilnEmuDevice* dev) {
  std::lock_guard<std::mutex> lk(dev->mu);
  return dev->total;
}

KILN_EMU_API int kiln_emu_launch(KilnEmuDevice* dev, const char* name, const unsigned grid[3],
                                 const unsigned block[3], unsigned shared_bytes, const char* kinds,
                                 void** args) {
  if (!dev || !name || !grid || !block) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE, "launch: null argument");
  }
  const kiln_emu::KernelInfo* k = kiln_emu::find_kernel(name);
  if (!k) return set_error(KILN_EMU_ERROR_NOT_FOUND, std::string("launch: no kernel named ") + name);
  if (kinds && strcmp(kinds, k->kinds) != 0) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE,
                     std::string(name) + " takes parameters (" + k->kinds +
                         ") but was launched with (" + kinds + ")");
  }
  int rc = kiln_emu::check_launch_config(name, grid, block, shared_bytes);
  if (rc != KILN_EMU_SUCCESS) return rc;
  if (k->nparams > 0 && !args) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE, std::string(name) + ": no arguments given");
  }
  std::vector<unsigned char> packed(k->packed_bytes + 16);
  for (int i = 0; i < k->nparams; ++i) {
    if (!args[i]) {
      return set_error(KILN_EMU_ERROR_INVALID_VALUE,
                       std::string(name) + ": argument " + std::to_string(i) + " is null");
    }
    memcpy(packed.data() + k->offsets[i], args[i], k->sizes[i]);
  }
  std::lock_guard<std::mutex> lk(dev->mu);
  for (int i = 0; i < k->nparams; ++i) {
    if (k->kinds[i] != 'p') continue;
    uintptr_t p;
    memcpy(&p, packed.data() + k->offsets[i], sizeof p);
    // Null is allowed: kernels take it for an absent optional operand.
    if (p != 0 && !dev->find(p, 0)) {
      return set_error(KILN_EMU_ERROR_ILLEGAL_ADDRESS,
                       std::string(name) + ": argument " + std::to_string(i) + ": " +
                           dev->explain(p, 0));
    }
  }
  rc = kiln_emu::run_kernel(k, packed.data(), dim3(grid[0], grid[1], grid[2]),
                            dim3(block[0], block[1], block[2]));
  if (rc != KILN_EMU_SUCCESS) return rc;
  return dev->check_guards(name);
}

}  // extern "C"
