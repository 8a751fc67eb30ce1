#!/usr/bin/env bash
# The Debian packages each way of running the project needs; the Dockerfiles run this, and so does CI on the host,
# so the images install exactly what is tested. Idempotent: installs only what is missing.
#   install-system-packages.sh build      JDK 17, Maven, make (building the jar and the kernel)
#   install-system-packages.sh runtime    a Java 17 runtime (the trainer image)
#   install-system-packages.sh notebooks  build + Jupyter: nbconvert, jupyter-client, jupyter-notebook
#   install-system-packages.sh classroom  notebooks + JupyterHub (with its proxy) for `make classroom`
#   install-system-packages.sh browser    chromium (the browser test)
#   install-system-packages.sh bench      PyTorch for the benchmark's reference, with OpenBLAS (without it Debian's
#                                         torch falls back to the reference BLAS, about 25x slower at matmuls)
set -euo pipefail
packages=()
for role in "$@"; do
  case "$role" in
    build) packages+=(openjdk-17-jdk-headless maven make ca-certificates) ;;
    runtime) packages+=(openjdk-17-jre-headless ca-certificates) ;;
    notebooks) packages+=(openjdk-17-jdk-headless maven make ca-certificates python3 jupyter-nbconvert jupyter-client
                          jupyter-notebook) ;;
    classroom) packages+=(openjdk-17-jdk-headless maven make ca-certificates python3 jupyter-nbconvert jupyter-client
                          jupyter-notebook jupyterhub) ;;
    browser) packages+=(chromium curl) ;;
    bench) packages+=(python3 python3-torch libopenblas0-pthread) ;;
    *) echo "error: unknown role '$role' (build, runtime, notebooks, classroom, browser, bench)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
echo "system packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
