#!/usr/bin/env bash
# Kiln vs PyTorch on the issue-9 workloads, side by side: SGEMM (JMH), the Fashion-MNIST MLP and
# CNN epochs, mlp-adam steps and peak RSS, inference throughput. From a clean checkout:
#
#   benchmarks/compare.sh                 # build, then 3 rounds of everything (about 15-25 minutes)
#   benchmarks/compare.sh --quick         # short runs, to check the harness
#   benchmarks/compare.sh --rounds 1 --workloads mlp,inference
#   KILN_SKIP_BUILD=1 benchmarks/compare.sh ...   # reuse benchmarks/target/benchmarks.jar
#
# PyTorch runs at its best on this machine, as the issue asks: Debian's python3-torch with 2 threads,
# OpenBLAS (libopenblas0-pthread) single-threaded underneath torch's own threads, OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset, and jemalloc preloaded with decay off. Missing Debian packages are installed
# when running as root. Kiln's JVM takes extra options from KILN_JAVA_OPTS, by default
# "--add-modules jdk.incubator.vector" (the Vector API SGEMM). The table is also written to
# benchmarks/target/compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."

JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
missing=()
[ -e "$JEMALLOC" ] || missing+=(libjemalloc2)
[ -e "$OPENBLAS_DIR/libblas.so.3" ] || missing+=(libopenblas0-pthread)
/usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "compare.sh: please install ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "compare.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/setup-machine.sh  # the Fashion-MNIST data set

if [ -z "${KILN_SKIP_BUILD:-}" ]; then
  echo "compare.sh: building the benchmarks jar" >&2
  mvn -B -q install -DskipTests -pl benchmarks -am
fi

# Kiln runs with the Vector API SGEMM unless KILN_JAVA_OPTS says otherwise (set it to "" for the scalar kernels).
export KILN_JAVA_OPTS="${KILN_JAVA_OPTS---add-modules jdk.incubator.vector}"
# compare.py gives the PyTorch processes (only) their environment: OPENBLAS_NUM_THREADS=1, OpenBLAS on
# LD_LIBRARY_PATH, jemalloc in LD_PRELOAD with MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1.
exec /usr/bin/python3 benchmarks/compare.py "$@"
