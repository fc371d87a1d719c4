#!/usr/bin/env bash
# WebGPU on a software adapter, for the parity tests of .ci/extra.d/30-webgpu.sh: the opt-in npm packages
# (`npm run webgpu:install`: Dawn's prebuilt binding, nothing downloaded at run time) and Mesa's OpenGL ES
# (llvmpipe through EGL's surfaceless platform), all stock Debian 12 packages.
#
# Why OpenGL ES and not Vulkan lavapipe: Debian 12's own lavapipe (Mesa 22.3) is rejected by Dawn; the working
# one (Mesa 25) comes from bookworm-backports, which means adding an apt source and upgrading 11 system Mesa/libdrm
# packages. OpenGL ES needs 4 stock packages (usually already present) and compiled shaders ≈ 3× faster here
# (first 512² matMul 2.9 s vs 9.6 s; steady 0.37 s vs 0.6–0.7 s). ABE_WEBGPU_SW=lavapipe installs the Vulkan one
# instead (the code path a GPU machine takes). Dawn tries Vulkan first and falls back to OpenGL ES by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then echo "webgpu-sw: not Linux x86_64, skipped (the CI image is)"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
if [ "${ABE_WEBGPU_SW:-opengles}" = lavapipe ]; then
  if [ ! -f /etc/apt/sources.list.d/bookworm-backports.sources ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/bookworm-backports.sources
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
else
  pkgs=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)
  if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then apt-get update -q && apt-get install -y -q --no-install-recommends "${pkgs[@]}"; fi
fi
npm run -s webgpu:install
node -e "require.resolve('webgpu'); require.resolve('@tensorflow/tfjs-backend-webgpu'); console.log('webgpu-sw: packages installed')"
