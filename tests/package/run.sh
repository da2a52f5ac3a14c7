#!/usr/bin/env bash
# Installs the rill build in BUILD_DIR into a scratch prefix, then configures,
# builds and runs tests/package against it with find_package(rill).
# Usage: run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "${scratch}"' EXIT

cmake --install "${build_dir}" --prefix "${scratch}/prefix" >/dev/null
cmake -S "${source_dir}/tests/package" -B "${scratch}/build" -G Ninja \
      -DCMAKE_PREFIX_PATH="${scratch}/prefix" >/dev/null
cmake --build "${scratch}/build" >/dev/null
"${scratch}/build/package_consumer"
