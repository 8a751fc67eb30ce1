#!/bin/sh
# The notebook image's command. Two ways to run it:
#  - on its own (docker run -p 8888:8888 ...): one Jupyter server for one person, the project folder and the Java
#    kernel (make notebook-server);
#  - launched by a JupyterHub (DockerSpawner, KubeSpawner in Zero to JupyterHub), which sets JUPYTERHUB_API_TOKEN:
#    the hub's single-user server, serving the student's folder $GPT_WORKSPACE (default ~/work, where a hub mounts
#    the student's persistent volume) with their own copy of the chapters, made on the first start and never
#    overwritten, and links to the image's data and library. Build a class's image from the student copies
#    (make student; --build-arg CHAPTERS=student) so that no solution is in it.
set -eu
GPT=/home/app/gpt
# OpenBLAS's kernels: the container's OPENBLAS_CORETYPE, else Haswell's where the CPU has AVX2 and FMA (what
# scripts/openblas-coretype.sh says); the check of others (make openblas) is left to the user: it takes half a minute.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  OPENBLAS_CORETYPE=$(sh "$GPT/scripts/openblas-coretype.sh")
  [ -z "$OPENBLAS_CORETYPE" ] || export OPENBLAS_CORETYPE
fi
if [ -z "${JUPYTERHUB_API_TOKEN:-}" ]; then
  cd "$GPT" && exec make notebook-server NOTEBOOK_IP=0.0.0.0 PORT=8888
fi
WORK=${GPT_WORKSPACE:-$HOME/work}
mkdir -p "$WORK/chapters" "$WORK/runs" "$WORK/results"
chmod 700 "$WORK"
for nb in "$GPT"/notebooks/[0-9]*.ipynb; do
  [ -e "$WORK/chapters/${nb##*/}" ] || cp "$nb" "$WORK/chapters/"
done
for link in data target; do
  if [ ! -L "$WORK/$link" ]; then
    # something of the student's own by that name is moved aside, never deleted
    [ ! -e "$WORK/$link" ] || mv "$WORK/$link" "$WORK/$link.moved-$(date +%s)"
    ln -s "$GPT/$link" "$WORK/$link"
  fi
done
export GPT_RESULTS_DIR="$WORK/results" GPT_THREADS="${GPT_THREADS:-1}" OMP_NUM_THREADS=1 \
  JUPYTER_PATH="$GPT/target/jupyter/share"
exec jupyterhub-singleuser --ip=0.0.0.0 --port="${JUPYTERHUB_PORT:-8888}" --notebook-dir="$WORK" \
  --SingleUserNotebookApp.default_url=/tree/chapters "$@"
