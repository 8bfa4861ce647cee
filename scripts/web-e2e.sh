#!/usr/bin/env bash
# web-e2e.sh - the page for browsers, end to end: Debian's Chromium driven by Playwright
# (Python) against lanchat itself (`lanchat --headless --bind 127.0.0.1 --web-port 0`).
# Writes phone-sized screenshots to screenshots/web-*.png.
#
# As root (CI), everything runs in a fresh network namespace with only `lo` up, so
# neither lanchat nor the browser can reach any other host. Otherwise it runs on
# loopback as it is: lanchat binds 127.0.0.1 (beacons to 127.255.255.255 only) and
# Chromium starts without its background networking and with every host name but
# 127.0.0.1 unresolvable. Reuses target/debug/lanchat when it is up to date.
# Needs chromium and playwright: scripts/setup-debian.sh --browser installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [[ ${1:-} == --in-namespace ]]; then
  ip link set lo up
else
  cargo build --locked --bin lanchat
  if [[ $EUID -eq 0 ]] && command -v unshare >/dev/null; then
    exec unshare --net -- "$0" --in-namespace
  fi
fi
python3 tests/browser/web_e2e.py
