// A fake libnvrtc.so.12 for the CUDA backend's runtime-compilation path (taken when the driver
// rejects the fatbin). It cannot compile CUDA C; it checks what a real NVRTC would reject
// before compiling (an include it was not given, a system header, an unknown architecture or
// option) and then emits a stand-in for the result: a cubin (a CUDA ELF with one .text section
// per kernel of the emulator) or PTX (one empty .entry per kernel) that only the fake
// libcuda.so.1 loads, which then runs the emulator's compiled copies of the kernels.
//
//   KILN_FAKE_NVRTC_VERSION  the version it reports, major*10+minor (default 126 = 12.6, PTX 8.5)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <iterator>

#include "kiln_emu_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int nvrtcResult;

enum : nvrtcResult {
  NVRTC_SUCCESS = 0,
  NVRTC_ERROR_INVALID_INPUT = 3,
  NVRTC_ERROR_INVALID_PROGRAM = 4,
  NVRTC_ERROR_INVALID_OPTION = 5,
  NVRTC_ERROR_COMPILATION = 6,
  NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
};

namespace {

struct Program {
  std::string name;
  std::string source;
  std::map<std::string, std::string> headers;
  std::string log;
  std::string ptx;
  std::string cubin;
  bool compiled = false;
  bool real_arch = false;
};

int version() {
  const char* s = getenv("KILN_FAKE_NVRTC_VERSION");
  return s && *s ? atoi(s) : 126;
}

// PTX ISA of a CUDA 12.x/13.x NVRTC: 12.0-12.5 -> 8.0-8.5, 12.6 -> 8.5, 12.7 -> 8.6, ...
std::string ptx_isa() {
  const int v = version();
  int isa;
  if (v >= 130) isa = 90 + (v - 130);
  else if (v >= 127) isa = 86 + (v - 127);
  else if (v >= 126) isa = 85;
  else isa = 80 + (v - 120);
  return std::to_string(isa / 10) + "." + std::to_string(isa % 10);
}

// Follows every #include from the program's source through the headers it was given.
bool check_includes(const Program& p, const std::string& file, const std::string& text, std::set<std::string>* seen,
                    std::string* log) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  bool ok = true;
  while (std::getline(in, line)) {
    ++n;
    size_t h = line.find_first_not_of(" \t");
    if (h == std::string::npos || line[h] != '#') continue;
    size_t inc = line.find("include", h);
    if (inc == std::string::npos || line.find_first_not_of(" \t", h + 1) != inc) continue;
    size_t open = line.find_first_of("\"<", inc);
    if (open == std::string::npos) continue;
    const char close = line[open] == '"' ? '"' : '>';
    size_t end = line.find(close, open + 1);
    const std::string target = line.substr(open + 1, end == std::string::npos ? std::string::npos : end - open - 1);
    auto it = p.headers.find(target);
    if (it == p.headers.end()) {
      *log += file + "(" + std::to_string(n) + "): catastrophic error: cannot open source file \"" + target + "\"\n";
      ok = false;
    } else if (seen->insert(target).second) {
      ok &= check_includes(p, target, it->second, seen, log);
    }
  }
  return ok;
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> out;
  for (int i = 0; i < kiln_emu_kernel_count(); ++i) out.push_back(kiln_emu_kernel_name(i));
  return out;
}

template <class T>
void put(std::string* s, size_t at, T v) {
  memcpy(&(*s)[at], &v, sizeof v);
}

// A CUDA ELF with an empty .text.<name> section per kernel and e_flags naming the architecture,
// which is what the fake driver reads from a cubin.
std::string stand_in_cubin(int sm) {
  std::string shstr(1, '\0');
  std::vector<unsigned> name_at;
  const std::vector<std::string> names = kernel_names();
  for (const std::string& n : names) {
    name_at.push_back(static_cast<unsigned>(shstr.size()));
    shstr += ".text." + n;
    shstr.push_back('\0');
  }
  const unsigned shstrtab_name = static_cast<unsigned>(shstr.size());
  shstr += ".shstrtab";
  shstr.push_back('\0');
  const size_t shnum = names.size() + 2;  // null, the .text sections, .shstrtab
  const size_t strtab_off = 64;
  const size_t shoff = (strtab_off + shstr.size() + 7) & ~size_t(7);
  std::string elf(shoff + shnum * 64, '\0');
  memcpy(&elf[0], "\x7f" "ELF", 4);
  elf[4] = 2;                                        // 64-bit
  elf[5] = 1;                                        // little-endian
  elf[6] = 1;                                        // ELF version
  elf[7] = 0x41;                                     // the CUDA OS/ABI
  elf[8] = 8;                                        // ABI version
  put<unsigned short>(&elf, 16, 2);                  // ET_EXEC
  put<unsigned short>(&elf, 18, 190);                // EM_CUDA
  put<unsigned>(&elf, 20, 1);
  put<unsigned long long>(&elf, 40, shoff);
  put<unsigned>(&elf, 48, static_cast<unsigned>(sm) << 8);
  put<unsigned short>(&elf, 52, 64);                 // e_ehsize
  put<unsigned short>(&elf, 58, 64);                 // e_shentsize
  put<unsigned short>(&elf, 60, static_cast<unsigned short>(shnum));
  put<unsigned short>(&elf, 62, static_cast<unsigned short>(shnum - 1));
  memcpy(&elf[strtab_off], shstr.data(), shstr.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const size_t sh = shoff + (i + 1) * 64;
    put<unsigned>(&elf, sh, name_at[i]);
    put<unsigned>(&elf, sh + 4, 1);                  // SHT_PROGBITS
    put<unsigned long long>(&elf, sh + 8, 6);        // SHF_ALLOC | SHF_EXECINSTR
    put<unsigned long long>(&elf, sh + 24, shoff);   // empty, so any in-file offset will do
  }
  const size_t sh = shoff + (shnum - 1) * 64;
  put<unsigned>(&elf, sh, shstrtab_name);
  put<unsigned>(&elf, sh + 4, 3);                    // SHT_STRTAB
  put<unsigned long long>(&elf, sh + 24, strtab_off);
  put<unsigned long long>(&elf, sh + 32, shstr.size());
  return elf;
}

std::string stand_in_ptx(int sm) {
  std::string s = "// stand-in PTX from Kiln's fake NVRTC: the fake libcuda.so.1 runs the emulator's kernels\n";
  s += ".version " + ptx_isa() + "\n.target sm_" + std::to_string(sm) + "\n.address_size 64\n";
  for (const std::string& n : kernel_names()) s += "\n.visible .entry " + n + "()\n{\n\tret;\n}\n";
  return s;
}

}  // namespace

EXPORT nvrtcResult nvrtcVersion(int* major, int* minor) {
  if (!major || !minor) return NVRTC_ERROR_INVALID_INPUT;
  *major = version() / 10;
  *minor = version() % 10;
  return NVRTC_SUCCESS;
}

EXPORT const char* nvrtcGetErrorString(nvrtcResult r) {
  switch (r) {
    case 0: return "NVRTC_SUCCESS";
    case 1: return "NVRTC_ERROR_OUT_OF_MEMORY";
    case 2: return "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case 3: return "NVRTC_ERROR_INVALID_INPUT";
    case 4: return "NVRTC_ERROR_INVALID_PROGRAM";
    case 5: return "NVRTC_ERROR_INVALID_OPTION";
    case 6: return "NVRTC_ERROR_COMPILATION";
    case 7: return "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE";
    case 8: return "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION";
    case 9: return "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION";
    case 10: return "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID";
    case 11: return "NVRTC_ERROR_INTERNAL_ERROR";
  }
  return "NVRTC_ERROR unknown";
}

// The architectures NVRTC 12.x compiles for.
static const int kArchs[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90};

EXPORT nvrtcResult nvrtcGetNumSupportedArchs(int* n) {
  if (!n) return NVRTC_ERROR_INVALID_INPUT;
  *n = static_cast<int>(sizeof kArchs / sizeof kArchs[0]);
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetSupportedArchs(int* archs) {
  if (!archs) return NVRTC_ERROR_INVALID_INPUT;
  memcpy(archs, kArchs, sizeof kArchs);
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCreateProgram(Program** prog, const char* src, const char* name, int num_headers,
                                      const char* const* headers, const char* const* include_names) {
  if (!prog || !src || num_headers < 0 || (num_headers > 0 && (!headers || !include_names))) {
    return NVRTC_ERROR_INVALID_INPUT;
  }
  Program* p = new Program();
  p->name = name ? name : "default_program";
  p->source = src;
  for (int i = 0; i < num_headers; ++i) {
    if (!headers[i] || !include_names[i]) {
      delete p;
      return NVRTC_ERROR_INVALID_INPUT;
    }
    p->headers[include_names[i]] = headers[i];
  }
  *prog = p;
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcDestroyProgram(Program** prog) {
  if (!prog || !*prog) return NVRTC_ERROR_INVALID_PROGRAM;
  delete *prog;
  *prog = nullptr;
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCompileProgram(Program* p, int num_options, const char* const* options) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  int sm = 52;  // NVRTC's default architecture
  bool real = false;
  for (int i = 0; i < num_options; ++i) {
    const std::string o = options[i] ? options[i] : "";
    std::string arch;
    if (o.rfind("--gpu-architecture=", 0) == 0) arch = o.substr(19);
    else if (o.rfind("-arch=", 0) == 0) arch = o.substr(6);
    else if (o == "-arch" && i + 1 < num_options) arch = options[++i];
    if (!arch.empty()) {
      int v = 0;
      if (sscanf(arch.c_str(), "sm_%d", &v) == 1) real = true;
      else if (sscanf(arch.c_str(), "compute_%d", &v) != 1) v = 0;
      if (std::find(std::begin(kArchs), std::end(kArchs), v) == std::end(kArchs)) {
        p->log = "nvrtc: error: invalid value for --gpu-architecture (-arch)\n";
        return NVRTC_ERROR_INVALID_OPTION;
      }
      sm = v;
    } else if (o.rfind("--std=", 0) != 0 && o.rfind("-std=", 0) != 0 && o != "-default-device" &&
               o != "--device-as-default-execution-space" && o.rfind("-D", 0) != 0 && o.rfind("--define-macro", 0) != 0 &&
               o.rfind("-I", 0) != 0 && o != "-lineinfo" && o.rfind("--use_fast_math", 0) != 0 &&
               o.rfind("-G", 0) != 0 && o.rfind("--fmad", 0) != 0 && o.rfind("-fmad", 0) != 0) {
      p->log = "nvrtc: error: unrecognized option " + o + " (the fake NVRTC knows only common options)\n";
      return NVRTC_ERROR_INVALID_OPTION;
    }
  }
  std::set<std::string> seen;
  p->log.clear();
  if (!check_includes(*p, p->name, p->source, &seen, &p->log)) {
    p->log += "compilation terminated.\n";
    return NVRTC_ERROR_COMPILATION;
  }
  p->real_arch = real;
  p->ptx = stand_in_ptx(sm);
  p->cubin = real ? stand_in_cubin(sm) : std::string();
  p->compiled = true;
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLogSize(Program* p, size_t* size) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!size) return NVRTC_ERROR_INVALID_INPUT;
  *size = p->log.size() + 1;
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLog(Program* p, char* log) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!log) return NVRTC_ERROR_INVALID_INPUT;
  memcpy(log, p->log.c_str(), p->log.size() + 1);
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTXSize(Program* p, size_t* size) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!size || !p->compiled) return NVRTC_ERROR_INVALID_INPUT;
  *size = p->ptx.size() + 1;
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTX(Program* p, char* ptx) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!ptx || !p->compiled) return NVRTC_ERROR_INVALID_INPUT;
  memcpy(ptx, p->ptx.c_str(), p->ptx.size() + 1);
  return NVRTC_SUCCESS;
}

// Like the real NVRTC, a cubin exists only for a real architecture (sm_XX, not compute_XX).
EXPORT nvrtcResult nvrtcGetCUBINSize(Program* p, size_t* size) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!size || !p->compiled) return NVRTC_ERROR_INVALID_INPUT;
  *size = p->cubin.size();
  return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetCUBIN(Program* p, char* cubin) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!cubin || !p->compiled || !p->real_arch) return NVRTC_ERROR_INVALID_INPUT;
  memcpy(cubin, p->cubin.data(), p->cubin.size());
  return NVRTC_SUCCESS;
}

// Kernels are extern "C": a name expression lowers to itself.
EXPORT nvrtcResult nvrtcAddNameExpression(Program* p, const char* expr) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  return expr ? NVRTC_SUCCESS : NVRTC_ERROR_INVALID_INPUT;
}

EXPORT nvrtcResult nvrtcGetLoweredName(Program* p, const char* expr, const char** lowered) {
  if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
  if (!expr || !lowered) return NVRTC_ERROR_INVALID_INPUT;
  if (!p->compiled) return NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION;
  *lowered = expr;
  return NVRTC_SUCCESS;
}

extern "C" __attribute__((visibility("hidden"))) nvrtcResult kiln_fake_nvrtc_unimplemented(const char* name) {
  static std::mutex mu;
  static std::set<std::string> reported;
  std::lock_guard<std::mutex> lk(mu);
  if (reported.insert(name).second) {
    fprintf(stderr, "kiln fake libnvrtc: %s is not implemented (NVRTC_ERROR_INVALID_INPUT)\n", name);
  }
  return NVRTC_ERROR_INVALID_INPUT;
}
