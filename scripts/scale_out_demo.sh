#!/usr/bin/env bash
# Scale-out in miniature, on this one machine (docs/scale-out.md):
#   a Prefect server on PostgreSQL, a process work pool, two workers taking the per-video flow
#   runs of ONE nightly run, one shared store; then checks that the work split between the
#   workers and that no video was processed twice.
#
# Usage:  bash scripts/scale_out_demo.sh            (needs .venv from `make setup`, ../shared)
# Variables: DEMO_DIR (default: a new folder under /tmp), PGPORT (55432), PREFECT_PORT (4210),
#            MODEL_ARGS (default: the trained detector from ../shared + RTMPose-t random weights),
#            KEEP=1 leaves the server, workers and database running for a look at the UI.
# As root, PostgreSQL runs as the `postgres` user (initdb refuses root). Debian: apt-get install
# postgresql. Nothing outside DEMO_DIR is written; the default Debian cluster is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=${VENV:-$REPO/.venv}
export PATH="$VENV/bin:$PATH"
SHARED=${POSECOACH_SHARED:-$REPO/../shared}
DEMO_DIR=${DEMO_DIR:-$(mktemp -d /tmp/posecoach-scaleout.XXXXXX)}
PGPORT=${PGPORT:-55432}
PREFECT_PORT=${PREFECT_PORT:-4210}
MODEL_ARGS=${MODEL_ARGS:---detector $SHARED/models/rtmdet-nano-person-mmdet/rtmdet_nano_320_person.pth --allow-random-weights --models-dir $DEMO_DIR/models}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
log() { printf '\n[demo] %s\n' "$*"; }

[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL not found: apt-get install postgresql" >&2; exit 1; }
[ -d "$SHARED/data/videos" ] || { echo "$SHARED/data/videos is absent" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PIDS=()
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: UI at http://127.0.0.1:$PREFECT_PORT ; stop with: kill -- ${PIDS[*]/#/-}; $PGBIN/pg_ctl -D $DEMO_DIR/pgdata stop"
    return
  fi
  set +e
  # Each background process leads its own process group (setsid): stop the group, children too.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 20); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  if [ -f "$DEMO_DIR/pgdata/postmaster.pid" ]; then
    (cd "$DEMO_DIR" && as_pg "$PGBIN/pg_ctl" -D "$DEMO_DIR/pgdata" -m fast -w stop >>"$DEMO_DIR/postgres.log" 2>&1)
  fi
}
trap cleanup EXIT

log "1. PostgreSQL in $DEMO_DIR/pgdata on port $PGPORT"
mkdir -p "$DEMO_DIR/pgdata" "$DEMO_DIR/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$DEMO_DIR" "$DEMO_DIR/pgdata" "$DEMO_DIR/pgsock"
as_pg "$PGBIN/initdb" -D "$DEMO_DIR/pgdata" -U prefect --auth=trust >"$DEMO_DIR/initdb.log"
as_pg "$PGBIN/pg_ctl" -D "$DEMO_DIR/pgdata" -l "$DEMO_DIR/postgres.log" -w \
  -o "-p $PGPORT -k $DEMO_DIR/pgsock -c listen_addresses=127.0.0.1" start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U prefect prefect

log "2. Prefect server on PostgreSQL, http://127.0.0.1:$PREFECT_PORT"
export PREFECT_HOME=$DEMO_DIR/prefect-home
export PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://prefect@127.0.0.1:$PGPORT/prefect"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
setsid prefect server start --host 127.0.0.1 --port "$PREFECT_PORT" >"$DEMO_DIR/server.log" 2>&1 &
PIDS+=($!)
export PREFECT_API_URL=http://127.0.0.1:$PREFECT_PORT/api
for _ in $(seq 120); do
  python -c "import urllib.request,sys; urllib.request.urlopen('$PREFECT_API_URL/health', timeout=2)" 2>/dev/null && break
  sleep 1
done
python -c "import urllib.request; urllib.request.urlopen('$PREFECT_API_URL/health', timeout=2)"

log "3. a process work pool and the deployments of prefect.yaml"
prefect --no-prompt work-pool create posecoach --type process --overwrite >/dev/null
POSECOACH_HOME=$REPO POSECOACH_DATA=$DEMO_DIR POSECOACH_TIMEZONE=UTC \
  prefect --no-prompt deploy --all >"$DEMO_DIR/deploy.log" 2>&1 || { cat "$DEMO_DIR/deploy.log"; exit 1; }
grep -E "Deployment '.*' successfully" "$DEMO_DIR/deploy.log" || true

log "4. two workers on the 'videos' queue, one flow run at a time each"
for name in worker-a worker-b; do
  POSECOACH_WORKER_NAME=$name OMP_NUM_THREADS=1 setsid prefect worker start --pool posecoach \
    --work-queue videos --limit 1 --name "$name" >"$DEMO_DIR/$name.log" 2>&1 &
  PIDS+=($!)
done

log "5. an inbox of four videos (one of them corrupted) and ONE nightly run fanning out"
mkdir -p "$DEMO_DIR/inbox/ana/squat" "$DEMO_DIR/inbox/bob/lunge" "$DEMO_DIR/inbox/cleo/jumping_jacks"
cp "$SHARED/data/videos/street_5frames.mp4" "$DEMO_DIR/inbox/ana/squat/street.mp4"
cp "$SHARED/data/videos/two_people_1080p.mp4" "$DEMO_DIR/inbox/bob/lunge/two_people.mp4"
cp "$SHARED/data/videos/portrait_60fps_multi.mp4" "$DEMO_DIR/inbox/cleo/jumping_jacks/portrait.mp4"
head -c 3000 "$SHARED/data/videos/street_5frames.mp4" >"$DEMO_DIR/inbox/ana/squat/cut.mp4"
# shellcheck disable=SC2086
python -m posecoach.cli run --inbox "$DEMO_DIR/inbox" --store "$DEMO_DIR/store" --reports "$DEMO_DIR/reports" \
  --dispatch deployment --batch-size 1 --json "$DEMO_DIR/night.json" $MODEL_ARGS | tee "$DEMO_DIR/run.log"

log "6. who did what, and is anything duplicated?"
python - "$DEMO_DIR" <<'EOF'
import json, sys
from pathlib import Path
from posecoach.store import Store

demo = Path(sys.argv[1])
night = json.loads((demo / "night.json").read_text())
store = Store(demo / "store")
print(f"{'video':42} {'status':8} worker")
by_worker: dict[str, int] = {}
for o in night["outcomes"]:
    print(f"{o['rel_path']:42} {str(o['status']):8} {o['worker']}")
    if o["action"] == "analyzed":
        by_worker[o["worker"]] = by_worker.get(o["worker"], 0) + 1
videos = store.read("videos")
dupes = store.query("SELECT video_id, count(*) AS n FROM videos GROUP BY 1 HAVING n > 1")
kp_files = store.files("keypoints")
kp_ids = [Path(p).stem for p in kp_files]
print(f"\nanalysed per worker: {by_worker}")
print(f"videos rows: {len(videos)} for {videos['video_id'].nunique()} videos; duplicated: {len(dupes)}")
print(f"keypoints files: {len(kp_files)} for {len(set(kp_ids))} videos")
print(f"claims left: {len(list((demo / 'store' / '_claims').glob('*.claim')))}")
ok = len(dupes) == 0 and len(kp_ids) == len(set(kp_ids)) and len(by_worker) == 2
print("RESULT:", "work split between both workers, nothing duplicated" if ok else "CHECK FAILED")
sys.exit(0 if ok else 1)
EOF
for name in worker-a worker-b; do
  printf '%s log: ' "$name"; grep -c "analyzed ok\|analyzed failed\|analyzed empty" "$DEMO_DIR/$name.log" || true
done
log "reports: $(python -c "import json;print(json.load(open('$DEMO_DIR/night.json'))['index'])")"
