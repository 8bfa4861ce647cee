#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (installed if missing):
#   target/debian/lanchat_<version>-1_<arch>.deb
# with the binary, the desktop entry and the icon at every hicolor size
# ([package.metadata.deb] in Cargo.toml). Install it with `apt install ./target/debian/lanchat_…deb`.
#   scripts/package.sh                     release build, then the package
#   scripts/package.sh --no-build          package target/release/lanchat as it is
#   scripts/package.sh --binary FILE       package FILE (e.g. a debug build, for checks)
# Prints the package's path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

build=true
binary=""
while (($#)); do
  case "$1" in
    --no-build) build=false ;;
    --binary) binary=$(realpath "$2"); build=false; shift ;;
    *) echo "usage: scripts/package.sh [--no-build | --binary FILE]" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "package: installing cargo-deb" >&2
  cargo install --locked cargo-deb >&2
fi

# Stripped: the release profile keeps line tables for backtraces (165 MB), the package
# need not (the binary is then ~25 MB).
args=(--locked --strip)
if ! $build; then args+=(--no-build); fi
if [[ -n "$binary" ]]; then
  # cargo-deb takes the binary from target/release: package FILE through a target
  # directory of its own, so a real release build there is never touched.
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/release"
  # Stripped here, so an unoptimised build with its debug info packs in seconds.
  strip --strip-debug -o "$stage/release/lanchat" "$binary"
  export CARGO_TARGET_DIR="$stage"
  # Without this it would land in the staging dir: keep it under target/debian.
  mkdir -p target/debian
  args+=(--output target/debian --fast)
elif ! $build && [[ ! -x target/release/lanchat ]]; then
  echo "package: no target/release/lanchat to package; build it or drop --no-build" >&2
  exit 1
fi

deb=$(cargo deb "${args[@]}" | tail -n 1)
echo "package: built $deb" >&2
echo "$deb"
