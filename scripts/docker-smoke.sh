#!/usr/bin/env bash
# Builds the classroom image and brings docker-compose.yml up for real, on a machine with no image registry:
# Debian's docker.io, docker-compose and mmdebstrap (installed when missing), a dockerd of its own (own data root
# under a temp dir, no bridge, no iptables), a Debian bookworm base built with mmdebstrap + docker import standing in
# for the official python image, the pinned requirements as local wheels served to pip over loopback HTTP (torch the
# CPU build: it refuses to fetch a CUDA one). Then a teacher logs in, creates a class, a student joins and trains a
# job over HTTP and its websocket, the container restarts, the job and its events are found again, and everything is
# torn down. Prints the image size and the build and start times. Needs root and apt-get (tests/test_docker.py says
# why it skips elsewhere).
#
# The base tarball and the wheels are cached in $NNDOJO_SMOKE_CACHE (default /var/cache/nndojo-smoke) for the next
# run on this machine: a rerun skips mmdebstrap (~40 s) and the downloads. `rm -r /var/cache/nndojo-smoke` refreshes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="${NNDOJO_SMOKE_CACHE:-/var/cache/nndojo-smoke}"
PY="$ROOT/.venv/bin/python"
BASE_TAR="$CACHE/bookworm-py-fashion-mnist.tar"
BASE_IMAGE=local/nndojo-smoke-base
started=$(date +%s)
say() { printf 'docker smoke: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { say "needs root (dockerd, apt-get)"; exit 2; }
[ -x "$PY" ] || { say "needs the project's .venv (run scripts/bootstrap.sh requirements-test.txt)"; exit 2; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
DOCKER=/usr/bin/docker  # Debian's client, the daemon's own version
COMPOSE=(docker-compose -p "nndojo-smoke-$$")

D="$(mktemp -d /tmp/nndojo-smoke.XXXXXX)"
export DOCKER_HOST="unix://$D/docker.sock"
http_pid=""
cleanup() {
  status=$?
  set +e
  if [ -f "$D/compose.yml" ] && [ -S "$D/docker.sock" ]; then
    [ $status = 0 ] || "${COMPOSE[@]}" -f "$D/compose.yml" logs --tail=80 2>&1 | sed 's/^/  | /'
    "${COMPOSE[@]}" -f "$D/compose.yml" down -v --timeout 20 >/dev/null 2>&1
  fi
  [ -z "$http_pid" ] || kill "$http_pid" 2>/dev/null
  if [ -f "$D/dockerd.pid" ]; then
    pid=$(cat "$D/dockerd.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  mountpoint -q "$D/exec/netns/default" && umount "$D/exec/netns/default"
  findmnt -rn -o TARGET | grep "^$D/" | sort -r | xargs -r -n1 umount -l
  rm -rf "$D"
  say "torn down; $(( $(date +%s) - started )) s in all"
  exit $status
}
trap cleanup EXIT

dockerd --data-root="$D/data" --exec-root="$D/exec" --pidfile="$D/dockerd.pid" -H "$DOCKER_HOST" \
  --bridge=none --iptables=false --ip-forward=false --ip-masq=false >"$D/dockerd.log" 2>&1 &
for _ in $(seq 150); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.2; done
"$DOCKER" info >/dev/null 2>&1 || { tail -20 "$D/dockerd.log"; say "dockerd did not start"; exit 1; }

mkdir -p "$CACHE/wheels"
if [ ! -f "$BASE_TAR" ]; then
  say "building the bookworm base with mmdebstrap (cached in $CACHE)"
  mmdebstrap --quiet --variant=minbase --format=tar --include=python3,python3-venv,ca-certificates,dataset-fashion-mnist \
    bookworm "$BASE_TAR.partial"
  mv "$BASE_TAR.partial" "$BASE_TAR"
fi
"$DOCKER" import "$BASE_TAR" "$BASE_IMAGE" >/dev/null

# torch from pip's configured sources must be the CPU build: a CUDA torch is gigabytes this test has no use for.
torch_url=$("$PY" -m pip install --quiet --dry-run --ignore-installed --no-deps --report - "$(grep '^torch==' requirements.txt)" 2>/dev/null |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["install"][0]["download_info"]["url"])')
case "$torch_url" in
  *cpu*) ;;
  *) say "pip would fetch torch from $torch_url, not a CPU build: point pip at one (PIP_FIND_LINKS, or --extra-index-url https://download.pytorch.org/whl/cpu)"; exit 1 ;;
esac
"$PY" -m pip download --quiet -r requirements.txt "setuptools>=68" -d "$CACHE/wheels" 2>&1 | grep -v '^WARNING: Location' || true
http_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" -m http.server "$http_port" --bind 127.0.0.1 --directory "$CACHE/wheels" >"$D/wheels-http.log" 2>&1 &
http_pid=$!

export NNDOJO_BASE_IMAGE="$BASE_IMAGE"
export NNDOJO_PIP_INSTALL_ARGS="--no-index --find-links http://127.0.0.1:$http_port/"
export NNDOJO_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export NNDOJO_TEACHER_PASSWORD="smoke-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# compose v1 merges `ports` lists and cannot drop one, and host networking refuses port bindings: the merged file
# loses them here (the real docker-compose.yml keeps 8000:8000).
gpu_config=$(docker-compose -f docker-compose.yml -f docker-compose.gpu.yml config)
grep -q 'driver: nvidia' <<<"$gpu_config" || { say "docker-compose.gpu.yml does not ask for an NVIDIA GPU"; exit 1; }
docker-compose -f docker-compose.yml -f scripts/docker-compose.smoke.yml config >"$D/merged.yml"
"$PY" -c 'import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
for service in config["services"].values():
    service.pop("ports", None)
yaml.safe_dump(config, open(sys.argv[2], "w"))' "$D/merged.yml" "$D/compose.yml"

t0=$(date +%s)
"${COMPOSE[@]}" -f "$D/compose.yml" build >"$D/build.log" 2>&1 || { tail -40 "$D/build.log"; say "the build failed"; exit 1; }
build_s=$(( $(date +%s) - t0 ))
image_bytes=$("$DOCKER" image inspect nndojo:latest --format '{{.Size}}')
say "image built in ${build_s} s: $(( image_bytes / 1000000 )) MB (the base alone: $(( $("$DOCKER" image inspect "$BASE_IMAGE" --format '{{.Size}}') / 1000000 )) MB)"

t0=$(date +%s%N)
"${COMPOSE[@]}" -f "$D/compose.yml" up -d 2>&1 | grep -v '^Creating' || true
url="http://127.0.0.1:$NNDOJO_PORT"
"$PY" - "$url" <<'PYEOF'
import sys, time, httpx
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        if httpx.get(sys.argv[1] + "/api/health", timeout=5, trust_env=False).status_code == 200:
            sys.exit(0)
    except httpx.HTTPError:
        pass
    time.sleep(0.2)
sys.exit("docker smoke: /api/health did not answer within 180 s")
PYEOF
say "started: /api/health answered $(( ($(date +%s%N) - t0) / 1000000 )) ms after docker-compose up"

container=$("${COMPOSE[@]}" -f "$D/compose.yml" ps -q nndojo)
uid=$("$DOCKER" exec "$container" id -u)
[ "$uid" != 0 ] || { say "the server runs as root"; exit 1; }
"$DOCKER" exec "$container" test -s /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz || { say "no Fashion-MNIST in the image"; exit 1; }
slots=$("$DOCKER" exec "$container" python -c 'from nndojo.config import Settings; print(Settings().resolved_cpu_slots)')
[ "$slots" = 1 ] || { say "with cpus: 1 the container resolves $slots job slots, not 1"; exit 1; }
healthcheck=$("$DOCKER" inspect "$container" --format '{{index .Config.Healthcheck.Test 1}}')
"$DOCKER" exec "$container" sh -c "$healthcheck" || { say "the image's HEALTHCHECK command fails: $healthcheck"; exit 1; }
say "runs as uid $uid, has Fashion-MNIST, 1 job slot under a 1-CPU quota, its HEALTHCHECK command passes"

"$PY" scripts/docker_smoke_client.py train "$url" "$D/state.json"
t0=$(date +%s%N)
"${COMPOSE[@]}" -f "$D/compose.yml" restart 2>&1 | grep -v '^Restarting' || true
"$PY" scripts/docker_smoke_client.py verify "$url" "$D/state.json"
say "restart to verified: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# An upgrade is a new container from the image on the same volume: what lives only in the old container is gone.
t0=$(date +%s%N)
"${COMPOSE[@]}" -f "$D/compose.yml" up -d --force-recreate 2>&1 | grep -v '^Recreating' || true
[ "$("${COMPOSE[@]}" -f "$D/compose.yml" ps -q nndojo)" != "$container" ] || { say "the container was not recreated"; exit 1; }
"$PY" scripts/docker_smoke_client.py verify "$url" "$D/state.json"
say "new container (as after an image upgrade) to verified: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
say "passed: image $(( image_bytes / 1000000 )) MB, build ${build_s} s"
