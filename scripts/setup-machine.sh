#!/usr/bin/env bash
# Installs what Kiln's tests and samples use from Debian, when it is missing:
# the Fashion-MNIST data set (dataset-fashion-mnist, at /usr/share/datasets/fashion-mnist) and
# PyTorch (python3-torch, run as /usr/bin/python3) for the tests that exchange files with it.
# The build itself needs only a JDK 17+ and Maven; g++ and nvcc are optional.
set -euo pipefail

missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || missing+=(python3-torch)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-machine: please install ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "setup-machine: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
