#!/usr/bin/env bash
# tfjs-node, built offline against the TensorFlow wheel the machine image ships (npm run native, see README
# "Backends"). No wheel: print why and skip (the extra tier then skips too). A wheel that is present but
# does not build fails CI.
set -euo pipefail
shopt -s nullglob
wheels=(${ABE_TF_WHEEL:-/opt/pypi/files/tensorflow_cpu-*.whl})
if [ ${#wheels[@]} -eq 0 ]; then
  echo "tfjs-node: skipped: no TensorFlow wheel on this machine (/opt/pypi/files/tensorflow_cpu-*.whl; set ABE_TF_WHEEL to another)"
  exit 0
fi
# node-gyp needs make, a C++ compiler and python3 (Debian packages; CI runs as root).
missing=()
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "tfjs-node: installing build tools: ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
start=$(date +%s)
npm run --silent native -- --tensorflow-wheel "${wheels[-1]}"
echo "tfjs-node: ready in $(( $(date +%s) - start )) s"
