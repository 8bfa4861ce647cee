#!/usr/bin/env bash
# The tray for real, under Xvfb: a private session bus (dbus-run-session), a
# StatusNotifierWatcher and host (gtk-sni-tray-standalone, Debian
# haskell-gtk-sni-tray-utils), the lanchat window on loopback and a headless peer. It
# closes the window the way a window manager's ✖ does (WM_DELETE_WINDOW, python3-xlib),
# checks that the window is hidden and lanchat still runs, lets the peer write three
# messages, opens the tray menu with a right click and its Status submenu, and saves
#   screenshots/tray-menu.png
# then starts lanchat again with the same data directory and checks that this brings
# the hidden window back instead of starting a second one.
# Everything stays on loopback and the private bus. Needs root for apt (installs what is
# missing).
#   scripts/tray-screenshot.sh                      (release build)
#   LANCHAT_BIN=target/debug/lanchat scripts/tray-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(xvfb xauth xdotool imagemagick dbus python3-xlib haskell-gtk-sni-tray-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "tray-screenshot: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BIN=${LANCHAT_BIN:-target/release/lanchat}
if [[ ! -x "$BIN" ]]; then cargo build --release --locked; fi
BIN=$(realpath "$BIN")

if [[ "${1:-}" != "--inside" ]]; then
  exec dbus-run-session -- "$0" --inside
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

display=99
while [[ -e /tmp/.X11-unix/X$display ]]; do display=$((display + 1)); done
export DISPLAY=:$display
unset WAYLAND_DISPLAY
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done

# The panel: watcher (-w) and host, a bar along the top with the icons at its end.
gtk-sni-tray-standalone --top --end --size 32 --color '#2b3038' -w >"$work/host.log" 2>&1 &
pids+=($!)
sleep 2

port=$((47000 + RANDOM % 900))
"$BIN" --no-ipmsg --bind 127.0.0.1 --discovery-port "$port" --interval 0.5 \
  --data-dir "$work/me" --name 林晓 >"$work/window.log" 2>&1 &
window=$!
pids+=("$window")
mkfifo "$work/peer.in"
"$BIN" --headless --no-ipmsg --bind 127.0.0.1 --discovery-port "$port" --interval 0.5 \
  --data-dir "$work/peer" --name 王小明 <"$work/peer.in" >"$work/peer.out" 2>/dev/null &
pids+=($!)
exec 3>"$work/peer.in"

wait_for() { # wait_for WHAT COMMAND...: up to 20 s
  local what=$1; shift
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "tray-screenshot: timed out waiting for $what" >&2
  cat "$work/window.log" >&2
  exit 1
}
wait_for "the window" xdotool search --onlyvisible --name lanchat
wait_for "the peer to see lanchat" grep -q '"peer_joined"' "$work/peer.out"

/usr/bin/python3 - <<'EOF'
# What a window manager's close button does: WM_DELETE_WINDOW to the window.
from Xlib import display, X, protocol
d = display.Display()
def walk(w):
    for c in w.query_tree().children:
        yield c
        yield from walk(c)
for w in walk(d.screen().root):
    try:
        name = w.get_wm_name()
    except Exception:
        continue
    if isinstance(name, str) and name.startswith("lanchat"):
        proto, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        w.send_event(protocol.event.ClientMessage(window=w, client_type=proto,
                     data=(32, [delete, X.CurrentTime, 0, 0, 0])), event_mask=X.NoEventMask)
        d.flush()
        break
else:
    raise SystemExit("no lanchat window to close")
EOF
wait_for "the window to hide" bash -c '! xdotool search --onlyvisible --name lanchat'
kill -0 "$window" || { echo "tray-screenshot: closing the window quit lanchat" >&2; exit 1; }
echo "tray-screenshot: closed: the window is hidden, lanchat still runs" >&2

for text in "晚上一起吃饭吗？" "七点，老地方" "记得带上文件"; do
  printf '{"cmd":"send","to":"林晓","text":"%s"}\n' "$text" >&3
done
wait_for "three deliveries" bash -c "[[ \$(grep -c '\"delivered\"' '$work/peer.out') -ge 3 ]]"
sleep 1 # the tray host redraws the icon

# Right click on the icon (the last one on the bar), then hover "Status".
xdotool mousemove 1263 16 click 3
sleep 1.5
xdotool mousemove 1180 77
sleep 1.5
mkdir -p screenshots
import -window root "$work/root.png"
/usr/bin/convert "$work/root.png" -crop 560x230+720+0 +repage screenshots/tray-menu.png
xdotool key Escape key Escape
echo "tray-screenshot: wrote screenshots/tray-menu.png" >&2

# A second start with the same data directory brings the window back.
"$BIN" --no-ipmsg --bind 127.0.0.1 --discovery-port "$port" --data-dir "$work/me"
wait_for "the window to come back" xdotool search --onlyvisible --name lanchat
kill -0 "$window"
echo "tray-screenshot: a second start brought the window back; one lanchat runs" >&2
printf '{"cmd":"quit"}\n' >&3
