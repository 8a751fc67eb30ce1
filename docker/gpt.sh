#!/bin/sh
# The trainer images' command: `gpt` with the OpenBLAS kernels of scripts/openblas-coretype.sh unless the container
# was given OPENBLAS_CORETYPE (docker run -e OPENBLAS_CORETYPE=SkylakeX ..., after `docker run ... gpt-cpu blas` has
# found SkylakeX's correct and faster on the CPU).
set -eu
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  OPENBLAS_CORETYPE=$(/app/openblas-coretype.sh)
  [ -z "$OPENBLAS_CORETYPE" ] || export OPENBLAS_CORETYPE
fi
exec java -XX:+UseSerialGC -jar /app/gpt.jar "$@"
