#!/usr/bin/env bash
# bench/scale.sh -- issue 7 "scale and speed": feedmerge as the daemon column of the shared
# harness (../shared/bench), in one run on one machine. Stages (STAGES, in this order):
#   poll1000  bench_poll.py N=1000, newsboat + curl + feedmerge, cold/2nd/3rd, RUNS runs
#   poll5000  bench_poll.py N=5000, curl + feedmerge (newsboat: NEWSBOAT_5000=1), cold/2nd/3rd, BIG_RUNS
#   parse     bench_parse.py (feedparser, etree, feedmerge's parse bench binary as DAEMON_PARSE_CMD)
#             over the first PARSE_N feeds, then benches/parse.rs alone (feed-rs vs ours) over PARSE_N2
#   daemon    bench/daemon_10k.py: `feedmerge run` with 10,000 sources, RSS and CPU over a steady round
#   report    ../shared/bench/report.py over the JSON written here
# Everything goes to RESULTS_DIR (default /tmp/fm-scale/results), scratch to BENCH_WORK
# (default /tmp/fm-scale/work); nothing is written into ../shared. Every command has a timeout.
# Needs: cargo build --release (target/release/feedmerge) and the farm's nginx running
# (cd ../shared/bench && ./farm.sh start).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
SHARED="${SHARED_BENCH:-$repo/../shared/bench}"
[[ -d "$SHARED" ]] || SHARED=/work/shared/bench
export FARM_DIR="${FARM_DIR:-/tmp/rssbench/farm}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/fm-scale/results}"
export BENCH_WORK="${BENCH_WORK:-/tmp/fm-scale/work}"
STAGES="${STAGES:-poll1000 poll5000 parse daemon report}"
RUNS="${RUNS:-3}"; BIG_RUNS="${BIG_RUNS:-2}"; THREADS="${THREADS:-8}"
PARSE_N="${PARSE_N:-500}"; PARSE_RUNS="${PARSE_RUNS:-3}"; PARSE_N2="${PARSE_N2:-1000}"
FM="${FEEDMERGE:-$repo/target/release/feedmerge}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
mkdir -p "$RESULTS_DIR" "$BENCH_WORK" "$RESULTS_DIR/configs"
[[ -x "$FM" ]] || { echo "no $FM: cargo build --release" >&2; exit 2; }
[[ -f "$FARM_DIR/manifest.json" ]] || { echo "no farm at $FARM_DIR (../shared/bench/gen_farm.py)" >&2; exit 2; }
(cd "$SHARED" && ./farm.sh status >/dev/null) || { echo "farm nginx not running: (cd $SHARED && ./farm.sh start)" >&2; exit 2; }

# Configs: one per N the farm has (a 1,000-feed farm serves poll1000 and parse), store path
# filled in per workdir by the poll command ({db}).
for n in 100 1000 5000; do
  [[ -f "$FARM_DIR/urls-$n.txt" ]] || continue
  python3 "$here/farm_config.py" "$FARM_DIR/urls-$n.txt" --store @DB@ \
    --out "$RESULTS_DIR/configs/fm-$n.toml" --concurrency "$THREADS" --per-host "$THREADS" --min-interval 1s
done
export DAEMON_NAME=feedmerge
export DAEMON_POLL_CMD="sed 's#@DB@#{db}#' $RESULTS_DIR/configs/fm-{n}.toml > {workdir}/feedmerge.toml && exec timeout 1400 $FM -c {workdir}/feedmerge.toml once > {workdir}/once.out"
export DAEMON_COUNT_CMD="timeout 120 $FM -c {workdir}/feedmerge.toml stats | awk '/^entries /{print \$2}'"
unset DAEMON_PARSE_CMD DAEMON_SERVE_CMD DAEMON_URL

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$RESULTS_DIR/scale.log" >&2; }
log "start: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $("$FM" --version 2>/dev/null || echo feedmerge), commit $(git -C "$repo" rev-parse --short HEAD)"

for stage in $STAGES; do
  case "$stage" in
  poll1000)
    log "poll N=1000, $RUNS runs"
    (cd "$SHARED" && timeout 3600 python3 bench_poll.py --sizes 1000 --runs "$RUNS" --threads "$THREADS" \
      --timeout 900 --name poll-1000) 2>&1 | tee -a "$RESULTS_DIR/scale.log" ;;
  poll5000)
    tools=curl; [[ "${NEWSBOAT_5000:-0}" == 1 ]] && tools=newsboat,curl
    log "poll N=5000 ($tools + feedmerge), $BIG_RUNS runs"
    (cd "$SHARED" && timeout 3600 python3 bench_poll.py --sizes 5000 --tools "$tools" --big 5000 \
      --big-runs "$BIG_RUNS" --big-phases cold,2nd,3rd --threads "$THREADS" --timeout 1500 --name poll-5000) \
      2>&1 | tee -a "$RESULTS_DIR/scale.log" ;;
  parse)
    bin=$(cd "$repo" && cargo bench --bench parse --no-run --message-format=json 2>/dev/null |
      python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "parse":
        print(m["executable"])' | tail -1)
    [[ -x "$bin" ]] || { log "parse bench binary not built"; exit 2; }
    log "parse: feedparser/etree/feedmerge(+dedup), first $PARSE_N feeds, $PARSE_RUNS runs; bin $bin"
    DAEMON_PARSE_CMD="PARSE_JSON=1 PARSE_ROUNDS=1 PARSE_ONLY_DEDUP=1 FILE_LIST={file_list} timeout 600 $bin" \
      bash -c "cd '$SHARED' && timeout 1800 python3 bench_parse.py --n $PARSE_N --runs $PARSE_RUNS --name parse-$PARSE_N" \
      2>&1 | tee -a "$RESULTS_DIR/scale.log"
    log "parse: benches/parse.rs, first $PARSE_N feeds, 5 rounds"
    PARSE_N=$PARSE_N PARSE_ROUNDS=5 timeout 900 "$bin" > "$RESULTS_DIR/parse-rs-$PARSE_N.txt" 2>>"$RESULTS_DIR/scale.log"
    cat "$RESULTS_DIR/parse-rs-$PARSE_N.txt"
    log "parse: benches/parse.rs, first $PARSE_N2 feeds, 5 rounds"
    PARSE_N=$PARSE_N2 PARSE_ROUNDS=5 timeout 900 "$bin" > "$RESULTS_DIR/parse-rs-$PARSE_N2.txt" 2>>"$RESULTS_DIR/scale.log"
    cat "$RESULTS_DIR/parse-rs-$PARSE_N2.txt" ;;
  daemon)
    log "daemon: 10,000 sources"
    timeout 1000 python3 "$here/daemon_10k.py" --feedmerge "$FM" --out "$RESULTS_DIR/daemon-10k" \
      ${DAEMON_ARGS:-} 2>&1 | tee -a "$RESULTS_DIR/scale.log" ;;
  report)
    polls=""
    for f in poll-1000 poll-5000; do [[ -f "$RESULTS_DIR/$f.json" ]] && polls="$polls${polls:+,}$RESULTS_DIR/$f.json"; done
    parse=""; [[ -f "$RESULTS_DIR/parse-$PARSE_N.json" ]] && parse="--parse $RESULTS_DIR/parse-$PARSE_N.json"
    (cd "$SHARED" && timeout 120 python3 report.py ${polls:+--poll "$polls"} $parse \
      --title "feedmerge scale run" --out "$RESULTS_DIR/report.md") && log "wrote $RESULTS_DIR/report.md" ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
log "done"
