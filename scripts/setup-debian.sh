#!/usr/bin/env bash
# Installs what lanchat needs on Debian/Ubuntu: a C toolchain for the -sys crates,
# iproute2 for the LAN test, the libraries the window loads at run time, and Rust (via
# rustup) if cargo is missing. Installs only what is missing; safe to run again.
#   scripts/setup-debian.sh          build + run + test needs
#   scripts/setup-debian.sh --test   also what the iptux interoperability test needs
#   LANCHAT_SKIP_BROWSER=1 scripts/setup-debian.sh   without the browser test's Chromium
set -euo pipefail

pkgs=(
  gcc g++ libc6-dev pkg-config ca-certificates curl  # build (rusqlite compiles C, libFuzzer C++)
  iproute2                                        # tests/lan.rs (network namespaces)
  libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 libgl1 libegl1  # the window (winit + glow)
  fonts-noto-color-emoji                          # colour emoji in the window (read from the system)
  util-linux                                      # unshare: the browser test's namespace
  # Desktop tests: tests/tray_dbus.rs starts a private session bus (dbus-daemon) to drive
  # the tray and notifications over D-Bus; the autostart test runs desktop-file-validate.
  # Both tests skip with a message where these are missing.
  dbus desktop-file-utils
)
# --test (scripts/test.sh): tests/ipmsg_iptux.rs runs a real iptux, the IPMsg client of
# Debian, under a virtual X server inside network namespaces and drives it with xdotool
# (scripts/iptux-lab.sh). GTK comes with iptux, so this is only installed for tests.
# tests/lan_trust/ captures a cable of its namespace LAN with tcpdump, to show that
# nothing readable crosses it.
# scripts/check-windows.sh compiles lanchat for Windows: MinGW's C compiler builds the C
# inside ring and SQLite for that target (the Rust target itself is added below).
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(iptux xvfb xdotool xclip dbus tcpdump gcc-mingw-w64-x86-64)
fi
# The browser end-to-end test of the page for browsers (scripts/web-e2e.sh): Debian's
# Chromium (Playwright never downloads a browser of its own here), fonts for the Chinese
# text in its screenshots, and pip for Playwright's Python client below.
if [[ -z ${LANCHAT_SKIP_BROWSER:-} ]]; then
  pkgs+=(chromium fonts-noto-cjk python3 python3-pip)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [[ $EUID -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing Rust with rustup" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
fi

# The Windows standard library for scripts/check-windows.sh (tests only).
export PATH="$HOME/.cargo/bin:$PATH"
if [[ "${1:-}" == "--test" ]] && command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  echo "setup: adding the Rust target x86_64-pc-windows-gnu" >&2
  rustup target add x86_64-pc-windows-gnu
fi

# Playwright's Python client for scripts/web-e2e.sh (drives /usr/bin/chromium; no browser
# download: `playwright install` is never run).
if [[ -z ${LANCHAT_SKIP_BROWSER:-} ]] && ! python3 -c "import playwright" 2>/dev/null; then
  echo "setup: installing playwright (Python) with pip --user" >&2
  python3 -m pip install --user --quiet playwright \
    || python3 -m pip install --user --quiet --break-system-packages playwright
fi
