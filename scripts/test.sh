#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: format, platform code confined
# (scripts/check-platform.sh), the Windows build linted (scripts/check-windows.sh), lints
# (with and without the window), then every test twice
# (the native paths, then --features portable: the ones Windows and macOS take) — unit,
# loopback, headless contract, window (egui_kittest), files, history, hostile inputs,
# faults, the namespace LAN tests and the real-iptux IPMsg test (required when run as
# root; --test installs iptux, Xvfb and xdotool for it), the web page in a real
# Chromium — then the Debian package (built from the debug binary, checked, installed
# into a throw-away root) and a short fuzzing run of every parser.
# Nothing here sends traffic outside loopback or the test's own network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n=== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "platform code only in src/platform/, Linux-only crates out of the Windows/macOS graphs"
scripts/check-platform.sh

step "Windows: compiles and lints clean for x86_64-pc-windows-gnu (scripts/check-windows.sh)"
scripts/check-windows.sh

step "clippy, core only (no egui)"
cargo clippy --locked --all-targets --no-default-features -- -D warnings

step "clippy, with the window"
cargo clippy --locked --all-targets -- -D warnings

if [[ $EUID -eq 0 ]]; then export LANCHAT_REQUIRE_LAN=1; fi
step "cargo test (LANCHAT_REQUIRE_LAN=${LANCHAT_REQUIRE_LAN:-0})"
cargo test --locked

# The paths Windows and macOS take (stops by a flag where shutdown() wakes nothing, the
# portable no-replace rename, the loopback multicast group, ...), on Linux: the whole suite
# again, the window's, the namespace LAN's and the real iptux's included. A feature and
# not --cfg: it rebuilds lanchat and its tests only, not every dependency.
step "cargo test --features portable (the Windows/macOS paths on Linux, every suite)"
cargo test --locked --features portable

step "the page for browsers in Chromium (scripts/web-e2e.sh)"
scripts/web-e2e.sh

step "package: a .deb of the debug build, checked and installed into a throw-away root"
scripts/check-package.sh --binary target/debug/lanchat

step "fuzzing: 20 s per parser (scripts/fuzz.sh; longer runs: scripts/fuzz.sh 600)"
scripts/fuzz.sh 20
