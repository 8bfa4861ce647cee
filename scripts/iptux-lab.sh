#!/usr/bin/env bash
# iptux-lab.sh - a real iptux (Debian package, GTK) on a private namespace LAN, run headless
# under Xvfb and driven with xdotool, for IPMsg interoperability tests (tests/ipmsg_iptux.rs).
#
#   iptux-lab.sh install                      apt-get the tools when missing (root)
#   iptux-lab.sh up                           hosts ${PREFIX}0 = 10.77.0.10 (iptux) and
#                                             ${PREFIX}1 = 10.77.0.11 (the other side)
#   iptux-lab.sh start DIR ENC [NICK] [GROUP] Xvfb + iptux in host 0, state in DIR (a fresh
#                                             HOME, received files in DIR/recv, logs); ENC is
#                                             iptux's preference_encode: utf-8 or gb18030.
#                                             Returns when iptux listens and shows its window.
#   iptux-lab.sh open-chat DIR PAL            open the chat window of the pal whose nickname
#                                             starts with PAL; prints its window title
#   iptux-lab.sh say DIR PAL TEXT             type TEXT in that chat and send it (ctrl+Return)
#   iptux-lab.sh send-file DIR PAL PATH       attach PATH (ctrl+s) and send the offer
#   iptux-lab.sh press-send DIR PAL           press send (ctrl+Return) in that chat again
#   iptux-lab.sh accept-files DIR PAL         accept the files offered in that chat into
#                                             DIR/recv
#   iptux-lab.sh history DIR PAL              print that chat's history as shown
#   iptux-lab.sh quit DIR                     ctrl+q (iptux sends BR_EXIT); waits for its exit
#   iptux-lab.sh stop DIR                     end what `start` started that still runs (by PID)
#   iptux-lab.sh down                         remove the namespaces
#
# Network safety: iptux broadcasts BR_ENTRY the moment it starts, so it only ever runs inside
# host 0's namespace. The LAN is scripts/testlan.sh's: the bridge lives in a namespace of
# its own and nothing is added to the root namespace, so no packet can reach a real
# interface. Xvfb listens on no TCP port. Namespace names start with $TESTLAN_PREFIX
# (default ipl-), so concurrent runs with different prefixes never meet.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export TESTLAN_PREFIX="${TESTLAN_PREFIX:-ipl-}"
NS="${TESTLAN_PREFIX}0"
TOOLS=(iptux xvfb xdotool xclip dbus)

die() { echo "iptux-lab: $*" >&2; exit 1; }
in_ns() { ip netns exec "$NS" "$@"; }
xdo() { in_ns env DISPLAY="$(cat "$DIR/display")" xdotool "$@"; }

# wait_for SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $what"
}

cmd_install() {
  local missing=() p
  for p in "${TOOLS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "must run as root to install ${missing[*]}"
  echo "iptux-lab: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cmd_up() { bash "$here/testlan.sh" up 2 >/dev/null; }
cmd_down() { bash "$here/testlan.sh" down >/dev/null; }

cmd_start() {
  local enc=${1:-utf-8} nick=${2:-iptux测试} group=${3:-组A}
  [[ "$enc" == utf-8 || "$enc" == gb18030 ]] || die "encoding must be utf-8 or gb18030"
  [[ -e "/run/netns/$NS" ]] || die "no namespace $NS: run '$0 up' first"
  mkdir -p "$DIR/home/.iptux" "$DIR/recv"
  cat >"$DIR/home/.iptux/config.json" <<EOF
{
  "nick_name": "$nick",
  "belong_group": "$group",
  "personal_sign": "",
  "preference_encode": "$enc",
  "candidacy_encode": "gb18030,utf-8",
  "archive_path": "$DIR/recv",
  "record_log": true
}
EOF
  # Xvfb picks a free display itself and writes its number to fd 3. (`ip netns exec`
  # execs the command, so $! is Xvfb's own PID; a shell function here would be a subshell.)
  ip netns exec "$NS" Xvfb -displayfd 3 -nolisten tcp -screen 0 1280x800x24 3>"$DIR/display.raw" \
    >"$DIR/xvfb.log" 2>&1 &
  echo $! >"$DIR/xvfb.pid"
  wait_for 20 "Xvfb" test -s "$DIR/display.raw"
  echo ":$(tr -dc 0-9 <"$DIR/display.raw")" >"$DIR/display"
  ip netns exec "$NS" env -i PATH=/usr/bin:/bin HOME="$DIR/home" DISPLAY="$(cat "$DIR/display")" \
    LANG=C.UTF-8 NO_AT_BRIDGE=1 GSETTINGS_BACKEND=memory \
    dbus-run-session -- iptux --log=DEBUG >"$DIR/iptux.log" 2>&1 &
  echo $! >"$DIR/iptux.pid"
  wait_for 30 "iptux on UDP 2425" listening
  wait_for 30 "iptux's window" xdo search --onlyvisible --name '^Iptux$'
}

# no_window REGEX: true when no visible window's name matches.
no_window() { ! xdo search --onlyvisible --name "$1" | grep -q .; }
# gone PID: true when the process has ended.
gone() { ! kill -0 "$1" 2>/dev/null; }

# listening: iptux's UDP socket is bound in its namespace.
listening() { in_ns ss -Hlun 'sport = :2425' | grep -q 2425; }

main_window() { xdo search --onlyvisible --name '^Iptux$' | head -n1; }
chat_window() { xdo search --onlyvisible --name "^Talk with $1" | head -n1; }

cmd_open_chat() {
  local pal=$1 win main row
  win=$(chat_window "$pal" || true)
  if [[ -z "$win" ]]; then
    main=$(main_window)
    # Pals are rows of ~44 px from y=120 in the 260 px wide main window; iptux lists
    # itself too (it hears its own broadcast). Double-click each row until the chat
    # window of $pal opens.
    for row in 0 1 2 3 4 5; do
      xdo mousemove --window "$main" 70 $((120 + 44 * row)) click --repeat 2 --delay 80 1
      for _ in $(seq 20); do
        win=$(chat_window "$pal" || true)
        [[ -n "$win" ]] && break
        sleep 0.1
      done
      [[ -n "$win" ]] && break
    done
    [[ -n "$win" ]] || die "no pal called $pal in iptux's list"
    # A known place and size, so the buttons are where accept-files clicks.
    xdo windowmove "$win" 0 0 windowsize "$win" 1280 760
    sleep 0.3
  fi
  xdo getwindowname "$win"
}

# focus_input WIN: focus the chat window and click into its message box.
focus_input() {
  xdo windowfocus --sync "$1"
  xdo mousemove --window "$1" 300 620 click 1
}

cmd_say() {
  local pal=$1 text=$2 win
  cmd_open_chat "$pal" >/dev/null
  win=$(chat_window "$pal")
  focus_input "$win"
  # xdotool drops the first non-ASCII character it types into a fresh keymap: type one
  # and delete it first.
  xdo type --delay 30 '中'
  sleep 0.2
  xdo key BackSpace
  xdo type --delay 30 "$text"
  xdo key ctrl+Return
}

cmd_send_file() {
  local pal=$1 path=$2 win chooser
  cmd_open_chat "$pal" >/dev/null
  win=$(chat_window "$pal")
  focus_input "$win"
  xdo key ctrl+s
  wait_for 10 "the file chooser" xdo search --onlyvisible --name '^Choose enclosure files'
  chooser=$(xdo search --onlyvisible --name '^Choose enclosure files' | head -n1)
  xdo windowfocus --sync "$chooser"
  xdo key ctrl+l
  sleep 0.3
  xdo type --delay 30 '中'
  xdo key ctrl+a BackSpace
  xdo type --delay 20 "$path"
  sleep 0.3
  xdo key Return
  wait_for 10 "the file chooser to close" no_window '^Choose enclosure files'

  focus_input "$win"
  xdo key ctrl+Return
}

# press-send: a key press lost under Xvfb leaves an attached file unsent; press again.
cmd_press_send() {
  local pal=$1 win
  cmd_open_chat "$pal" >/dev/null
  win=$(chat_window "$pal")
  focus_input "$win"
  xdo key ctrl+Return
}

cmd_accept_files() {
  local pal=$1 win dialog
  cmd_open_chat "$pal" >/dev/null
  win=$(chat_window "$pal")
  xdo windowfocus --sync "$win"
  # The "Accept" button above the "Files to be received" list.
  xdo mousemove --window "$win" "${ACCEPT_X:-1266}" "${ACCEPT_Y:-84}" click 1
  wait_for 10 "the folder dialog" xdo search --onlyvisible --name '^Please select a folder'
  dialog=$(xdo search --onlyvisible --name '^Please select a folder' | head -n1)
  xdo windowfocus --sync "$dialog"
  # archive_path is preselected: confirm it.
  xdo key Return
}

cmd_history() {
  local pal=$1 win
  cmd_open_chat "$pal" >/dev/null
  win=$(chat_window "$pal")
  xdo windowfocus --sync "$win"
  xdo mousemove --window "$win" 300 200 click 1
  xdo key ctrl+a ctrl+c
  sleep 0.3
  in_ns env DISPLAY="$(cat "$DIR/display")" xclip -o -selection clipboard
}

cmd_quit() {
  local pid
  pid=$(cat "$DIR/iptux.pid")
  xdo windowfocus --sync "$(main_window)"
  xdo key ctrl+q
  wait_for 20 "iptux to exit" gone "$pid"
}

cmd_stop() {
  local f pid child
  for f in iptux xvfb; do
    [[ -s "$DIR/$f.pid" ]] || continue
    pid=$(cat "$DIR/$f.pid")
    # iptux runs under dbus-run-session: end iptux itself, and the session follows.
    if [[ $f == iptux ]]; then
      for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        [[ "$(ps -o comm= -p "$child")" == iptux ]] && stop_pid "$child"
      done
    fi
    stop_pid "$pid"
    rm -f "$DIR/$f.pid"
  done
}

# stop_pid PID: TERM, then KILL after 3 s.
stop_pid() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 30); do gone "$1" && return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

cmd=${1:-}
shift || true
case "$cmd" in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down ;;
  start | open-chat | say | send-file | press-send | accept-files | history | quit | stop)
    DIR=${1:?usage: $0 $cmd DIR ...}
    DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
    shift
    "cmd_${cmd//-/_}" "$@"
    ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
