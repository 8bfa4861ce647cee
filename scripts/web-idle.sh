#!/usr/bin/env bash
# Measures what the web server costs when no one visits: the fake host
# (examples/web_fake_host.rs, the server alone on 127.0.0.1) is started, left alone for
# SECONDS, and every thread's context switches and CPU ticks are counted. The goal is 0
# wake-ups beyond the listener: with no visitor the sweeper waits on a notification and
# only the listening socket is armed. Prints one line per thread and a summary.
#
# Usage: scripts/web-idle.sh [SECONDS] (default 30). FAKE_HOST=path to use another build.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
if [[ -z ${FAKE_HOST:-} ]]; then
  cargo build --quiet --example web_fake_host
  FAKE_HOST=target/debug/examples/web_fake_host
fi
WORK=$(mktemp -d -t lanchat-web-idle.XXXXXX)
host=
keep=
cleanup() {
  [[ -n "$keep" ]] && kill "$keep" 2>/dev/null || true
  [[ -n "$host" ]] && kill "$host" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/in"
"$FAKE_HOST" --spool "$WORK/spool" --inbox "$WORK/inbox" <"$WORK/in" >"$WORK/out" 2>/dev/null &
host=$!
sleep 100000 >"$WORK/in" &
keep=$!
until grep -q web_ready "$WORK/out" 2>/dev/null; do sleep 0.1; done
sleep 1 # let start-up settle

snapshot() {
  for t in /proc/$host/task/*; do
    printf '%s %s %s %s\n' "$(basename "$t")" "$(tr ' ' '_' <"$t/comm")" \
      "$(awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}' "$t/status")" \
      "$(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}
snapshot >"$WORK/before"
sleep "$SECS"
snapshot >"$WORK/after"
join "$WORK/before" "$WORK/after" | awk -v secs="$SECS" '
  { dw = $6 - $3; dt = $7 - $4; total += dw; ticks += dt
    printf "  %-18s %6d wake-ups  %4d ticks\n", $2, dw, dt }
  END { printf "web idle: %d threads, %d wake-ups in %d s (%.2f/s), %d CPU ticks\n",
        NR, total, secs, total / secs, ticks }'
