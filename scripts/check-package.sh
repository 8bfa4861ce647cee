#!/usr/bin/env bash
# What CI checks of the Debian package, without containers:
#  1. builds it (scripts/package.sh), or packages a binary already built;
#  2. its control fields: name, version = Cargo.toml's, section, Depends naming every
#     library the binary opens at run time;
#  3. its contents: the binary, the desktop entry, the SVG and each PNG size (with its
#     real dimensions), the copyright file;
#  4. the desktop entry passes desktop-file-validate, and the committed icons match
#     their SVG (scripts/icons.sh --check);
#  5. apt can resolve its Depends (simulated), and it installs into a throw-away root (dpkg -x into a temp dir) and runs the installed
#     `lanchat --version`.
#   scripts/check-package.sh                   release build + package + checks
#   scripts/check-package.sh --no-build        package target/release/lanchat as it is
#   scripts/check-package.sh --binary FILE     package FILE (CI: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

need=()
command -v desktop-file-validate >/dev/null 2>&1 || need+=(desktop-file-utils)
command -v rsvg-convert >/dev/null 2>&1 || need+=(librsvg2-bin)
command -v strip >/dev/null 2>&1 || need+=(binutils)
if ((${#need[@]})); then
  sudo=""; if [[ $EUID -ne 0 ]]; then sudo="sudo"; fi
  echo "check-package: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
ok() { echo "check-package: ok: $*" >&2; }

deb=$(scripts/package.sh "$@" | tail -n 1)
[[ -f "$deb" ]] || fail "no package built"
ok "built $deb ($(du -h "$deb" | cut -f1))"

# 2. Control fields.
field() { dpkg-deb --field "$deb" "$1"; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[[ "$(field Package)" == lanchat ]] || fail "Package is $(field Package)"
[[ "$(field Version)" == "$version"-* ]] || fail "Version $(field Version) is not Cargo's $version"
[[ "$(field Section)" == net ]] || fail "Section is $(field Section)"
[[ -n "$(field Description)" ]] || fail "no Description"
depends=$(field Depends)
grep -q 'libc6' <<<"$depends" || fail "Depends lacks the linked libc6 (\$auto): $depends"
# Every library the window may dlopen, by the name the binary carries, and its package.
declare -A provider=(
  [libX11.so.6]=libx11-6 [libX11-xcb.so.1]=libx11-xcb1 [libxcb.so.1]=libxcb1
  [libXcursor.so.1]=libxcursor1 [libXi.so.6]=libxi6 [libXrender.so.1]=libxrender1
  [libXrandr.so.2]=libxrandr2 [libxkbcommon.so.0]=libxkbcommon0
  [libxkbcommon-x11.so.0]=libxkbcommon-x11-0 [libGL.so.1]=libgl1 [libEGL.so.1]=libegl1
  [libwayland-client.so.0]=libwayland-client0 [libwayland-egl.so.1]=libwayland-egl1
  [libwayland-cursor.so.0]=libwayland-cursor0
)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
bin="$root/usr/bin/lanchat"
linked=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for so in $(strings "$bin" | grep -oE '^lib[A-Za-z0-9_+-]+\.so\.[0-9]+$' | sort -u); do
  grep -qx "$so" <<<"$linked" && continue # linked: $auto covers it
  pkg=${provider[$so]:-}
  [[ -n "$pkg" ]] || fail "the binary opens $so at run time: add its package to depends in Cargo.toml and to this table"
  grep -qw "$pkg" <<<"$depends" || fail "the binary opens $so but Depends lacks $pkg"
done
ok "control: lanchat $(field Version), section net, Depends: $depends"

# 3. Contents.
listing=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
expect=(
  ./usr/bin/lanchat
  ./usr/share/applications/lanchat.desktop
  ./usr/share/icons/hicolor/scalable/apps/lanchat.svg
  ./usr/share/doc/lanchat/copyright
)
for s in 16 22 24 32 48 64 128 256 512; do
  expect+=("./usr/share/icons/hicolor/${s}x${s}/apps/lanchat.png")
done
for f in "${expect[@]}"; do
  grep -qx "$f" <<<"$listing" || fail "$f is not in the package"
done
[[ -x "$bin" ]] || fail "usr/bin/lanchat is not executable"
png_size() { # width x height from the PNG header
  printf '%dx%d' "0x$(od -An -tx1 -j16 -N4 "$1" | tr -d ' \n')" "0x$(od -An -tx1 -j20 -N4 "$1" | tr -d ' \n')"
}
for s in 16 22 24 32 48 64 128 256 512; do
  f="$root/usr/share/icons/hicolor/${s}x${s}/apps/lanchat.png"
  [[ "$(png_size "$f")" == "${s}x${s}" ]] || fail "$f is $(png_size "$f"), not ${s}x${s}"
done
ok "contents: binary, desktop entry, icon (SVG + 9 PNG sizes), copyright"

# 4. The desktop entry and the icons' freshness.
desktop-file-validate "$root/usr/share/applications/lanchat.desktop" || fail "desktop entry invalid"
grep -qx 'Exec=lanchat' "$root/usr/share/applications/lanchat.desktop" || fail "Exec is not lanchat"
grep -qx 'Icon=lanchat' "$root/usr/share/applications/lanchat.desktop" || fail "Icon is not lanchat"
ok "desktop entry valid"
scripts/icons.sh --check

# apt resolves its Depends on this Debian (what `apt install ./lanchat_…deb` does first).
apt-get install --simulate --no-install-recommends "$(realpath "$deb")" >/dev/null \
  || fail "apt cannot resolve the package's Depends here"
ok "apt install ./$(basename "$deb") resolves (simulated)"

# 5. The installed binary runs.
out=$("$bin" --version) || fail "the installed lanchat --version failed"
[[ "$out" == "lanchat $version" ]] || fail "lanchat --version said '$out'"
ok "installed into a throw-away root; usr/bin/lanchat --version: $out"
echo "check-package: all checks passed for $deb" >&2
