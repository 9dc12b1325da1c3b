// All of Kiln's kernels in one translation unit: what nvcc builds into kiln_kernels.fatbin and
// what NVRTC compiles at run time (with the other files of this directory given as headers).
#include "unary.cu"
#include "binary.cu"
#include "convert.cu"
#include "reduce.cu"
#include "index.cu"
#include "conv.cu"
#include "nn.cu"
#include "random.cu"
