#!/usr/bin/env bash
# Builds kiln_kernels.fatbin (cubins for sm_75 ... sm_120 plus compute_75 PTX) and the
# compute_75 PTX on its own (for the catalog check), and copies both into the jar's resources.
# Run by the Maven profile "nvcc", active when /usr/local/cuda/bin/nvcc exists.
#
#   build-fatbin.sh <out dir> <classes dir>
set -eu
out=$1 classes=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../cuda" && pwd)
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
mkdir -p "$out" "$classes/dev/kiln/kernels"

fatbin="$out/kiln_kernels.fatbin"
ptx="$out/kiln_kernels.ptx"
newest_source=$(ls -t "$src"/*.cu "$src"/*.cuh "$0" | head -1)
if [ -f "$fatbin" ] && [ -f "$ptx" ] && [ "$fatbin" -nt "$newest_source" ] && [ "$ptx" -nt "$newest_source" ]; then
  echo "[kiln-kernels] fatbin is up to date"
else
  gencode="-gencode arch=compute_75,code=compute_75"
  for sm in 75 80 86 89 90 100 120; do
    gencode="$gencode -gencode arch=compute_$sm,code=sm_$sm"
  done
  echo "[kiln-kernels] building the fatbin with $("$nvcc" --version | tail -1)"
  # -Werror=all-warnings keeps the sources free of what nvcc warns about (NVRTC is stricter still)
  "$nvcc" -fatbin $gencode --threads "${KILN_NATIVE_JOBS:-2}" -Werror all-warnings -o "$fatbin.tmp" "$src/kiln_kernels.cu"
  "$nvcc" -ptx -arch=compute_75 -Werror all-warnings -o "$ptx.tmp" "$src/kiln_kernels.cu"
  mv "$fatbin.tmp" "$fatbin"
  mv "$ptx.tmp" "$ptx"
fi
cp "$fatbin" "$ptx" "$classes/dev/kiln/kernels/"
