#!/usr/bin/env bash
# check-windows.sh: compiles and lints lanchat for Windows on Linux, with and without the
# window (`cargo clippy --target x86_64-pc-windows-gnu --all-targets -- -D warnings`).
#
# What it proves: every `cfg(windows)` / `cfg(not(target_os = "linux"))` line of lanchat
# and the Windows dependency graph compile and pass clippy, so a Windows build cannot
# break unseen (before this check, `src/ui/notify.rs`, the notifier Windows and macOS
# use, had never been compiled). What it does not: run anything, or build for MSVC (the
# GNU target shares lanchat's code paths; only the C tool chain differs), or for macOS
# (its -sys crates need Apple's SDK to build).
#
# Needs the target's standard library (`rustup target add x86_64-pc-windows-gnu`) and a
# MinGW C compiler for the C inside ring and SQLite (Debian: gcc-mingw-w64-x86-64);
# scripts/setup-debian.sh --test installs both. Builds into target/x86_64-pc-windows-gnu.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target=x86_64-pc-windows-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "check-windows: the $target standard library is missing (rustup target add $target)" >&2
  exit 1
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  echo "check-windows: no MinGW C compiler (Debian: apt-get install gcc-mingw-w64-x86-64)" >&2
  exit 1
fi
cargo clippy --locked --target "$target" --all-targets --no-default-features -- -D warnings
cargo clippy --locked --target "$target" --all-targets -- -D warnings
echo "check-windows: lanchat compiles and lints clean for $target, with and without the window" >&2
