// Linked just before the kernel objects, kiln_emu_shared_end.cpp just after them: kernels'
// __shared__ variables are thread-locals, and the linker lays each object's thread-locals out
// in link order, so these two markers bracket every __shared__ variable. The scheduler poisons
// that range at the start of each block, as a GPU leaves shared memory uninitialized.
extern "C" {
__attribute__((visibility("hidden"))) __thread char kiln_emu_shared_begin;
}
