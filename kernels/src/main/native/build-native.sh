#!/usr/bin/env bash
# Builds the CPU emulation of the kernels during the Maven build (phase process-classes):
# libkiln_emu.so (JNI), the native kernel test programs and the fake libcuda/libcublas, and
# copies the libraries into the jar's resources. A machine without g++ or make still builds
# Kiln: the emulator is left out, and target/native/emulator.status (also in the jar) says why.
#
#   build-native.sh <out dir> <classes dir> <jni header dir> <java home>
set -u
out=$1 classes=$2 jni_headers=$3 java_home=$4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
res="$classes/dev/kiln/kernels/native"
mkdir -p "$res"

status() {  # records a status line for the tests and for EmulatedDevice.unavailableReason()
  echo "$2" > "$out/$1.status"
  if [ "$1" = emulator ]; then cp "$out/emulator.status" "$res/emulator.status"; fi
}

skip() {
  echo "[kiln-kernels] emulator not built: $1"
  status emulator "unavailable: $1"
  status asan "unavailable: $1"
  exit 0
}

[ "$(uname -s)" = Linux ] || skip "the emulator is built on Linux only (this is $(uname -s))"
case "$(uname -m)" in
  x86_64|aarch64) arch=$(uname -m) ;;
  *) skip "no fiber support for $(uname -m)" ;;
esac
command -v "${CXX:-g++}" >/dev/null 2>&1 || skip "g++ not found on PATH"
command -v make >/dev/null 2>&1 || skip "make not found on PATH"
[ -f "$java_home/include/jni.h" ] || skip "no JNI headers in $java_home/include (a JRE instead of a JDK?)"

jobs=${KILN_NATIVE_JOBS:-2}
targets="lib tests ucontext"
[ -f "$here/fake/fake_cuda.cpp" ] && targets="$targets fake"
echo "[kiln-kernels] building the kernel emulator with ${CXX:-g++} (make -j$jobs $targets)"
if ! make -s -C "$here" OUT="$out" JAVA_HOME="$java_home" JNI_HEADERS="$jni_headers" -j"$jobs" $targets; then
  echo "[kiln-kernels] the native build failed" >&2
  exit 1
fi

# Sanitizers need libasan/libubsan, which a minimal g++ install may lack.
if echo 'int main() { return 0; }' | "${CXX:-g++}" -x c++ -fsanitize=address,undefined - -o "$out/asan-probe" 2>/dev/null; then
  echo "[kiln-kernels] building the AddressSanitizer + UBSan test program"
  if ! make -s -C "$here" OUT="$out" -j"$jobs" asan; then
    echo "[kiln-kernels] the sanitizer build failed" >&2
    exit 1
  fi
  status asan "available"
else
  status asan "unavailable: ${CXX:-g++} cannot link -fsanitize=address,undefined (libasan or libubsan missing)"
fi
rm -f "$out/asan-probe"

mkdir -p "$res/linux-$arch"
cp "$out/libkiln_emu.so" "$res/linux-$arch/"
if [ -f "$out/fake/libcuda.so.1" ]; then
  mkdir -p "$res/linux-$arch/fake"
  cp "$out/fake/libcuda.so.1" "$out/fake/libcublas.so.12" "$out/fake/libnvrtc.so.12" "$res/linux-$arch/fake/"
fi
status emulator "available"
