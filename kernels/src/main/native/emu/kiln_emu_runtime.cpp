// The emulator's scheduler: runs each block's threads as fibers, implements the block barrier
// and the warp rendezvous, detects their misuse, and spreads blocks over worker threads.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kiln_emu.h"
#include "kiln_emu_api.h"
#include "kiln_emu_internal.h"

#if !defined(__x86_64__) && !defined(KILN_EMU_UCONTEXT)
#define KILN_EMU_UCONTEXT 1
#endif
#ifdef KILN_EMU_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define KILN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_EMU_ASAN 1
#endif
#endif
#ifdef KILN_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifndef KILN_EMU_UCONTEXT
extern "C" void kiln_emu_switch(void** from, void* to);
extern "C" void kiln_emu_fiber_start();
#endif

extern "C" __thread char kiln_emu_shared_begin;
extern "C" __thread char kiln_emu_shared_end;

namespace kiln_emu {

thread_local const Coords* tls_coords = nullptr;

// The calling thread's copy of the kernels' __shared__ variables (see kiln_emu_shared_begin.cpp),
// or an empty range when the markers did not end up around them.
static void shared_range(char** begin, size_t* size) {
  // addresses, not pointers into the marker objects: the range lies between them
  const uintptr_t b = reinterpret_cast<uintptr_t>(&kiln_emu_shared_begin) + 1;
  const uintptr_t e = reinterpret_cast<uintptr_t>(&kiln_emu_shared_end);
  const bool sane = e > b && e - b < (64u << 20);
  *begin = sane ? reinterpret_cast<char*>(b) : nullptr;
  *size = sane ? e - b : 0;
}

// ---- registry --------------------------------------------------------------------------

static std::vector<KernelInfo>& registry_vec() {
  static std::vector<KernelInfo>* v = new std::vector<KernelInfo>();
  return *v;
}
static std::map<std::string, size_t>& registry_map() {
  static std::map<std::string, size_t>* m = new std::map<std::string, size_t>();
  return *m;
}

void register_kernel(const KernelInfo& info) {
  auto& m = registry_map();
  if (m.count(info.name)) {
    // Two kernels with one name would make launch-by-name ambiguous: refuse to load.
    fprintf(stderr, "kiln_emu: kernel %s registered twice (%s)\n", info.name, info.file);
    abort();
  }
  m[info.name] = registry_vec().size();
  registry_vec().push_back(info);
}

const KernelInfo* find_kernel(const char* name) {
  auto& m = registry_map();
  auto it = m.find(name);
  return it == m.end() ? nullptr : &registry_vec()[it->second];
}

// ---- configuration ---------------------------------------------------------------------

static std::atomic<int> g_schedule{-1};
static std::atomic<uint64_t> g_seed{0};
static std::atomic<int> g_workers{0};

static void init_config_from_env() {
  if (g_schedule.load() >= 0) return;
  int sched = KILN_EMU_SCHEDULE_FORWARD;
  uint64_t seed = 1;
  if (const char* s = getenv("KILN_EMU_SCHEDULE")) {
    std::string v(s);
    if (v == "reverse") sched = KILN_EMU_SCHEDULE_REVERSE;
    else if (v.rfind("random", 0) == 0) {
      sched = KILN_EMU_SCHEDULE_RANDOM;
      if (v.size() > 7 && v[6] == ':') seed = strtoull(v.c_str() + 7, nullptr, 10);
    }
  }
  int expected = -1;
  if (g_schedule.compare_exchange_strong(expected, sched)) g_seed = seed;
  if (g_workers.load() == 0) {
    int w = 0;
    if (const char* s = getenv("KILN_EMU_WORKERS")) w = atoi(s);
    if (w <= 0) {
      unsigned hc = std::thread::hardware_concurrency();
      w = hc == 0 ? 1 : static_cast<int>(std::min(hc, 4u));
    }
    int zero = 0;
    g_workers.compare_exchange_strong(zero, w);
  }
}

// ---- errors ----------------------------------------------------------------------------

static thread_local std::string tls_error;

int set_error(int code, const std::string& msg) {
  tls_error = msg;
  return code;
}

static const char* base_name(const char* path) {
  const char* b = strrchr(path, '/');
  return b ? b + 1 : path;
}

static std::string site(const char* file, int line) {
  return std::string(base_name(file)) + ":" + std::to_string(line);
}

static const char* op_name(int op) {
  switch (op) {
    case OP_SYNCWARP: return "__syncwarp";
    case OP_SHFL_IDX: return "__shfl_sync";
    case OP_SHFL_UP: return "__shfl_up_sync";
    case OP_SHFL_DOWN: return "__shfl_down_sync";
    case OP_SHFL_XOR: return "__shfl_xor_sync";
    case OP_BALLOT: return "__ballot_sync";
    case OP_ALL: return "__all_sync";
    case OP_ANY: return "__any_sync";
  }
  return "?";
}

static std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// ---- fibers ----------------------------------------------------------------------------

enum class FState : uint8_t { Runnable, Barrier, Warp, Exited };

struct BlockRunner;

struct Fiber {
  Coords coords;
  void* sp = nullptr;
#ifdef KILN_EMU_UCONTEXT
  ucontext_t uc;
#endif
  unsigned linear = 0, lane = 0, warp = 0;
  FState state = FState::Runnable;
  const char* file = nullptr;
  int line = 0;
  int op = 0;
  unsigned mask = 0;
  uint64_t value = 0;
  int arg = 0;
  int width = 32;
  uint64_t result = 0;
  char* stack_lo = nullptr;  // usable stack, above the guard page; null until the fiber starts
  size_t stack_size = 0;
  bool started = false;
  void* asan_fake = nullptr;
  BlockRunner* runner = nullptr;
};

#ifdef KILN_EMU_ASAN
static const size_t kStackSize = 512 * 1024;
#else
static const size_t kStackSize = 128 * 1024;
#endif

static thread_local Fiber* tls_fiber = nullptr;

struct LaunchJob {
  const KernelInfo* kernel = nullptr;
  const unsigned char* args = nullptr;
  dim3 grid, block;
  uint64_t nblocks = 0;
  int schedule = 0;
  uint64_t seed = 0;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string error;
};

static uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void fiber_main(Fiber* f);

#ifdef KILN_EMU_UCONTEXT
static void fiber_entry_uc(unsigned hi, unsigned lo) {
  uintptr_t p = (static_cast<uintptr_t>(hi) << 32) | lo;
  fiber_main(reinterpret_cast<Fiber*>(p));
}
#endif

struct Stack {
  char* lo;
  size_t size;
};

struct BlockRunner {
  std::vector<Fiber> fibers;
  // Stacks are handed to fibers when they start and taken back when they exit, so a kernel
  // without barriers runs all its threads on one stack that stays in cache.
  std::vector<Stack> all_stacks;
  std::vector<Stack> free_stacks;
  void* sched_sp = nullptr;
#ifdef KILN_EMU_UCONTEXT
  ucontext_t sched_uc;
#endif
  const void* sched_stack_bottom = nullptr;
  size_t sched_stack_size = 0;
  void* sched_fake = nullptr;
  LaunchJob* job = nullptr;
  unsigned nthreads = 0;
  unsigned exited = 0;
  bool failed = false;
  std::string error;
  std::vector<unsigned> order;
  uint64_t rng = 0;
  uint3 block_idx{0, 0, 0};

  ~BlockRunner() {
    for (Stack& st : all_stacks) munmap(st.lo - getpagesize(), st.size + getpagesize());
  }

  Stack take_stack() {
    if (free_stacks.empty()) {
      // A guard page below each stack turns a fiber stack overflow into a fault, not silent
      // corruption of the neighbouring fiber's stack.
      long page = getpagesize();
      void* mem = mmap(nullptr, kStackSize + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (mem == MAP_FAILED) {
        fprintf(stderr, "kiln_emu: cannot map a fiber stack\n");
        abort();
      }
      mprotect(mem, page, PROT_NONE);
      Stack st{static_cast<char*>(mem) + page, kStackSize};
      all_stacks.push_back(st);
      return st;
    }
    Stack st = free_stacks.back();
    free_stacks.pop_back();
    return st;
  }

  void give_back_stack(Fiber& f) {
    free_stacks.push_back(Stack{f.stack_lo, f.stack_size});
    f.stack_lo = nullptr;
  }

  void fail(const std::string& msg) {
    if (failed) return;
    failed = true;
    const dim3& b = job->block;
    (void)b;
    error = std::string(job->kernel->name) + ": block (" + std::to_string(block_idx.x) + "," +
            std::to_string(block_idx.y) + "," + std::to_string(block_idx.z) + "): " + msg;
  }

  std::string tid(const Fiber& f) const {
    const uint3& t = f.coords.tid;
    if (job->block.y == 1 && job->block.z == 1) return "thread " + std::to_string(t.x);
    return "thread (" + std::to_string(t.x) + "," + std::to_string(t.y) + "," +
           std::to_string(t.z) + ")";
  }

  void prepare(Fiber& f) {
    Stack st = take_stack();
    f.stack_lo = st.lo;
    f.stack_size = st.size;
    f.started = true;
#ifdef KILN_EMU_ASAN
    // Frames abandoned by an earlier failed launch may have left their redzones poisoned.
    __asan_unpoison_memory_region(f.stack_lo, f.stack_size);
    f.asan_fake = nullptr;
#endif
#ifdef KILN_EMU_UCONTEXT
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = f.stack_lo;
    f.uc.uc_stack.ss_size = f.stack_size;
    f.uc.uc_link = nullptr;
    uintptr_t p = reinterpret_cast<uintptr_t>(&f);
    makecontext(&f.uc, reinterpret_cast<void (*)()>(fiber_entry_uc), 2,
                static_cast<unsigned>(p >> 32), static_cast<unsigned>(p & 0xffffffffu));
#else
    // Lay out what kiln_emu_switch pops: r15, r14, r13 (entry), r12 (argument), rbx, rbp, then
    // the return address. After the ret, rsp is 16-byte aligned as the call in
    // kiln_emu_fiber_start requires.
    uintptr_t top = reinterpret_cast<uintptr_t>(f.stack_lo + f.stack_size) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top);
    *--sp = reinterpret_cast<void*>(&kiln_emu_fiber_start);
    *--sp = nullptr;                                     // rbp
    *--sp = nullptr;                                     // rbx
    *--sp = &f;                                          // r12
    *--sp = reinterpret_cast<void*>(&fiber_main);        // r13
    *--sp = nullptr;                                     // r14
    *--sp = nullptr;                                     // r15
    f.sp = sp;
#endif
  }

  void resume(Fiber& f) {
    tls_coords = &f.coords;
    tls_fiber = &f;
#ifdef KILN_EMU_ASAN
    __sanitizer_start_switch_fiber(&sched_fake, f.stack_lo, f.stack_size);
#endif
#ifdef KILN_EMU_UCONTEXT
    swapcontext(&sched_uc, &f.uc);
#else
    kiln_emu_switch(&sched_sp, f.sp);
#endif
#ifdef KILN_EMU_ASAN
    __sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr);
#endif
    tls_fiber = nullptr;
    tls_coords = nullptr;
  }

  void run_block(uint64_t b);
  bool resolve();
  void report_deadlock();
  void compute_warp_results(unsigned base, unsigned count, const Fiber& leader);
};

// Called on a fiber's stack: hands control back to the scheduler.
static void yield_to_scheduler(Fiber* f, bool exiting) {
  BlockRunner* r = f->runner;
#ifdef KILN_EMU_ASAN
  __sanitizer_start_switch_fiber(exiting ? nullptr : &f->asan_fake, r->sched_stack_bottom,
                                 r->sched_stack_size);
#else
  (void)exiting;
#endif
#ifdef KILN_EMU_UCONTEXT
  swapcontext(&f->uc, &r->sched_uc);
#else
  kiln_emu_switch(&f->sp, r->sched_sp);
#endif
#ifdef KILN_EMU_ASAN
  __sanitizer_finish_switch_fiber(f->asan_fake, nullptr, nullptr);
#endif
}

static void fiber_main(Fiber* f) {
  BlockRunner* r = f->runner;
#ifdef KILN_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &r->sched_stack_bottom, &r->sched_stack_size);
#endif
  const KernelInfo* k = r->job->kernel;
  k->invoke(k->fn, r->job->args);
  f->state = FState::Exited;
  r->exited++;
  yield_to_scheduler(f, true);
  abort();  // an exited fiber is never resumed
}

static Fiber* current_fiber(const char* what, const char* file, int line) {
  Fiber* f = tls_fiber;
  if (!f) {
    fprintf(stderr, "kiln_emu: %s called outside a kernel at %s\n", what, site(file, line).c_str());
    abort();
  }
  return f;
}

void sync_block(const char* file, int line) {
  Fiber* f = current_fiber("__syncthreads", file, line);
  f->state = FState::Barrier;
  f->file = file;
  f->line = line;
  yield_to_scheduler(f, false);
}

uint64_t warp_op(const char* file, int line, int kind, unsigned mask, uint64_t value, int arg,
                 int width) {
  Fiber* f = current_fiber(op_name(kind), file, line);
  f->state = FState::Warp;
  f->file = file;
  f->line = line;
  f->op = kind;
  f->mask = mask;
  f->value = value;
  f->arg = arg;
  f->width = width;
  yield_to_scheduler(f, false);
  return f->result;
}

void BlockRunner::run_block(uint64_t b) {
  const dim3 g = job->grid, bd = job->block;
  block_idx = uint3{static_cast<unsigned>(b % g.x), static_cast<unsigned>((b / g.x) % g.y),
                    static_cast<unsigned>(b / (uint64_t(g.x) * g.y))};
  nthreads = bd.x * bd.y * bd.z;
  if (fibers.size() < nthreads) fibers.resize(nthreads);
  // Stacks of fibers abandoned by a failed launch come back here.
  for (Fiber& f : fibers) {
    if (f.stack_lo) give_back_stack(f);
  }
  exited = 0;
  // Shared memory starts out uninitialized on a GPU: 0xFF bytes read as NaN or -1, so a thread
  // that reads before a barrier what another thread writes after it sees garbage, whatever an
  // earlier block left there.
  char* shared;
  size_t shared_size;
  shared_range(&shared, &shared_size);
  if (shared_size) memset(shared, 0xFF, shared_size);
  for (unsigned i = 0; i < nthreads; ++i) {
    Fiber& f = fibers[i];
    f.coords.tid = uint3{i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
    f.coords.bid = block_idx;
    f.coords.bdim = bd;
    f.coords.gdim = g;
    f.linear = i;
    f.lane = i % 32;
    f.warp = i / 32;
    f.state = FState::Runnable;
    f.runner = this;
    f.started = false;
  }
  order.resize(nthreads);
  rng = job->seed ^ (b * 0xD1B54A32D192ED03ull);
  for (;;) {
    for (unsigned i = 0; i < nthreads; ++i) order[i] = i;
    if (job->schedule == KILN_EMU_SCHEDULE_REVERSE) {
      std::reverse(order.begin(), order.end());
    } else if (job->schedule == KILN_EMU_SCHEDULE_RANDOM) {
      for (unsigned i = nthreads; i > 1; --i) {
        unsigned j = static_cast<unsigned>(splitmix64(rng) % i);
        std::swap(order[i - 1], order[j]);
      }
    }
    for (unsigned idx : order) {
      Fiber& f = fibers[idx];
      if (f.state != FState::Runnable) continue;
      if (!f.started) prepare(f);
      resume(f);
      if (f.state == FState::Exited) give_back_stack(f);
    }
    if (exited == nthreads) return;
    if (!resolve()) {
      if (!failed) report_deadlock();
      return;
    }
    if (failed) return;
  }
}

void BlockRunner::compute_warp_results(unsigned base, unsigned count, const Fiber& leader) {
  const unsigned m = leader.mask;
  const int op = leader.op;
  uint64_t ballot = 0;
  for (unsigned j = 0; j < count; ++j) {
    if ((m >> j) & 1u) ballot |= (fibers[base + j].value != 0 ? 1ull : 0ull) << j;
  }
  for (unsigned j = 0; j < count && !failed; ++j) {
    if (!((m >> j) & 1u)) continue;
    Fiber& f = fibers[base + j];
    int w = f.width;
    if (op >= OP_SHFL_IDX && op <= OP_SHFL_XOR && (w < 1 || w > 32 || (w & (w - 1)) != 0)) {
      fail(tid(f) + ": " + op_name(op) + " at " + site(f.file, f.line) + " with width " +
           std::to_string(w) + ", which is not a power of two in 1..32");
      return;
    }
    int lane = static_cast<int>(j);
    int seg = lane & ~(w - 1);
    int src = lane;
    switch (op) {
      case OP_SYNCWARP: f.result = 0; continue;
      case OP_BALLOT: f.result = ballot; continue;
      case OP_ALL: f.result = (ballot & m) == m ? 1 : 0; continue;
      case OP_ANY: f.result = (ballot & m) != 0 ? 1 : 0; continue;
      case OP_SHFL_IDX: src = seg + (f.arg & (w - 1)); break;
      case OP_SHFL_UP: src = lane - f.arg; if (src < seg) src = lane; break;
      case OP_SHFL_DOWN: src = lane + f.arg; if (src >= seg + w) src = lane; break;
      case OP_SHFL_XOR: src = lane ^ f.arg; if (src >= seg + w) src = lane; break;
    }
    if (src < 0 || src >= 32 || !((m >> src) & 1u) || static_cast<unsigned>(src) >= count) {
      fail(tid(f) + ": " + op_name(op) + " at " + site(f.file, f.line) + " reads lane " +
           std::to_string(src) + ", which is not in the mask " + hex(m) +
           " (its value would be undefined on a GPU)");
      return;
    }
    f.result = fibers[base + src].value;
  }
}

bool BlockRunner::resolve() {
  bool released = false;
  const unsigned nwarps = (nthreads + 31) / 32;
  for (unsigned w = 0; w < nwarps && !failed; ++w) {
    const unsigned base = w * 32;
    const unsigned count = std::min(32u, nthreads - base);
    uint32_t handled = 0;
    for (unsigned l = 0; l < count && !failed; ++l) {
      Fiber& f = fibers[base + l];
      if (f.state != FState::Warp || ((handled >> l) & 1u)) continue;
      const unsigned m = f.mask;
      if (!((m >> l) & 1u)) {
        fail(tid(f) + ": " + op_name(f.op) + " at " + site(f.file, f.line) + " with mask " +
             hex(m) + ", which does not include the calling lane " + std::to_string(l));
        return false;
      }
      bool ready = true;
      for (unsigned j = 0; j < 32; ++j) {
        if (!((m >> j) & 1u)) continue;
        if (j >= count) {
          fail(tid(f) + ": " + op_name(f.op) + " at " + site(f.file, f.line) + " with mask " +
               hex(m) + " names lane " + std::to_string(j) + ", but warp " + std::to_string(w) +
               " has only " + std::to_string(count) + " threads");
          return false;
        }
        Fiber& g = fibers[base + j];
        if (g.state == FState::Exited) {
          fail(tid(f) + ": " + op_name(f.op) + " at " + site(f.file, f.line) + " with mask " +
               hex(m) + " waits for lane " + std::to_string(j) + " (" + tid(g) +
               "), which has exited");
          return false;
        }
        if (g.state == FState::Warp) {
          if (g.op != f.op || g.file != f.file || g.line != f.line || g.mask != f.mask) {
            fail("divergent warp operation in warp " + std::to_string(w) + ": " + tid(f) +
                 " is in " + op_name(f.op) + " at " + site(f.file, f.line) + " (mask " +
                 hex(f.mask) + ") while " + tid(g) + " is in " + op_name(g.op) + " at " +
                 site(g.file, g.line) + " (mask " + hex(g.mask) + ")");
            return false;
          }
        } else {
          ready = false;  // that lane waits at a block barrier: reported as a deadlock
        }
      }
      handled |= m;
      if (ready) {
        compute_warp_results(base, count, f);
        if (failed) return false;
        for (unsigned j = 0; j < count; ++j) {
          if ((m >> j) & 1u) fibers[base + j].state = FState::Runnable;
        }
        released = true;
      }
    }
  }
  if (failed || released) return released;

  unsigned at_barrier = 0, in_warp = 0;
  const Fiber* first = nullptr;
  for (unsigned i = 0; i < nthreads; ++i) {
    const Fiber& f = fibers[i];
    if (f.state == FState::Barrier) {
      ++at_barrier;
      if (!first) first = &f;
    } else if (f.state == FState::Warp) {
      ++in_warp;
    }
  }
  if (at_barrier == 0 || in_warp > 0) return false;
  if (exited > 0) {
    for (unsigned i = 0; i < nthreads; ++i) {
      if (fibers[i].state == FState::Exited) {
        fail(tid(fibers[i]) + " exited while " + std::to_string(at_barrier) +
             " threads wait at __syncthreads at " + site(first->file, first->line) +
             " (a barrier must be reached by every thread of the block)");
        return false;
      }
    }
  }
  for (unsigned i = 0; i < nthreads; ++i) {
    const Fiber& f = fibers[i];
    if (f.file != first->file || f.line != first->line) {
      fail("threads wait at different barriers: " + tid(*first) + " at __syncthreads at " +
           site(first->file, first->line) + ", " + tid(f) + " at __syncthreads at " +
           site(f.file, f.line));
      return false;
    }
  }
  for (unsigned i = 0; i < nthreads; ++i) fibers[i].state = FState::Runnable;
  return true;
}

void BlockRunner::report_deadlock() {
  // Group waiting threads by where they wait, so the message stays short for big blocks.
  struct Group {
    std::string what;
    unsigned count = 0;
    std::string first;
  };
  std::vector<Group> groups;
  for (unsigned i = 0; i < nthreads; ++i) {
    const Fiber& f = fibers[i];
    std::string what;
    if (f.state == FState::Barrier) what = "__syncthreads at " + site(f.file, f.line);
    else if (f.state == FState::Warp)
      what = std::string(op_name(f.op)) + " at " + site(f.file, f.line) + " (mask " + hex(f.mask) + ")";
    else if (f.state == FState::Exited) what = "exited";
    else continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.what == what; });
    if (it == groups.end()) {
      groups.push_back(Group{what, 1, tid(f)});
    } else {
      it->count++;
    }
  }
  std::string msg = "deadlock: no thread can proceed;";
  for (size_t i = 0; i < groups.size(); ++i) {
    msg += (i ? "; " : " ") + std::to_string(groups[i].count) + " thread(s) (first " +
           groups[i].first + ") " + (groups[i].what == "exited" ? "" : "wait in ") + groups[i].what;
  }
  fail(msg);
}

// ---- workers ---------------------------------------------------------------------------

static BlockRunner& thread_runner() {
  static thread_local BlockRunner runner;
  return runner;
}

static void work(LaunchJob* job) {
  BlockRunner& r = thread_runner();
  r.job = job;
  for (;;) {
    if (job->failed.load(std::memory_order_relaxed)) break;
    uint64_t b = job->next.fetch_add(1);
    if (b >= job->nblocks) break;
    r.failed = false;
    r.run_block(b);
    if (r.failed) {
      std::lock_guard<std::mutex> lk(job->err_mu);
      if (!job->failed.load()) {
        job->error = r.error;
        job->failed = true;
      }
      break;
    }
  }
  r.job = nullptr;
}

class Pool {
 public:
  void run(LaunchJob* job, int workers) {
    int helpers = static_cast<int>(std::min<uint64_t>(workers - 1, job->nblocks - 1));
    if (helpers <= 0) {
      work(job);
      return;
    }
    {
      std::unique_lock<std::mutex> lk(mu_);
      while (static_cast<int>(threads_.size()) < helpers) {
        threads_.emplace_back([this] { loop(); });
        threads_.back().detach();
      }
      job_ = job;
      wanted_ = helpers;
      busy_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    work(job);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return wanted_ == 0 && busy_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      LaunchJob* job;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_ != seen && wanted_ > 0; });
        seen = generation_;
        --wanted_;
        ++busy_;
        job = job_;
      }
      work(job);
      {
        std::lock_guard<std::mutex> lk(mu_);
        --busy_;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  LaunchJob* job_ = nullptr;
  int wanted_ = 0;
  int busy_ = 0;
  uint64_t generation_ = 0;
};

static Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its threads are detached and live forever
  return *p;
}

// One launch at a time in the whole process keeps the per-thread runners simple.
static std::mutex& launch_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}

int run_kernel(const KernelInfo* k, const unsigned char* packed, dim3 grid, dim3 block) {
  init_config_from_env();
  LaunchJob job;
  job.kernel = k;
  job.args = packed;
  job.grid = grid;
  job.block = block;
  job.nblocks = uint64_t(grid.x) * grid.y * grid.z;
  job.schedule = g_schedule.load();
  job.seed = g_seed.load();
  {
    std::lock_guard<std::mutex> lk(launch_mutex());
    pool().run(&job, g_workers.load());
  }
  if (job.failed) return set_error(KILN_EMU_ERROR_LAUNCH_FAILED, job.error);
  return KILN_EMU_SUCCESS;
}

int check_launch_config(const char* name, const unsigned grid[3], const unsigned block[3],
                        unsigned shared_bytes) {
  auto bad = [&](const std::string& why) {
    return set_error(KILN_EMU_ERROR_INVALID_VALUE,
                     std::string(name) + ": invalid launch configuration: grid (" +
                         std::to_string(grid[0]) + "," + std::to_string(grid[1]) + "," +
                         std::to_string(grid[2]) + "), block (" + std::to_string(block[0]) + "," +
                         std::to_string(block[1]) + "," + std::to_string(block[2]) + "): " + why);
  };
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0) return bad("a grid dimension is 0");
  if (block[0] == 0 || block[1] == 0 || block[2] == 0) return bad("a block dimension is 0");
  if (grid[0] > 2147483647u) return bad("grid.x exceeds 2^31-1");
  if (grid[1] > 65535u || grid[2] > 65535u) return bad("grid.y or grid.z exceeds 65535");
  if (block[0] > 1024u || block[1] > 1024u) return bad("block.x or block.y exceeds 1024");
  if (block[2] > 64u) return bad("block.z exceeds 64");
  if (uint64_t(block[0]) * block[1] * block[2] > 1024u)
    return bad("more than 1024 threads per block");
  if (shared_bytes > 48u * 1024u) return bad("more than 48 KiB of dynamic shared memory");
  return KILN_EMU_SUCCESS;
}

}  // namespace kiln_emu

using namespace kiln_emu;

extern "C" {

KILN_EMU_API const char* kiln_emu_last_error(void) { return tls_error.c_str(); }

KILN_EMU_API int kiln_emu_kernel_count(void) { return static_cast<int>(registry_vec().size()); }

KILN_EMU_API const char* kiln_emu_kernel_name(int index) {
  if (index < 0 || index >= kiln_emu_kernel_count()) return nullptr;
  return registry_vec()[index].name;
}

KILN_EMU_API const char* kiln_emu_kernel_kinds(int index) {
  if (index < 0 || index >= kiln_emu_kernel_count()) return nullptr;
  return registry_vec()[index].kinds;
}

KILN_EMU_API const char* kiln_emu_kernel_lookup(const char* name) {
  const KernelInfo* k = find_kernel(name);
  return k ? k->kinds : nullptr;
}

KILN_EMU_API void kiln_emu_set_schedule(int schedule, uint64_t seed) {
  init_config_from_env();
  g_schedule = schedule;
  g_seed = seed;
}

KILN_EMU_API int kiln_emu_schedule(void) {
  init_config_from_env();
  return g_schedule.load();
}

KILN_EMU_API uint64_t kiln_emu_schedule_seed(void) {
  init_config_from_env();
  return g_seed.load();
}

KILN_EMU_API void kiln_emu_set_workers(int workers) {
  init_config_from_env();
  g_workers = workers < 1 ? 1 : workers;
}

KILN_EMU_API uint64_t kiln_emu_shared_poison_bytes(void) {
  char* b;
  size_t n;
  shared_range(&b, &n);
  return n;
}

KILN_EMU_API int kiln_emu_workers(void) {
  init_config_from_env();
  return g_workers.load();
}

}  // extern "C"
