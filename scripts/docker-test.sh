#!/usr/bin/env bash
# make docker-test: builds the project's images and runs them for real without a Docker engine, with Debian's
# buildah on a local Debian bookworm base made by debootstrap (public base images cannot be pulled here).
#   1. the local base image (cached in $DOCKER_TEST_CACHE, outside git)
#   2. the CPU trainer and notebook images, built from docker/Dockerfile and docker/Dockerfile.notebook, and the class
#      image (the notebook image from the student copies): no solution in it
#   3. the trainer: a short `train` of the bigram preset on mounted data, then `sample` from the checkpoint it wrote
#      to the mounted runs folder; the checkpoint and metrics must appear on the host, written by the non-root user
#   4. the notebook image: Jupyter lists the Java kernel, and one chapter notebook executes inside it; started as a
#      hub's single-user server it serves the chapters from ~/work; compose's hub service (make classroom) starts
#   5. the CUDA Dockerfile: its build stage (everything but the CUDA runtime base) builds on the local base
# Each step prints its time; the images' sizes are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
CACHE=${DOCKER_TEST_CACHE:-$PWD/target/docker-cache}
WORK=$PWD/target/docker-test
BASE=localhost/debian-base:bookworm
DATA=${GPT_DATA_URL#file://}
[ -f "$DATA" ] || DATA=../shared/data/tinyshakespeare.txt
[ -f "$DATA" ] || { echo "error: docker-test needs the data file: set GPT_DATA_URL=file:///path/to/tinyshakespeare.txt"; exit 1; }
mkdir -p "$CACHE" "$WORK"
T0=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - T0 )) s so far)"; S=$(date +%s); }
done_step() { echo "--- $(( $(date +%s) - S )) s"; }

step "0. tools: buildah, debootstrap"
if ! command -v buildah > /dev/null || ! command -v debootstrap > /dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends buildah debootstrap > /dev/null
fi
buildah --version
done_step

step "1. local base image $BASE"
if ! buildah inspect --type image "$BASE" > /dev/null 2>&1; then
  if [ ! -f "$CACHE/bookworm.tar" ]; then
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    rm -rf "$CACHE/rootfs"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs" "${mirror:-http://deb.debian.org/debian}" > "$CACHE/debootstrap.log"
    # The host's mirror list (in deb822 form) replaces the one debootstrap wrote, so apt does not see it twice.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      cp /etc/apt/sources.list.d/debian.sources "$CACHE/rootfs/etc/apt/sources.list.d/" && rm -f "$CACHE/rootfs/etc/apt/sources.list"
    fi
    tar -C "$CACHE/rootfs" -cf "$CACHE/bookworm.tar" . && rm -rf "$CACHE/rootfs"
  fi
  c=$(buildah from scratch)
  buildah add "$c" "$CACHE/bookworm.tar" / > /dev/null
  buildah commit -q "$c" "$BASE" > /dev/null && buildah rm "$c" > /dev/null
fi
done_step

# Maven inside a build reaches Maven Central through this machine's proxy only with the host's trust store.
BUILD_ARGS=(--isolation chroot --pull=never --layers --build-arg "BASE_IMAGE=$BASE")
if [ -f /etc/ssl/certs/java/cacerts ]; then
  BUILD_ARGS+=(-v /etc/ssl/certs/java:/host-certs:ro --build-arg MAVEN_OPTS=-Djavax.net.ssl.trustStore=/host-certs/cacerts)
fi

step "2a. build the CPU trainer image (docker/Dockerfile)"
buildah bud "${BUILD_ARGS[@]}" -t localhost/gpt-cpu -f docker/Dockerfile . > "$WORK/build-cpu.log" 2>&1 \
  || { tail -30 "$WORK/build-cpu.log"; exit 1; }
done_step

step "2b. build the notebook image (docker/Dockerfile.notebook)"
buildah bud "${BUILD_ARGS[@]}" -t localhost/gpt-notebook -f docker/Dockerfile.notebook . > "$WORK/build-notebook.log" 2>&1 \
  || { tail -30 "$WORK/build-notebook.log"; exit 1; }
done_step

# The same Dockerfile with the student copies in place of the chapters (make student made them): the image a class's
# hub launches must not hold a single solution.
step "2c. the class image: the notebook image built from the student copies (CHAPTERS=student)"
[ -f student/04-bigram-model.ipynb ] || { echo "error: no student copies (make student)"; exit 1; }
buildah bud "${BUILD_ARGS[@]}" --build-arg CHAPTERS=student -t localhost/gpt-class -f docker/Dockerfile.notebook . \
  > "$WORK/build-class.log" 2>&1 || { tail -30 "$WORK/build-class.log"; exit 1; }
c=$(buildah from --pull-never localhost/gpt-class)
trap 'buildah rm "$c" > /dev/null 2>&1 || true' EXIT
buildah run --isolation chroot "$c" -- bash -c 'cd /home/app/gpt/notebooks && echo "chapters: $(ls [0-9]*.ipynb | wc -l)";
  echo "solutions: $(cat [0-9]*.ipynb | grep -c "BEGIN SOLUTION")"; echo "stubs: $(cat [0-9]*.ipynb | grep -c "YOUR CODE HERE")"' \
  | tee "$WORK/class-image.txt"
grep -q "^chapters: 10$" "$WORK/class-image.txt" && grep -q "^solutions: 0$" "$WORK/class-image.txt" \
  && ! grep -q "^stubs: 0$" "$WORK/class-image.txt" || { echo "error: the class image holds solutions, or no chapters"; exit 1; }
buildah rm "$c" > /dev/null; trap - EXIT
buildah rmi localhost/gpt-class > /dev/null 2>&1 || true
done_step

# buildah 1.28 with chroot isolation honours only the first -v (or --mount) of a `buildah run`: a second bind mount
# is neither visible inside nor written through to the host (seen here). So the runs folder is the one mount, and
# the data is copied into the working container (`buildah copy`); with Docker both are volumes.
step "3. the trainer: train and sample in the image, the runs folder mounted from the host"
rm -rf "$WORK/data" "$WORK/runs" && mkdir -p "$WORK/data" "$WORK/runs"
cp "$DATA" "$WORK/data/tinyshakespeare.txt"
chown -R 1000:1000 "$WORK/runs" 2>/dev/null || chmod 777 "$WORK/runs"
c=$(buildah from --pull-never localhost/gpt-cpu)
trap 'buildah rm "$c" > /dev/null 2>&1 || true' EXIT
buildah copy --chown 1000:1000 "$c" "$WORK/data/tinyshakespeare.txt" /app/data/ > /dev/null
# The image's own command (its ENTRYPOINT, which `buildah run` does not apply by itself): gpt.sh picks OpenBLAS's
# kernels as scripts/openblas-coretype.sh does on the host (Haswell's where the CPU has AVX2 and FMA).
buildah run --isolation chroot -v "$WORK/runs:/app/runs" "$c" -- \
  /app/gpt.sh train --preset bigram --max-iters 300 --out /app/runs/bigram \
  --data /app/data/tinyshakespeare.txt --sample-tokens 0 | grep -E "backend|preset|done|run directory" \
  | tee "$WORK/train.txt"
want=$(sh scripts/openblas-coretype.sh)
grep -q "OPENBLAS_CORETYPE ${want:-unset})" "$WORK/train.txt" \
  || { echo "error: the trainer image did not run on OpenBLAS's ${want:-own} kernels"; exit 1; }
buildah run --isolation chroot -v "$WORK/runs:/app/runs" "$c" -- \
  /app/gpt.sh sample --ckpt /app/runs/bigram --prompt "ROMEO:" --tokens 100 --seed 1 > "$WORK/sample.txt"
buildah run --isolation chroot "$c" -- id -un > "$WORK/user.txt"
for f in checkpoint.zip metrics.jsonl loss.png config.json; do
  [ -s "$WORK/runs/bigram/$f" ] || { echo "error: $f did not appear on the host in $WORK/runs/bigram"; ls -la "$WORK/runs" "$WORK/runs/bigram" || true; exit 1; }
done
owner=$(stat -c %u "$WORK/runs/bigram/checkpoint.zip")
user=$(cat "$WORK/user.txt")
[ "$user" = app ] && [ "$owner" = 1000 ] || { echo "error: expected the non-root user app (uid 1000), got $user (files owned by uid $owner)"; exit 1; }
grep -q "^ROMEO:" "$WORK/sample.txt" || { echo "error: no sample"; cat "$WORK/sample.txt"; exit 1; }
echo "on the host: $(ls "$WORK/runs/bigram" | tr '\n' ' ')(owner uid $owner, process user $user)"
echo "sample: $(head -c 100 "$WORK/sample.txt" | tr '\n' '|')"
buildah rm "$c" > /dev/null; trap - EXIT
done_step

step "4. the notebook image: the Java kernel, and a chapter executed inside it"
c=$(buildah from --pull-never localhost/gpt-notebook)
trap 'buildah rm "$c" > /dev/null 2>&1 || true' EXIT
# Before the first `buildah run`: from then on the image's VOLUME folders are mounted over the container's own.
buildah copy --chown 1000:1000 "$c" "$WORK/data/tinyshakespeare.txt" /home/app/gpt/data/ > /dev/null
buildah run --isolation chroot "$c" -- bash -c 'cd /home/app/gpt && make -s kernel 2>/dev/null | tail -3' | tee "$WORK/kernels.txt"
grep -q "^ *java " "$WORK/kernels.txt" || { echo "error: Jupyter in the image does not list the java kernel"; exit 1; }
buildah run --isolation chroot "$c" -- bash -c \
  'cd /home/app/gpt && GPT_DATA_URL=file:///home/app/gpt/data/tinyshakespeare.txt GPT_MAX_ITERS=50 make -s notebooks NOTEBOOKS=notebooks/04-bigram-model.ipynb > /tmp/notebook.log 2>&1 || tail -40 /tmp/notebook.log; grep "^==" /tmp/notebook.log; ls target/notebooks/04-bigram-model.ipynb' \
  | tee "$WORK/notebook-run.txt"
grep -q "target/notebooks/04-bigram-model.ipynb" "$WORK/notebook-run.txt" || { echo "error: the chapter did not execute in the image"; exit 1; }
done_step

# A hub that launches the image sets JUPYTERHUB_API_TOKEN and the JUPYTERHUB_* settings; here they are set by hand,
# and a stand-in answers the one request the server makes before it listens (the hub's version, GET /hub/api).
step "4b. the notebook image as a JupyterHub single-user image (start-notebook.sh under a hub's settings)"
buildah run --isolation chroot "$c" -- bash -c 'python3 -c "
import http.server as h
class A(h.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header(\"Content-Type\", \"application/json\"); self.end_headers()
        self.wfile.write(b\"{\\\"version\\\": \\\"3.0.0\\\"}\")
h.HTTPServer((\"127.0.0.1\", 8899), A).serve_forever()" &
  export JUPYTERHUB_API_TOKEN=docker-test JUPYTERHUB_USER=student \
    JUPYTERHUB_API_URL=http://127.0.0.1:8899/hub/api JUPYTERHUB_BASE_URL=/ JUPYTERHUB_SERVICE_PREFIX=/user/student/ \
    JUPYTERHUB_CLIENT_ID=jupyterhub-user-student JUPYTERHUB_OAUTH_CALLBACK_URL=/user/student/oauth_callback \
    JUPYTERHUB_PORT=8897
  timeout 60 start-notebook.sh > /tmp/singleuser.log 2>&1 &
  for i in $(seq 1 40); do
    python3 -c "import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:8897/user/student/api\").read().decode())" 2> /dev/null && break
    sleep 1
  done
  grep -o "Starting jupyterhub single-user server version [0-9.]*" /tmp/singleuser.log || tail -20 /tmp/singleuser.log
  echo "chapters in ~/work: $(ls ~/work/chapters | tr "\n" " ")"; readlink ~/work/data ~/work/target; kill %1 %2' \
  | tee "$WORK/singleuser.txt"
grep -q '"version"' "$WORK/singleuser.txt" && grep -q "single-user server" "$WORK/singleuser.txt" \
  && grep -q "04-bigram-model.ipynb" "$WORK/singleuser.txt" \
  || { echo "error: the image did not start a single-user server with the chapters in ~/work"; exit 1; }

step "4c. compose's hub service: make classroom in the image, as root, answers its login page"
buildah run --isolation chroot --user root "$c" -- bash -c 'cd /home/app/gpt && export GPT_DATA_URL=file:///home/app/gpt/data/tinyshakespeare.txt
  timeout 120 make -s classroom CLASSROOM_PORT=8396 CLASSROOM_HUB_PORT=8397 CLASSROOM_PROXY_API_PORT=8398 > /tmp/hub.log 2>&1 &
  for i in $(seq 1 100); do
    python3 -c "import urllib.request as u; r = u.urlopen(\"http://127.0.0.1:8396/hub/login\"); print(\"hub login page\", r.status)" 2> /dev/null && break
    sleep 1
  done
  grep "^classroom:" /tmp/hub.log; kill %1; sleep 2; kill "$(cat /srv/gpt-classroom/hub/proxy.pid 2> /dev/null)" 2> /dev/null || true' | tee "$WORK/hub.txt"
grep -q "hub login page 200" "$WORK/hub.txt" || { echo "error: the hub did not start in the image"; exit 1; }
buildah rm "$c" > /dev/null; trap - EXIT
done_step

step "5. the CUDA Dockerfile: its build stage on the local base (the CUDA runtime base cannot be pulled here)"
buildah bud "${BUILD_ARGS[@]}" --build-arg "BUILD_IMAGE=$BASE" --target build -t localhost/gpt-cuda-build \
  -f docker/Dockerfile.cuda . > "$WORK/build-cuda.log" 2>&1 || { tail -30 "$WORK/build-cuda.log"; exit 1; }
done_step

echo
echo "=== images"
buildah images --format '{{.Name}}:{{.Tag}}  {{.Size}}' | grep -E "gpt-|debian-base"
echo "docker-test: passed in $(( $(date +%s) - T0 )) s"
