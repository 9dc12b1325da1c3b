// Kernels that exist only to test the emulator: correct uses of the warp intrinsics, and
// deliberately broken kernels that the emulator must catch. Compiled with g++ only.
#include "kiln_common.cuh"

// Each thread writes what its lane received from every intrinsic (out has 9 ints per thread).
extern "C" __global__ void probe_warp_intrinsics(int* out) {
  const int lane = threadIdx.x & 31;
  int* o = out + 9 * (blockIdx.x * blockDim.x + threadIdx.x);
  o[0] = __shfl_sync(0xffffffffu, lane * 10, 31 - lane);
  o[1] = __shfl_up_sync(0xffffffffu, lane * 10, 3);
  o[2] = __shfl_down_sync(0xffffffffu, lane * 10, 5);
  o[3] = __shfl_xor_sync(0xffffffffu, lane * 10, 6);
  o[4] = __shfl_down_sync(0xffffffffu, lane * 10, 2, 8);  // segments of 8 lanes
  o[5] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
  o[6] = __all_sync(0xffffffffu, lane < 40);
  o[7] = __any_sync(0xffffffffu, lane == 17);
  __syncwarp();
  // half-warp shuffles under a partial mask, in a branch that is uniform per half-warp
  if (lane < 16) o[8] = __shfl_sync(0x0000ffffu, lane + 100, 0);
  else o[8] = __shfl_sync(0xffff0000u, lane + 200, 16);
}
KILN_EXPORT(probe_warp_intrinsics)

// 64-bit and floating-point shuffles.
extern "C" __global__ void probe_shfl_types(double* d, long long* l, float* f) {
  const int t = threadIdx.x;
  d[t] = __shfl_xor_sync(0xffffffffu, 0.5 + t, 1);
  l[t] = __shfl_down_sync(0xffffffffu, (long long)t << 40, 1);
  f[t] = __shfl_up_sync(0xffffffffu, 0.25f * t, 1);
}
KILN_EXPORT(probe_shfl_types)

// Sums 256 values in shared memory. With the barrier, correct under every schedule.
extern "C" __global__ void probe_tree_sum(float* out, const float* in, int with_barrier) {
  __shared__ float s[256];
  const int t = threadIdx.x;
  s[t] = in[blockIdx.x * 256 + t];
  if (with_barrier) __syncthreads();
  for (int stride = 128; stride > 0; stride >>= 1) {
    if (t < stride) s[t] += s[t + stride];
    if (with_barrier) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}
KILN_EXPORT(probe_tree_sum)

// A shuffle that only part of the warp executes while the mask names the whole warp.
extern "C" __global__ void probe_divergent_shuffle(int* out) {
  int v = threadIdx.x;
  if (threadIdx.x % 2 == 0) v = __shfl_down_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}
KILN_EXPORT(probe_divergent_shuffle)

// The two halves of each warp reach different shuffles with the same full mask.
extern "C" __global__ void probe_two_shuffles(int* out) {
  int v = threadIdx.x;
  if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  else v = __shfl_xor_sync(0xffffffffu, v, 2);
  out[threadIdx.x] = v;
}
KILN_EXPORT(probe_two_shuffles)

// Threads take different __syncthreads.
extern "C" __global__ void probe_divergent_barrier(int* out) {
  if (threadIdx.x < 32) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}
KILN_EXPORT(probe_divergent_barrier)

// The classic bug: an early return before a barrier.
extern "C" __global__ void probe_exit_before_barrier(int* out, int n) {
  __shared__ int s[64];
  if ((int)threadIdx.x >= n) return;
  s[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % n];
}
KILN_EXPORT(probe_exit_before_barrier)

// Lane 0 waits in a shuffle for lane 1, which waits at a block barrier for lane 0.
extern "C" __global__ void probe_deadlock(int* out) {
  int v = 0;
  if (threadIdx.x == 0) v = __shfl_sync(0x3u, 1, 1);
  else __syncthreads();
  out[threadIdx.x] = v;
}
KILN_EXPORT(probe_deadlock)

// A shuffle whose source lane has already exited.
extern "C" __global__ void probe_shuffle_exited_lane(int* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 5);
}
KILN_EXPORT(probe_shuffle_exited_lane)

// A shuffle with a mask that leaves out the calling lane and one that reads outside the mask.
extern "C" __global__ void probe_bad_masks(int* out, int which) {
  int v = threadIdx.x;
  if (which == 0) v = __shfl_sync(0xfffffffeu, v, 0);          // lane 0 calls, but is not in it
  else v = __shfl_sync(0x0000ffffu << ((threadIdx.x >> 4) * 16), v, 20);  // lanes 0-15 read lane 20
  out[threadIdx.x] = v;
}
KILN_EXPORT(probe_bad_masks)

// Writes one element past the end of out.
extern "C" __global__ void probe_out_of_bounds(float* out, int n) {
  if (threadIdx.x == 0) out[n] = 1.0f;
}
KILN_EXPORT(probe_out_of_bounds)

// 2-D blocks and grids: each thread writes its linear ids.
extern "C" __global__ void probe_coords(int* out) {
  const int bx = blockIdx.x + gridDim.x * blockIdx.y;
  const int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int nt = blockDim.x * blockDim.y * blockDim.z;
  out[bx * nt + tx] = bx * 1000 + tx;
}
KILN_EXPORT(probe_coords)

// Reads shared memory before this block wrote it, then writes it: the emulator must have
// filled it with 0xFF at the block's start, whatever an earlier block or launch left there.
extern "C" __global__ void probe_shared_poison(unsigned* out) {
  __shared__ unsigned s[64];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
  s[threadIdx.x] = 0x1234u;
}
KILN_EXPORT(probe_shared_poison)
