#!/usr/bin/env bash
# Measures what an idle window costs: frames painted per second and CPU time, for a
# window under Xvfb on loopback with one headless peer online (beacons keep flowing,
# but a beacon that changes nothing wakes nobody). Prints one summary line.
#
# Usage: scripts/idle.sh [SECONDS] (default 30). LANCHAT_BIN as in screenshots.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
BIN=$(realpath "${LANCHAT_BIN:-target/release/lanchat}")
WORK=$(mktemp -d -t lanchat-idle.XXXXXX)
PORT=$((42000 + RANDOM % 20000))
COMMON=(--no-ipmsg --bind 127.0.0.1 --discovery-port "$PORT")
pids=()
win=
cleanup() {
    # The window first: xvfb-run then stops its Xvfb by itself.
    [[ -n "$win" ]] && kill "$win" 2>/dev/null || true
    [[ -n "${xvfb:-}" ]] && wait "$xvfb" 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/peer.in"
"$BIN" --headless "${COMMON[@]}" --name peer --data-dir "$WORK/peer" <"$WORK/peer.in" >/dev/null 2>&1 &
pids+=($!)
sleep 100000 >"$WORK/peer.in" &
pids+=($!)

RUST_LOG=lanchat=info,lanchat::ui::frame=trace env -u WAYLAND_DISPLAY \
    xvfb-run -a -s "-screen 0 1280x800x24" \
    "$BIN" "${COMMON[@]}" --name idle --data-dir "$WORK/me" 2>"$WORK/window.log" &
xvfb=$!
sleep 5 # start-up: fonts, first frames, the peer's hello
win=$(pgrep -n -f "^$BIN ${COMMON[*]} --name idle" || true)
[[ -n "$win" ]] || { echo "window did not start" >&2; cat "$WORK/window.log" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$win/stat"; }
f0=$(grep -c 'lanchat::ui::frame: frame$' "$WORK/window.log" || true); t0=$(ticks)
sleep "$SECS"
f1=$(grep -c 'lanchat::ui::frame: frame$' "$WORK/window.log" || true); t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "frames painted during the 5 s start-up: $f0"
awk -v f=$((f1 - f0)) -v t=$((t1 - t0)) -v s="$SECS" -v hz="$hz" 'BEGIN {
    printf "idle %ds: %d frames (%.2f/s), CPU %.2fs (%.2f%% of one core)\n", s, f, f / s, t / hz, 100 * t / hz / s }'
