// See kiln_emu_shared_begin.cpp.
extern "C" {
__attribute__((visibility("hidden"))) __thread char kiln_emu_shared_end;
}
