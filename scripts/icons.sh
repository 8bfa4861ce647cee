#!/usr/bin/env bash
# Renders lanchat's icon at every hicolor size from its one source, assets/icons/lanchat.svg,
# into assets/icons/hicolor/NxN/apps/lanchat.png (committed: the window and the tray embed
# some of them, so a plain `cargo build` needs no SVG renderer; see docs/DESKTOP.md).
#   scripts/icons.sh            re-render after editing the SVG
#   scripts/icons.sh --check    fail if a committed PNG differs from a fresh rendering
# Needs rsvg-convert (Debian: librsvg2-bin), installed if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=(16 22 24 32 48 64 128 256 512)
src=assets/icons/lanchat.svg

if ! command -v rsvg-convert >/dev/null 2>&1; then
  sudo=""; if [[ $EUID -ne 0 ]]; then sudo="sudo"; fi
  echo "icons: installing librsvg2-bin (rsvg-convert)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends librsvg2-bin >/dev/null
fi

check=false
if [[ "${1:-}" == "--check" ]]; then check=true; fi
out=assets/icons/hicolor
if $check; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

for s in "${SIZES[@]}"; do
  mkdir -p "$out/${s}x${s}/apps"
  rsvg-convert --width "$s" --height "$s" --format png "$src" -o "$out/${s}x${s}/apps/lanchat.png"
done

if $check; then
  stale=()
  for s in "${SIZES[@]}"; do
    f="${s}x${s}/apps/lanchat.png"
    cmp -s "$out/$f" "assets/icons/hicolor/$f" || stale+=("$f")
  done
  if ((${#stale[@]})); then
    echo "icons: stale or missing (run scripts/icons.sh): ${stale[*]}" >&2
    exit 1
  fi
  echo "icons: ${#SIZES[@]} PNGs match $src" >&2
else
  echo "icons: rendered ${#SIZES[@]} sizes into $out" >&2
fi
