#!/usr/bin/env bash
# Makes screenshots/*.png of the real window: lanchat under Xvfb, confined to loopback,
# beside headless peers that chat with it in Chinese and English. The window's tour mode
# (LANCHAT_TOUR, see docs/GUI.md) sets each scene up and saves it as a PNG.
#
# Needs: xvfb xauth libxcursor1 libxi6 libxkbcommon-x11-0 imagemagick (Debian names).
# LANCHAT_BIN=target/debug/lanchat skips the release build (for quick iterations).
# Nothing here leaves the machine: every instance runs with --bind 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${LANCHAT_BIN:-}" ]]; then
    cargo build --release
    LANCHAT_BIN=target/release/lanchat
fi
BIN=$(realpath "$LANCHAT_BIN")
OUT=$PWD/screenshots
WORK=$(mktemp -d -t lanchat-shots.XXXXXX)
# A discovery port of our own, so no other lanchat on this host joins the pictures.
PORT=${DISCOVERY_PORT:-$((42000 + RANDOM % 20000))}
COMMON=(--no-ipmsg --bind 127.0.0.1 --discovery-port "$PORT" --interval 1)
ME="林晓"
pids=()
window=

cleanup() {
    # If the window is still up (a failed tour), stop it first: xvfb-run then stops Xvfb.
    local win
    win=$(pgrep -f -- "--data-dir $WORK/me" || true)
    [[ -n "$win" ]] && kill $win 2>/dev/null || true
    wait "$window" 2>/dev/null || true
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# peer NAME FEED: a headless peer whose stdin is the output of the shell function FEED.
peer() {
    local name=$1 feed=$2
    mkfifo "$WORK/$name.in"
    "$BIN" --headless "${COMMON[@]}" --name "$name" --data-dir "$WORK/$name" \
        <"$WORK/$name.in" >"$WORK/$name.log" 2>&1 &
    pids+=($!)
    "$feed" >"$WORK/$name.in" &
    pids+=($!)
}

say() { printf '%s\n' "$1"; }
# Waits until the headless peer NAME has seen the window (a debug build starts slowly).
wait_for_me() {
    for _ in $(seq 100); do
        grep -q "\"name\":\"$ME\"" "$WORK/$1.log" 2>/dev/null && return
        sleep 0.1
    done
}
send() { say "{\"cmd\":\"send\",\"to\":\"$ME\",\"text\":\"$1\"}"; }
shout() { say "{\"cmd\":\"shout\",\"text\":\"$1\"}"; }

feed_wang() {
    wait_for_me 王小明
    sleep 0.5
    send "你好！今天下午三点开会，别忘了带上周的报告 📄"
    sleep 1
    send "会议室换到了 301，投影仪已经准备好了。"
    sleep 6
    send "Thanks! 我马上过去 🚀"
    sleep 600
}
# room NAME: the id of the room the headless peer NAME joined (once it has).
room_of() {
    for _ in $(seq 200); do
        local id
        id=$(grep -o '"event":"room_joined","room":{"id":"[^"]*"' "$WORK/$1.log" 2>/dev/null |
            head -n 1 | sed 's/.*"id":"//; s/"$//')
        [[ -n "$id" ]] && { printf '%s\n' "$id"; return; }
        sleep 0.1
    done
}
feed_alice() {
    wait_for_me Alice
    sleep 1
    send "Hey, are you coming to lunch? 🍜"
    sleep 1
    send "The build is green again ✅ nice work on the fix: https://ci.example.com/builds/4521"
    # The window makes a room with Alice, 王小明 and Bob (the go script below).
    local room
    room=$(room_of Alice)
    [[ -n "$room" ]] && say "{\"cmd\":\"send\",\"to\":\"$room\",\"text\":\"周五演示的幻灯片我放在共享盘了，大家看一下 👀\"}"
    sleep 600
}
feed_li() {
    say '{"cmd":"set_status","status":"away"}'
    wait_for_me 李娜
    sleep 1.5
    shout "大家好，三楼的打印机修好了 🎉"
    sleep 600
}
feed_bob() {
    say '{"cmd":"set_status","status":"in a meeting"}'
    wait_for_me Bob
    sleep 2
    shout "Friday demo at 4pm in room 301, everyone welcome!"
    sleep 1
    send "Can you review my pull request when you have a minute?"
    sleep 0.5
    say "{\"cmd\":\"send_file\",\"to\":\"$ME\",\"path\":\"$WORK/poster.jpg\"}"
    say "{\"cmd\":\"send_file\",\"to\":\"$ME\",\"path\":\"$WORK/周五演示.pdf\"}"
    say "{\"cmd\":\"send_file\",\"to\":\"$ME\",\"path\":\"$WORK/演示素材\"}"
    sleep 600
}
feed_carlos() {
    wait_for_me Carlos
    sleep 0.5
    send "Heading home, see you tomorrow 👋"
    sleep 1.5
    say '{"cmd":"quit"}'
}

# Files Bob sends: a picture (shown inline) and a document (a file card).
/usr/bin/convert -size 640x400 gradient:'#ff9966-#ff5e62' -gravity center -pointsize 56 \
    -fill white -annotate 0 'Friday demo\nRoom 301' "$WORK/poster.jpg"
{ printf '%%PDF-1.4\n'; head -c 180000 /dev/urandom; } >"$WORK/周五演示.pdf"
# And a folder, sent as one transfer: nested, an empty file and an empty folder.
mkdir -p "$WORK/演示素材/图片" "$WORK/演示素材/空"
for i in 1 2 3; do head -c $((i * 40000)) /dev/urandom >"$WORK/演示素材/图片/slide-$i.png"; done
printf 'agenda\n' >"$WORK/演示素材/议程.txt"
: >"$WORK/演示素材/notes.md"

echo "window and 5 headless peers on 127.0.0.1, discovery port $PORT"
LANCHAT_TOUR=$WORK RUST_LOG=lanchat=info env -u WAYLAND_DISPLAY \
    xvfb-run -a -s "-screen 0 1920x1080x24" \
    "$BIN" "${COMMON[@]}" --name "$ME" --data-dir "$WORK/me" \
    --auto-accept --download-dir "$WORK/downloads" >"$WORK/window.log" 2>&1 &
window=$!
sleep 1
peer 王小明 feed_wang
peer Alice feed_alice
peer 李娜 feed_li
peer Bob feed_bob
peer Carlos feed_carlos
sleep 12

cat >"$WORK/go.tmp" <<SCRIPT
{"cmd":"send","to":"王小明","text":"收到，我三点前到 👍\nThe report is in the shared folder."}
{"cmd":"shout","text":"Pizza in the kitchen 🍕 先到先得！"}
{"cmd":"send","to":"Alice","text":"On my way, save me a seat!"}
{"cmd":"web_start","port":0}
{"cmd":"verify","peer":"王小明"}
{"cmd":"room_create","name":"演示小组","members":["Alice","王小明","Bob"]}
{"cmd":"add_peer","addr":"127.0.0.9"}
shot conversation-dark.png dark 王小明
shot everyone-dark.png dark Everyone
shot network-dark.png dark Alice network
shot files-dark.png dark Bob
shot folder-light.png light Bob
shot search-dark.png dark 王小明 search=301
shot small-dark.png dark 王小明 size=640x420
shot chooser-dark.png dark Bob attach
shot conversation-light.png light Alice
shot everyone-light.png light Everyone
shot network-light.png light 王小明 network
shot settings-light.png light 王小明 settings
shot search-light.png light Everyone search=lunch
shot small-network-light.png light Alice network size=640x420
shot wide-light.png light 王小明 size=1920x1080
shot web-join-light.png light Everyone web
shot web-join-dark.png dark Alice web
shot verify-dark.png dark Alice verify
shot verify-light.png light 李娜 verify
shot room-light.png light 演示小组
shot room-dark.png dark 演示小组
shot reach-light.png light Everyone network reach
SCRIPT
mv "$WORK/go.tmp" "$WORK/go"

if ! wait "$window"; then
    cat "$WORK/window.log" >&2
    exit 1
fi
mkdir -p "$OUT"
cp "$WORK"/*.png "$OUT"/
ls -l "$OUT"
