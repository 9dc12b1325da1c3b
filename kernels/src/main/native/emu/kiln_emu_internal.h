// Pieces of the emulator shared between its translation units (not part of the C API).
#pragma once

#include <string>

#include "kiln_emu.h"

namespace kiln_emu {

// Records msg as the calling thread's last error and returns code.
int set_error(int code, const std::string& msg);

const KernelInfo* find_kernel(const char* name);

int check_launch_config(const char* name, const unsigned grid[3], const unsigned block[3],
                        unsigned shared_bytes);

// Runs every block of the grid; packed holds the arguments at the kernel's offsets.
int run_kernel(const KernelInfo* k, const unsigned char* packed, dim3 grid, dim3 block);

}  // namespace kiln_emu
