// A fake libcuda.so.1 on top of the kernel emulator: the CUDA driver API calls that Kiln's CUDA
// backend makes through JCuda, so that the real JCuda classes load and run without a GPU.
// Every other driver entry point that JCuda's natives reference exists as a stub (generated
// from libcuda.symbols) that prints its name once and returns CUDA_ERROR_NOT_SUPPORTED.
//
// Configuration, read at cuInit:
//   KILN_FAKE_CUDA_DRIVER_VERSION  cuDriverGetVersion's value (default 13000 = CUDA 13.0, R580);
//                                  PTX newer than it supports is refused as a real driver does
//   KILN_FAKE_CUDA_SM              compute capability as major*10+minor (default 86)
//   KILN_FAKE_CUDA_DEVICES         number of devices (default 1)
//   KILN_FAKE_CUDA_MEMORY          bytes of memory per device (default 8 GiB)
//   KILN_FAKE_CUDA_QUIET           set to 1 to silence the diagnostics on stderr
//   KILN_FAKE_CUDA_EVENT_LAG       events report CUDA_ERROR_NOT_READY to this many cuEventQuery calls
//                                  after they are recorded, unless a synchronising call (stream,
//                                  context or event synchronize) came since (default 0: at once),
//                                  as a GPU's events do while the stream is still busy
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kiln_emu_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
  CUDA_ERROR_FILE_NOT_FOUND = 301,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_NOT_READY = 600,
  CUDA_ERROR_ILLEGAL_ADDRESS = 700,
  CUDA_ERROR_LAUNCH_FAILED = 719,
  CUDA_ERROR_NOT_SUPPORTED = 801,
  CUDA_ERROR_UNKNOWN = 999,
};

namespace {

struct Ctx;

struct Device {
  KilnEmuDevice* emu = nullptr;
  Ctx* primary = nullptr;
  int primary_refs = 0;
  unsigned primary_flags = 0;
};

struct Ctx {
  int device;
  unsigned flags;
  unsigned long long id;
};

struct Module {
  Ctx* ctx;
  std::set<std::string> entries;  // empty: the image's entry names were not readable
  std::string origin;             // "cubin sm_86", "ptx 8.5", for messages
};

struct Func {
  Module* module;
  std::string name;
};

struct Stream {
  unsigned flags;
};

struct Event {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
  long long lag = 0;                  // cuEventQuery calls still to answer NOT_READY
  unsigned long long sync_epoch = 0;  // g_sync_epoch when recorded
};

struct Config {
  int driver_version = 13000;
  int sm = 86;
  int devices = 1;
  unsigned long long memory = 8ull << 30;
  bool quiet = false;
  long long event_lag = 0;
};

std::mutex g_mu;
bool g_initialized = false;
Config g_config;
std::vector<Device> g_devices;
unsigned long long g_next_ctx_id = 1;
std::atomic<unsigned long long> g_sync_epoch{0};  // bumped by every synchronising call
thread_local std::vector<Ctx*> tls_stack;

void diag(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void diag(const char* fmt, ...) {
  if (g_config.quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kiln fake libcuda: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

long long env_ll(const char* name, long long fallback) {
  const char* s = getenv(name);
  if (!s || !*s) return fallback;
  return strtoll(s, nullptr, 0);
}

Ctx* current() { return tls_stack.empty() ? nullptr : tls_stack.back(); }

KilnEmuDevice* current_emu() {
  Ctx* c = current();
  return c ? g_devices[c->device].emu : nullptr;
}

// The emulator's status codes are the driver's; messages worth seeing go to stderr.
CUresult from_emu(int rc, const char* what) {
  if (rc != KILN_EMU_SUCCESS && rc != KILN_EMU_ERROR_OUT_OF_MEMORY) diag("%s: %s", what, kiln_emu_last_error());
  return rc;
}

// The newest PTX ISA a driver of this CUDA version loads (major*10 + minor).
int newest_isa(int driver) {
  static const int table[][2] = {{11000, 70}, {11010, 71}, {11020, 72}, {11030, 73}, {11040, 74}, {11050, 75},
                                 {11060, 76}, {11070, 77}, {11080, 78}, {12000, 80}, {12010, 81}, {12020, 82},
                                 {12030, 83}, {12040, 84}, {12050, 85}, {12070, 86}, {12080, 87}, {12090, 88},
                                 {13000, 90}, {13010, 91}};
  int best = 0;
  for (const auto& row : table) {
    if (row[0] <= driver) best = row[1];
  }
  return best;
}

std::string isa_text(int isa) { return std::to_string(isa / 10) + "." + std::to_string(isa % 10); }

// A cubin for sm_XY runs on devices of the same major version whose minor is at least Y.
bool cubin_runs_on(int cubin_sm, int device_sm) {
  return cubin_sm / 10 == device_sm / 10 && cubin_sm % 10 <= device_sm % 10;
}

CUresult load_ptx(const std::string& text, Module* m) {
  int major = 0, minor = 0;
  size_t v = text.find(".version");
  if (v == std::string::npos || sscanf(text.c_str() + v, ".version %d.%d", &major, &minor) != 2) {
    diag("cuModuleLoadData: PTX without a .version directive");
    return CUDA_ERROR_INVALID_PTX;
  }
  const int isa = major * 10 + minor;
  if (isa > newest_isa(g_config.driver_version)) {
    diag("cuModuleLoadData: PTX ISA %d.%d needs a newer driver than %d (loads up to %s)", major, minor,
         g_config.driver_version, isa_text(newest_isa(g_config.driver_version)).c_str());
    return CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
  }
  size_t t = text.find(".target");
  int target = 0;
  if (t != std::string::npos) sscanf(text.c_str() + t, ".target sm_%d", &target);
  if (target > g_config.sm) {
    diag("cuModuleLoadData: PTX for sm_%d cannot be compiled for an sm_%d device", target, g_config.sm);
    return CUDA_ERROR_INVALID_PTX;
  }
  for (size_t at = text.find(".entry"); at != std::string::npos; at = text.find(".entry", at + 6)) {
    size_t b = at + 6;
    while (b < text.size() && isspace(static_cast<unsigned char>(text[b]))) ++b;
    size_t e = b;
    while (e < text.size() && (isalnum(static_cast<unsigned char>(text[e])) || text[e] == '_' || text[e] == '$')) ++e;
    if (e > b) m->entries.insert(text.substr(b, e - b));
  }
  m->origin = "PTX " + isa_text(isa);
  return CUDA_SUCCESS;
}

template <class T>
T rd(const unsigned char* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}

// Kernel names from a cubin's .text.<name> sections.
void cubin_entries(const unsigned char* elf, size_t size, std::set<std::string>* out) {
  if (size < 64) return;
  const unsigned long long shoff = rd<unsigned long long>(elf + 40);
  const unsigned shentsize = rd<unsigned short>(elf + 58), shnum = rd<unsigned short>(elf + 60),
                 shstrndx = rd<unsigned short>(elf + 62);
  if (shoff + static_cast<unsigned long long>(shnum) * shentsize > size || shstrndx >= shnum) return;
  const unsigned char* strsh = elf + shoff + static_cast<size_t>(shstrndx) * shentsize;
  const unsigned long long stroff = rd<unsigned long long>(strsh + 24), strsize = rd<unsigned long long>(strsh + 32);
  if (stroff + strsize > size) return;
  for (unsigned i = 0; i < shnum; ++i) {
    const unsigned name = rd<unsigned>(elf + shoff + static_cast<size_t>(i) * shentsize);
    if (name >= strsize) continue;
    const char* n = reinterpret_cast<const char*>(elf + stroff + name);
    if (strncmp(n, ".text.", 6) == 0) out->insert(n + 6);
  }
}

CUresult load_cubin(const unsigned char* elf, size_t size, Module* m) {
  if (size < 64 || rd<unsigned short>(elf + 18) != 190) {  // EM_CUDA
    diag("cuModuleLoadData: not a CUDA ELF image");
    return CUDA_ERROR_INVALID_IMAGE;
  }
  const int sm = static_cast<int>((rd<unsigned>(elf + 48) >> 8) & 0xff);
  if (!cubin_runs_on(sm, g_config.sm)) {
    diag("cuModuleLoadData: a cubin for sm_%d does not run on an sm_%d device", sm, g_config.sm);
    return CUDA_ERROR_NO_BINARY_FOR_GPU;
  }
  cubin_entries(elf, size, &m->entries);
  m->origin = "cubin sm_" + std::to_string(sm);
  return CUDA_SUCCESS;
}

// Picks the image a driver would: the best matching cubin, else PTX to compile. A fatbin whose
// PTX is newer than the driver was built by a newer toolkit, so its cubins are refused too.
CUresult load_fatbin(const unsigned char* p, Module* m) {
  const unsigned long long fat_size = rd<unsigned long long>(p + 8);
  const unsigned short header = rd<unsigned short>(p + 6);
  const unsigned char* end = p + 16 + fat_size;
  int best_cubin = -1, best_ptx = -1, newest_ptx_isa = 0;
  const unsigned char *cubin = nullptr, *ptx = nullptr;
  size_t cubin_size = 0, ptx_size = 0;
  bool ptx_compressed = false;
  for (const unsigned char* e = p + header; e + 64 <= end;) {
    const unsigned kind = rd<unsigned short>(e), eh = rd<unsigned>(e + 4);
    const unsigned long long payload = rd<unsigned long long>(e + 8);
    const unsigned version = rd<unsigned>(e + 24);
    const int sm = static_cast<int>(rd<unsigned>(e + 28));
    const unsigned long long flags = rd<unsigned long long>(e + 40);
    if (eh == 0) break;
    if (kind == 2 && cubin_runs_on(sm, g_config.sm) && sm > best_cubin) {
      best_cubin = sm;
      cubin = e + eh;
      cubin_size = payload;
    } else if (kind == 1) {
      const int isa = static_cast<int>((version >> 16) * 10 + (version & 0xffff));
      if (isa > newest_ptx_isa) newest_ptx_isa = isa;
      if (sm <= g_config.sm && sm > best_ptx) {
        best_ptx = sm;
        ptx = e + eh;
        ptx_size = payload;
        ptx_compressed = (flags & 0x8000) != 0;
      }
    }
    e += eh + payload;
  }
  if (newest_ptx_isa > newest_isa(g_config.driver_version)) {
    diag("cuModuleLoadData: the fatbin was built for PTX ISA %s, which driver %d (up to %s) does not support",
         isa_text(newest_ptx_isa).c_str(), g_config.driver_version, isa_text(newest_isa(g_config.driver_version)).c_str());
    return CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
  }
  if (cubin) return load_cubin(cubin, cubin_size, m);
  if (ptx) {
    if (!ptx_compressed) return load_ptx(std::string(reinterpret_cast<const char*>(ptx), ptx_size), m);
    m->origin = "compressed PTX for compute_" + std::to_string(best_ptx);  // names not checked
    return CUDA_SUCCESS;
  }
  diag("cuModuleLoadData: the fatbin has no image for sm_%d", g_config.sm);
  return CUDA_ERROR_NO_BINARY_FOR_GPU;
}

CUresult load_image(const void* image, Module** out) {
  if (!image || !out) return CUDA_ERROR_INVALID_VALUE;
  Ctx* c = current();
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  const unsigned char* p = static_cast<const unsigned char*>(image);
  Module* m = new Module{c, {}, ""};
  CUresult rc;
  if (rd<unsigned>(p) == 0xBA55ED50u) {
    rc = load_fatbin(p, m);
  } else if (rd<unsigned>(p) == 0x464C457Fu) {  // "\x7fELF"
    // the ELF size is what its section headers span
    const unsigned long long shoff = rd<unsigned long long>(p + 40);
    const size_t size = shoff + static_cast<size_t>(rd<unsigned short>(p + 60)) * rd<unsigned short>(p + 58);
    rc = load_cubin(p, size, m);
  } else {
    rc = load_ptx(std::string(reinterpret_cast<const char*>(p)), m);
  }
  if (rc != CUDA_SUCCESS) {
    delete m;
    return rc;
  }
  *out = m;
  return CUDA_SUCCESS;
}

const char* error_name(CUresult r) {
  switch (r) {
    case CUDA_SUCCESS: return "CUDA_SUCCESS";
    case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
    case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
    case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
    case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
    case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
    case CUDA_ERROR_INVALID_IMAGE: return "CUDA_ERROR_INVALID_IMAGE";
    case CUDA_ERROR_INVALID_CONTEXT: return "CUDA_ERROR_INVALID_CONTEXT";
    case CUDA_ERROR_NO_BINARY_FOR_GPU: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case CUDA_ERROR_INVALID_PTX: return "CUDA_ERROR_INVALID_PTX";
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
    case CUDA_ERROR_FILE_NOT_FOUND: return "CUDA_ERROR_FILE_NOT_FOUND";
    case CUDA_ERROR_INVALID_HANDLE: return "CUDA_ERROR_INVALID_HANDLE";
    case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
    case CUDA_ERROR_ILLEGAL_ADDRESS: return "CUDA_ERROR_ILLEGAL_ADDRESS";
    case CUDA_ERROR_LAUNCH_FAILED: return "CUDA_ERROR_LAUNCH_FAILED";
    case CUDA_ERROR_NOT_SUPPORTED: return "CUDA_ERROR_NOT_SUPPORTED";
    case CUDA_ERROR_UNKNOWN: return "CUDA_ERROR_UNKNOWN";
  }
  return nullptr;
}

const char* error_string(CUresult r) {
  switch (r) {
    case CUDA_SUCCESS: return "no error";
    case CUDA_ERROR_INVALID_VALUE: return "invalid argument";
    case CUDA_ERROR_OUT_OF_MEMORY: return "out of memory";
    case CUDA_ERROR_NOT_INITIALIZED: return "initialization error";
    case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
    case CUDA_ERROR_INVALID_DEVICE: return "invalid device ordinal";
    case CUDA_ERROR_INVALID_IMAGE: return "device kernel image is invalid";
    case CUDA_ERROR_INVALID_CONTEXT: return "invalid device context";
    case CUDA_ERROR_NO_BINARY_FOR_GPU: return "no kernel image is available for execution on the device";
    case CUDA_ERROR_INVALID_PTX: return "a PTX JIT compilation failed";
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return "the provided PTX was compiled with an unsupported toolchain.";
    case CUDA_ERROR_FILE_NOT_FOUND: return "file not found";
    case CUDA_ERROR_INVALID_HANDLE: return "invalid resource handle";
    case CUDA_ERROR_NOT_FOUND: return "named symbol not found";
    case CUDA_ERROR_ILLEGAL_ADDRESS: return "an illegal memory access was encountered";
    case CUDA_ERROR_LAUNCH_FAILED: return "unspecified launch failure";
    case CUDA_ERROR_NOT_SUPPORTED: return "operation not supported";
    case CUDA_ERROR_UNKNOWN: return "unknown error";
  }
  return nullptr;
}

#define REQUIRE_INIT()                                  \
  do {                                                  \
    if (!g_initialized) return CUDA_ERROR_NOT_INITIALIZED; \
  } while (0)
#define REQUIRE_DEVICE(d)                                                          \
  do {                                                                             \
    if (!g_initialized) return CUDA_ERROR_NOT_INITIALIZED;                         \
    if ((d) < 0 || (d) >= static_cast<int>(g_devices.size())) return CUDA_ERROR_INVALID_DEVICE; \
  } while (0)
#define REQUIRE_CTX()                                   \
  do {                                                  \
    if (!g_initialized) return CUDA_ERROR_NOT_INITIALIZED; \
    if (!current()) return CUDA_ERROR_INVALID_CONTEXT;  \
  } while (0)

}  // namespace

// ---- used by the fake libcublas --------------------------------------------------------------

EXPORT KilnEmuDevice* kiln_fake_cuda_current_device(void) { return current_emu(); }

// ---- initialization and version --------------------------------------------------------------

EXPORT CUresult cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_initialized) return CUDA_SUCCESS;
  g_config.driver_version = static_cast<int>(env_ll("KILN_FAKE_CUDA_DRIVER_VERSION", 13000));
  g_config.sm = static_cast<int>(env_ll("KILN_FAKE_CUDA_SM", 86));
  g_config.devices = static_cast<int>(env_ll("KILN_FAKE_CUDA_DEVICES", 1));
  g_config.memory = static_cast<unsigned long long>(env_ll("KILN_FAKE_CUDA_MEMORY", 8ll << 30));
  g_config.quiet = env_ll("KILN_FAKE_CUDA_QUIET", 0) != 0;
  g_config.event_lag = env_ll("KILN_FAKE_CUDA_EVENT_LAG", 0);
  if (g_config.devices <= 0) return CUDA_ERROR_NO_DEVICE;
  g_devices.resize(static_cast<size_t>(g_config.devices));
  for (Device& d : g_devices) d.emu = kiln_emu_device_create(g_config.memory);
  g_initialized = true;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int* version) {
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  // like the real driver, answerable before cuInit
  *version = static_cast<int>(env_ll("KILN_FAKE_CUDA_DRIVER_VERSION", 13000));
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char** str) {
  if (!str) return CUDA_ERROR_INVALID_VALUE;
  *str = error_name(error);
  return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** str) {
  if (!str) return CUDA_ERROR_INVALID_VALUE;
  *str = error_string(error);
  return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// ---- devices ---------------------------------------------------------------------------------

EXPORT CUresult cuDeviceGetCount(int* count) {
  REQUIRE_INIT();
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  *count = static_cast<int>(g_devices.size());
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  REQUIRE_DEVICE(ordinal);
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  snprintf(name, static_cast<size_t>(len), "Kiln emulated GPU (sm_%d)", g_config.sm);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!bytes) return CUDA_ERROR_INVALID_VALUE;
  *bytes = kiln_emu_capacity(g_devices[dev].emu);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceComputeCapability(int* major, int* minor, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!major || !minor) return CUDA_ERROR_INVALID_VALUE;
  *major = g_config.sm / 10;
  *minor = g_config.sm % 10;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int* value, int attrib, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  switch (attrib) {
    case 1: *value = 1024; break;            // MAX_THREADS_PER_BLOCK
    case 2: case 3: *value = 1024; break;    // MAX_BLOCK_DIM_X/Y
    case 4: *value = 64; break;              // MAX_BLOCK_DIM_Z
    case 5: *value = 2147483647; break;      // MAX_GRID_DIM_X
    case 6: case 7: *value = 65535; break;   // MAX_GRID_DIM_Y/Z
    case 8: *value = 49152; break;           // MAX_SHARED_MEMORY_PER_BLOCK
    case 9: *value = 65536; break;           // TOTAL_CONSTANT_MEMORY
    case 10: *value = 32; break;             // WARP_SIZE
    case 11: *value = 2147483647; break;     // MAX_PITCH
    case 12: *value = 65536; break;          // MAX_REGISTERS_PER_BLOCK
    case 13: *value = 1000000; break;        // CLOCK_RATE (kHz)
    case 14: *value = 512; break;            // TEXTURE_ALIGNMENT
    case 15: *value = 1; break;              // GPU_OVERLAP
    case 16: *value = 8; break;              // MULTIPROCESSOR_COUNT
    case 19: *value = 1; break;              // CAN_MAP_HOST_MEMORY
    case 31: *value = 1; break;              // CONCURRENT_KERNELS
    case 33: *value = dev; break;            // PCI_BUS_ID
    case 36: *value = 1000000; break;        // MEMORY_CLOCK_RATE
    case 37: *value = 256; break;            // GLOBAL_MEMORY_BUS_WIDTH
    case 38: *value = 4 << 20; break;        // L2_CACHE_SIZE
    case 39: *value = 2048; break;           // MAX_THREADS_PER_MULTIPROCESSOR
    case 40: *value = 1; break;              // ASYNC_ENGINE_COUNT
    case 41: *value = 1; break;              // UNIFIED_ADDRESSING
    case 75: *value = g_config.sm / 10; break;  // COMPUTE_CAPABILITY_MAJOR
    case 76: *value = g_config.sm % 10; break;  // COMPUTE_CAPABILITY_MINOR
    case 81: *value = 102400; break;         // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
    case 82: *value = 65536; break;          // MAX_REGISTERS_PER_MULTIPROCESSOR
    case 97: *value = 49152; break;          // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    default:
      if (attrib <= 0 || attrib > 200) return CUDA_ERROR_INVALID_VALUE;
      *value = 0;  // features the emulator does not model
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetUuid(unsigned char uuid[16], CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!uuid) return CUDA_ERROR_INVALID_VALUE;
  memcpy(uuid, "KILN-EMULATED-0", 16);
  uuid[15] = static_cast<unsigned char>(dev);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetPCIBusId(char* id, int len, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!id || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  snprintf(id, static_cast<size_t>(len), "0000:%02x:00.0", dev);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetProperties(int* prop, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!prop) return CUDA_ERROR_INVALID_VALUE;
  // CUdevprop: maxThreadsPerBlock, maxThreadsDim[3], maxGridSize[3], sharedMemPerBlock,
  // totalConstantMemory, SIMDWidth, memPitch, regsPerBlock, clockRate, textureAlign
  const int v[] = {1024, 1024, 1024, 64, 2147483647, 65535, 65535, 49152, 65536, 32, 2147483647, 65536, 1000000, 512};
  memcpy(prop, v, sizeof v);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceCanAccessPeer(int* can, CUdevice dev, CUdevice peer) {
  REQUIRE_DEVICE(dev);
  REQUIRE_DEVICE(peer);
  if (!can) return CUDA_ERROR_INVALID_VALUE;
  *can = 0;
  return CUDA_SUCCESS;
}

// ---- contexts --------------------------------------------------------------------------------

EXPORT CUresult cuCtxCreate_v2(Ctx** pctx, unsigned int flags, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lk(g_mu);
  Ctx* c = new Ctx{dev, flags, g_next_ctx_id++};
  tls_stack.push_back(c);
  *pctx = c;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxDestroy_v2(Ctx* ctx) {
  REQUIRE_INIT();
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  for (auto it = tls_stack.begin(); it != tls_stack.end();) {
    if (*it == ctx) it = tls_stack.erase(it);
    else ++it;
  }
  for (Device& d : g_devices) {
    if (d.primary == ctx) return CUDA_SUCCESS;  // primary contexts live until released
  }
  delete ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(Ctx* ctx) {
  REQUIRE_INIT();
  if (!ctx) {
    if (!tls_stack.empty()) tls_stack.pop_back();
    return CUDA_SUCCESS;
  }
  if (tls_stack.empty()) tls_stack.push_back(ctx);
  else tls_stack.back() = ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(Ctx** pctx) {
  REQUIRE_INIT();
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  *pctx = current();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent_v2(Ctx* ctx) {
  REQUIRE_INIT();
  if (!ctx) return CUDA_ERROR_INVALID_CONTEXT;
  tls_stack.push_back(ctx);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPopCurrent_v2(Ctx** pctx) {
  REQUIRE_CTX();
  if (pctx) *pctx = tls_stack.back();
  tls_stack.pop_back();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice* dev) {
  REQUIRE_CTX();
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  *dev = current()->device;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void) {
  REQUIRE_CTX();
  g_sync_epoch++;
  return CUDA_SUCCESS;  // every call completes before it returns
}

EXPORT CUresult cuCtxGetApiVersion(Ctx* ctx, unsigned int* version) {
  REQUIRE_INIT();
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  (void)ctx;
  *version = 3020;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetFlags(unsigned int* flags) {
  REQUIRE_CTX();
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  *flags = current()->flags;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetId(Ctx* ctx, unsigned long long* id) {
  REQUIRE_INIT();
  if (!id) return CUDA_ERROR_INVALID_VALUE;
  Ctx* c = ctx ? ctx : current();
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  *id = c->id;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetLimit(size_t* value, int limit) {
  REQUIRE_CTX();
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  switch (limit) {
    case 0: *value = 1024; break;      // STACK_SIZE
    case 1: *value = 1 << 20; break;   // PRINTF_FIFO_SIZE
    case 2: *value = 8 << 20; break;   // MALLOC_HEAP_SIZE
    default: *value = 0;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetLimit(int limit, size_t value) {
  REQUIRE_CTX();
  (void)limit;
  (void)value;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetStreamPriorityRange(int* least, int* greatest) {
  REQUIRE_CTX();
  if (least) *least = 0;
  if (greatest) *greatest = 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCacheConfig(int* config) {
  REQUIRE_CTX();
  if (config) *config = 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCacheConfig(int config) {
  REQUIRE_CTX();
  (void)config;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(Ctx** pctx, CUdevice dev) {
  REQUIRE_DEVICE(dev);
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lk(g_mu);
  Device& d = g_devices[dev];
  if (!d.primary) d.primary = new Ctx{dev, d.primary_flags, g_next_ctx_id++};
  d.primary_refs++;
  *pctx = d.primary;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  REQUIRE_DEVICE(dev);
  std::lock_guard<std::mutex> lk(g_mu);
  Device& d = g_devices[dev];
  if (d.primary_refs <= 0) return CUDA_ERROR_INVALID_CONTEXT;
  d.primary_refs--;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev) {
  REQUIRE_DEVICE(dev);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
  REQUIRE_DEVICE(dev);
  if (!flags || !active) return CUDA_ERROR_INVALID_VALUE;
  *flags = g_devices[dev].primary_flags;
  *active = g_devices[dev].primary_refs > 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) {
  REQUIRE_DEVICE(dev);
  g_devices[dev].primary_flags = flags;
  return CUDA_SUCCESS;
}

// ---- memory ----------------------------------------------------------------------------------

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  REQUIRE_CTX();
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  void* p = nullptr;
  CUresult rc = from_emu(kiln_emu_malloc(current_emu(), bytes, &p), "cuMemAlloc");
  *dptr = reinterpret_cast<CUdeviceptr>(p);
  return rc;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_free(current_emu(), reinterpret_cast<void*>(dptr)), "cuMemFree");
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
  REQUIRE_CTX();
  if (!free_bytes || !total) return CUDA_ERROR_INVALID_VALUE;
  KilnEmuDevice* d = current_emu();
  *total = kiln_emu_capacity(d);
  *free_bytes = *total - kiln_emu_allocated_bytes(d);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr* base, size_t* size, CUdeviceptr dptr) {
  REQUIRE_CTX();
  void* b = nullptr;
  uint64_t s = 0;
  CUresult rc = kiln_emu_address_range(current_emu(), reinterpret_cast<void*>(dptr), &b, &s);
  if (rc != CUDA_SUCCESS) return rc;
  if (base) *base = reinterpret_cast<CUdeviceptr>(b);
  if (size) *size = s;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memcpy_htod(current_emu(), reinterpret_cast<void*>(dst), src, bytes), "cuMemcpyHtoD");
}

EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memcpy_dtoh(current_emu(), dst, reinterpret_cast<void*>(src), bytes), "cuMemcpyDtoH");
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memcpy_dtod(current_emu(), reinterpret_cast<void*>(dst), reinterpret_cast<void*>(src), bytes),
                  "cuMemcpyDtoD");
}

// Streams are synchronous: the asynchronous copies complete before they return.
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, Stream*) {
  return cuMemcpyHtoD_v2(dst, src, bytes);
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, Stream*) {
  return cuMemcpyDtoH_v2(dst, src, bytes);
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, Stream*) {
  return cuMemcpyDtoD_v2(dst, src, bytes);
}

// Unified addressing: the direction follows from which pointers are device allocations.
EXPORT CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  REQUIRE_CTX();
  KilnEmuDevice* d = current_emu();
  const bool dd = kiln_emu_check_range(d, reinterpret_cast<void*>(dst), 0) == KILN_EMU_SUCCESS;
  const bool sd = kiln_emu_check_range(d, reinterpret_cast<void*>(src), 0) == KILN_EMU_SUCCESS;
  void* dp = reinterpret_cast<void*>(dst);
  const void* sp = reinterpret_cast<const void*>(src);
  if (dd && sd) return from_emu(kiln_emu_memcpy_dtod(d, dp, sp, bytes), "cuMemcpy");
  if (dd) return from_emu(kiln_emu_memcpy_htod(d, dp, sp, bytes), "cuMemcpy");
  if (sd) return from_emu(kiln_emu_memcpy_dtoh(d, dp, sp, bytes), "cuMemcpy");
  if (bytes) memmove(dp, sp, bytes);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, Stream*) {
  return cuMemcpy(dst, src, bytes);
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memset(current_emu(), reinterpret_cast<void*>(dst), v, 1, n), "cuMemsetD8");
}

EXPORT CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short v, size_t n) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memset(current_emu(), reinterpret_cast<void*>(dst), v, 2, n), "cuMemsetD16");
}

EXPORT CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n) {
  REQUIRE_CTX();
  return from_emu(kiln_emu_memset(current_emu(), reinterpret_cast<void*>(dst), v, 4, n), "cuMemsetD32");
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, Stream*) { return cuMemsetD8_v2(dst, v, n); }
EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short v, size_t n, Stream*) { return cuMemsetD16_v2(dst, v, n); }
EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, Stream*) { return cuMemsetD32_v2(dst, v, n); }

// Page-locked host memory is ordinary host memory here, but tracked as a driver tracks it:
// cuMemFreeHost of anything cuMemHostAlloc did not return (or returned and was freed) fails.
namespace {
std::mutex g_host_mu;
std::set<void*> g_host_blocks;

constexpr unsigned kHostAllocFlags = 0x1 | 0x2 | 0x4;  // PORTABLE | DEVICEMAP | WRITECOMBINED
}  // namespace

EXPORT CUresult cuMemHostAlloc(void** pp, size_t bytes, unsigned int flags) {
  REQUIRE_CTX();
  if (!pp || (flags & ~kHostAllocFlags)) return CUDA_ERROR_INVALID_VALUE;
  *pp = malloc(bytes ? bytes : 1);
  if (!*pp) return CUDA_ERROR_OUT_OF_MEMORY;
  std::lock_guard<std::mutex> lock(g_host_mu);
  g_host_blocks.insert(*pp);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAllocHost_v2(void** pp, size_t bytes) { return cuMemHostAlloc(pp, bytes, 0); }

EXPORT CUresult cuMemFreeHost(void* p) {
  REQUIRE_INIT();
  {
    std::lock_guard<std::mutex> lock(g_host_mu);
    if (g_host_blocks.erase(p) == 0) {
      diag("cuMemFreeHost(%p): not page-locked memory from cuMemHostAlloc (freed twice?)", p);
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  free(p);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostRegister_v2(void* p, size_t bytes, unsigned int flags) {
  REQUIRE_CTX();
  (void)p;
  (void)bytes;
  (void)flags;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostUnregister(void* p) {
  REQUIRE_CTX();
  (void)p;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuPointerGetAttribute(void* data, int attribute, CUdeviceptr ptr) {
  REQUIRE_CTX();
  if (!data) return CUDA_ERROR_INVALID_VALUE;
  const bool device = kiln_emu_check_range(current_emu(), reinterpret_cast<void*>(ptr), 0) == KILN_EMU_SUCCESS;
  switch (attribute) {
    case 1:  // CONTEXT
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<Ctx**>(data) = current();
      return CUDA_SUCCESS;
    case 2:  // MEMORY_TYPE: CU_MEMORYTYPE_HOST 1, DEVICE 2
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<unsigned*>(data) = 2;
      return CUDA_SUCCESS;
    case 3:  // DEVICE_POINTER
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<CUdeviceptr*>(data) = ptr;
      return CUDA_SUCCESS;
  }
  diag("cuPointerGetAttribute: attribute %d is not implemented", attribute);
  return CUDA_ERROR_NOT_SUPPORTED;
}

// ---- modules and launches ----------------------------------------------------------------------

EXPORT CUresult cuModuleLoadData(Module** module, const void* image) {
  REQUIRE_CTX();
  return load_image(image, module);
}

EXPORT CUresult cuModuleLoadDataEx(Module** module, const void* image, unsigned int n, int* options, void** values) {
  (void)n;
  (void)options;
  (void)values;
  return cuModuleLoadData(module, image);
}

EXPORT CUresult cuModuleLoadFatBinary(Module** module, const void* fatbin) { return cuModuleLoadData(module, fatbin); }

EXPORT CUresult cuModuleLoad(Module** module, const char* path) {
  REQUIRE_CTX();
  if (!path) return CUDA_ERROR_INVALID_VALUE;
  std::ifstream in(path, std::ios::binary);
  if (!in) return CUDA_ERROR_FILE_NOT_FOUND;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes.push_back('\0');
  return load_image(bytes.data(), module);
}

EXPORT CUresult cuModuleUnload(Module* module) {
  REQUIRE_INIT();
  if (!module) return CUDA_ERROR_INVALID_HANDLE;
  delete module;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(Func** func, Module* module, const char* name) {
  REQUIRE_CTX();
  if (!func || !module || !name) return CUDA_ERROR_INVALID_VALUE;
  if (!module->entries.empty() && !module->entries.count(name)) {
    diag("cuModuleGetFunction: no kernel %s in the module (%s)", name, module->origin.c_str());
    return CUDA_ERROR_NOT_FOUND;
  }
  if (!kiln_emu_kernel_lookup(name)) {
    diag("cuModuleGetFunction: %s exists in the module (%s) but not in the emulator", name, module->origin.c_str());
    return CUDA_ERROR_NOT_FOUND;
  }
  *func = new Func{module, name};
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetGlobal_v2(CUdeviceptr* dptr, size_t* bytes, Module* module, const char* name) {
  REQUIRE_CTX();
  (void)dptr;
  (void)bytes;
  (void)module;
  diag("cuModuleGetGlobal: the emulator's modules have no globals (%s)", name ? name : "?");
  return CUDA_ERROR_NOT_FOUND;
}

EXPORT CUresult cuFuncGetAttribute(int* value, int attrib, Func* f) {
  REQUIRE_INIT();
  if (!value || !f) return CUDA_ERROR_INVALID_VALUE;
  switch (attrib) {
    case 0: *value = 1024; break;            // MAX_THREADS_PER_BLOCK
    case 4: *value = 32; break;              // NUM_REGS
    case 5: *value = 75; break;              // PTX_VERSION
    case 6: *value = g_config.sm; break;     // BINARY_VERSION
    case 8: *value = 49152; break;           // MAX_DYNAMIC_SHARED_SIZE_BYTES
    default: *value = 0;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncSetAttribute(Func* f, int attrib, int value) {
  REQUIRE_INIT();
  (void)attrib;
  (void)value;
  return f ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

EXPORT CUresult cuFuncSetCacheConfig(Func* f, int config) {
  REQUIRE_INIT();
  (void)config;
  return f ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

EXPORT CUresult cuLaunchKernel(Func* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                               unsigned shared, Stream* stream, void** params, void** extra) {
  REQUIRE_CTX();
  (void)stream;
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  if (extra) {
    diag("cuLaunchKernel(%s): the 'extra' argument buffer is not implemented; pass kernelParams", f->name.c_str());
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  const std::string what = "cuLaunchKernel(" + f->name + ")";
  // like the real driver, the parameter sizes come from the kernel, not from the caller
  return from_emu(kiln_emu_launch(current_emu(), f->name.c_str(), grid, block, shared, nullptr, params), what.c_str());
}

EXPORT CUresult cuOccupancyMaxPotentialBlockSize(int* min_grid, int* block, Func* f, void* smem_fn, size_t smem,
                                                 int limit) {
  REQUIRE_INIT();
  (void)smem_fn;
  (void)smem;
  if (!min_grid || !block || !f) return CUDA_ERROR_INVALID_VALUE;
  *block = (limit > 0 && limit < 1024) ? limit : 1024;
  *min_grid = 8 * (2048 / *block);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, Func* f, int block, size_t smem) {
  REQUIRE_INIT();
  (void)smem;
  if (!blocks || !f || block <= 0) return CUDA_ERROR_INVALID_VALUE;
  *blocks = 2048 / block;
  return CUDA_SUCCESS;
}

// ---- streams and events: everything completes synchronously -------------------------------------

EXPORT CUresult cuStreamCreate(Stream** s, unsigned int flags) {
  REQUIRE_CTX();
  if (!s) return CUDA_ERROR_INVALID_VALUE;
  *s = new Stream{flags};
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamCreateWithPriority(Stream** s, unsigned int flags, int priority) {
  (void)priority;
  return cuStreamCreate(s, flags);
}

EXPORT CUresult cuStreamDestroy_v2(Stream* s) {
  REQUIRE_INIT();
  delete s;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(Stream*) {
  REQUIRE_CTX();
  g_sync_epoch++;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamQuery(Stream*) {
  REQUIRE_CTX();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamWaitEvent(Stream*, Event*, unsigned int) {
  REQUIRE_CTX();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamGetFlags(Stream* s, unsigned int* flags) {
  REQUIRE_CTX();
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  *flags = s ? s->flags : 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamAddCallback(Stream* s, void (*fn)(Stream*, CUresult, void*), void* user, unsigned int flags) {
  REQUIRE_CTX();
  (void)flags;
  if (!fn) return CUDA_ERROR_INVALID_VALUE;
  fn(s, CUDA_SUCCESS, user);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchHostFunc(Stream* s, void (*fn)(void*), void* user) {
  REQUIRE_CTX();
  (void)s;
  if (!fn) return CUDA_ERROR_INVALID_VALUE;
  fn(user);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventCreate(Event** e, unsigned int flags) {
  REQUIRE_CTX();
  (void)flags;
  if (!e) return CUDA_ERROR_INVALID_VALUE;
  *e = new Event();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventDestroy_v2(Event* e) {
  REQUIRE_INIT();
  delete e;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecord(Event* e, Stream*) {
  REQUIRE_CTX();
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  e->lag = g_config.event_lag;
  e->sync_epoch = g_sync_epoch;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecordWithFlags(Event* e, Stream* s, unsigned int) { return cuEventRecord(e, s); }

EXPORT CUresult cuEventSynchronize(Event* e) {
  REQUIRE_CTX();
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  e->lag = 0;
  return CUDA_SUCCESS;
}

// The work itself is done when queued; KILN_FAKE_CUDA_EVENT_LAG only makes the events say otherwise.
EXPORT CUresult cuEventQuery(Event* e) {
  REQUIRE_CTX();
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  if (e->lag > 0 && e->sync_epoch == g_sync_epoch) {
    e->lag--;
    return CUDA_ERROR_NOT_READY;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventElapsedTime(float* ms, Event* start, Event* end) {
  REQUIRE_CTX();
  if (!ms || !start || !end) return CUDA_ERROR_INVALID_VALUE;
  if (!start->recorded || !end->recorded) return CUDA_ERROR_INVALID_HANDLE;
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return CUDA_SUCCESS;
}

// ---- entry-point lookup -----------------------------------------------------------------------

namespace {

// What cuGetProcAddress may hand out: only the implemented entry points, so that code which
// probes for a function sees "not found" rather than a stub.
const std::map<std::string, void*>& implemented() {
  static const std::map<std::string, void*> table = {
#define KILN_FN(name) {#name, reinterpret_cast<void*>(&name)}
      KILN_FN(cuInit), KILN_FN(cuDriverGetVersion), KILN_FN(cuGetErrorName), KILN_FN(cuGetErrorString),
      KILN_FN(cuDeviceGetCount), KILN_FN(cuDeviceGet), KILN_FN(cuDeviceGetName), KILN_FN(cuDeviceTotalMem_v2),
      KILN_FN(cuDeviceComputeCapability), KILN_FN(cuDeviceGetAttribute), KILN_FN(cuDeviceGetUuid),
      KILN_FN(cuDeviceGetPCIBusId), KILN_FN(cuDeviceGetProperties), KILN_FN(cuDeviceCanAccessPeer),
      KILN_FN(cuCtxCreate_v2), KILN_FN(cuCtxDestroy_v2), KILN_FN(cuCtxSetCurrent), KILN_FN(cuCtxGetCurrent),
      KILN_FN(cuCtxPushCurrent_v2), KILN_FN(cuCtxPopCurrent_v2), KILN_FN(cuCtxGetDevice), KILN_FN(cuCtxSynchronize),
      KILN_FN(cuCtxGetApiVersion), KILN_FN(cuCtxGetFlags), KILN_FN(cuCtxGetId), KILN_FN(cuCtxGetLimit),
      KILN_FN(cuCtxSetLimit), KILN_FN(cuCtxGetStreamPriorityRange), KILN_FN(cuCtxGetCacheConfig),
      KILN_FN(cuCtxSetCacheConfig), KILN_FN(cuDevicePrimaryCtxRetain), KILN_FN(cuDevicePrimaryCtxRelease_v2),
      KILN_FN(cuDevicePrimaryCtxReset_v2), KILN_FN(cuDevicePrimaryCtxGetState), KILN_FN(cuDevicePrimaryCtxSetFlags_v2),
      KILN_FN(cuMemAlloc_v2), KILN_FN(cuMemFree_v2), KILN_FN(cuMemGetInfo_v2), KILN_FN(cuMemGetAddressRange_v2),
      KILN_FN(cuMemcpyHtoD_v2), KILN_FN(cuMemcpyDtoH_v2), KILN_FN(cuMemcpyDtoD_v2), KILN_FN(cuMemcpyHtoDAsync_v2),
      KILN_FN(cuMemcpyDtoHAsync_v2), KILN_FN(cuMemcpyDtoDAsync_v2), KILN_FN(cuMemcpy), KILN_FN(cuMemcpyAsync),
      KILN_FN(cuMemsetD8_v2), KILN_FN(cuMemsetD16_v2), KILN_FN(cuMemsetD32_v2), KILN_FN(cuMemsetD8Async),
      KILN_FN(cuMemsetD16Async), KILN_FN(cuMemsetD32Async), KILN_FN(cuMemAllocHost_v2), KILN_FN(cuMemHostAlloc),
      KILN_FN(cuMemFreeHost), KILN_FN(cuMemHostRegister_v2), KILN_FN(cuMemHostUnregister),
      KILN_FN(cuPointerGetAttribute), KILN_FN(cuModuleLoadData), KILN_FN(cuModuleLoadDataEx),
      KILN_FN(cuModuleLoadFatBinary), KILN_FN(cuModuleLoad), KILN_FN(cuModuleUnload), KILN_FN(cuModuleGetFunction),
      KILN_FN(cuModuleGetGlobal_v2), KILN_FN(cuFuncGetAttribute), KILN_FN(cuFuncSetAttribute),
      KILN_FN(cuFuncSetCacheConfig), KILN_FN(cuLaunchKernel), KILN_FN(cuOccupancyMaxPotentialBlockSize),
      KILN_FN(cuOccupancyMaxActiveBlocksPerMultiprocessor), KILN_FN(cuStreamCreate),
      KILN_FN(cuStreamCreateWithPriority), KILN_FN(cuStreamDestroy_v2), KILN_FN(cuStreamSynchronize),
      KILN_FN(cuStreamQuery), KILN_FN(cuStreamWaitEvent), KILN_FN(cuStreamGetFlags), KILN_FN(cuStreamAddCallback),
      KILN_FN(cuLaunchHostFunc), KILN_FN(cuEventCreate), KILN_FN(cuEventDestroy_v2), KILN_FN(cuEventRecord),
      KILN_FN(cuEventRecordWithFlags), KILN_FN(cuEventSynchronize), KILN_FN(cuEventQuery),
      KILN_FN(cuEventElapsedTime),
#undef KILN_FN
  };
  return table;
}

}  // namespace

EXPORT CUresult cuGetProcAddress_v2(const char* symbol, void** pfn, int version, unsigned long long flags,
                                    int* status) {
  (void)version;
  (void)flags;
  if (!symbol || !pfn) return CUDA_ERROR_INVALID_VALUE;
  const auto& t = implemented();
  for (const char* suffix : {"_v2", ""}) {
    auto it = t.find(std::string(symbol) + suffix);
    if (it != t.end()) {
      *pfn = it->second;
      if (status) *status = 0;  // CU_GET_PROC_ADDRESS_SUCCESS
      return CUDA_SUCCESS;
    }
  }
  *pfn = nullptr;
  if (status) *status = 1;  // CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND
  return CUDA_ERROR_NOT_FOUND;
}

EXPORT CUresult cuGetProcAddress(const char* symbol, void** pfn, int version, unsigned long long flags) {
  return cuGetProcAddress_v2(symbol, pfn, version, flags, nullptr);
}

// ---- everything else ---------------------------------------------------------------------------

extern "C" __attribute__((visibility("hidden"))) CUresult kiln_fake_cuda_unimplemented(const char* name) {
  static std::mutex mu;
  static std::set<std::string> reported;
  std::lock_guard<std::mutex> lk(mu);
  if (reported.insert(name).second) {
    fprintf(stderr, "kiln fake libcuda: %s is not implemented by the emulator (CUDA_ERROR_NOT_SUPPORTED)\n", name);
  }
  return CUDA_ERROR_NOT_SUPPORTED;
}
