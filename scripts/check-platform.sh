#!/usr/bin/env bash
# What differs by operating system lives in src/platform/ (issue 18): this fails if
# anything else in src/ names libc, rustix, std::os::unix/windows, /proc or a hard-coded
# system path, and if the Linux-only crates reach the Windows or macOS dependency graphs.
#
# Allowed elsewhere, and why:
# - src/desktop/ and src/ui/ may test target_os (not checked here): their crates (zbus,
#   ashpd, ksni, the portal picker) exist on Linux only, so the cfg sits on the `mod`.
# - The benchmark (src/bin/lanchat-bench/) reads /proc in procfs.rs (cpu, memory,
#   wake-ups: Linux only, absent elsewhere is an error the bench reports) and in
#   discovery.rs (the network-namespace LAN benchmark, which needs Linux namespaces).
# - Tests (any *tests.rs, tests/) may name std::os::unix under #[cfg(unix)] and use
#   "/usr/..." as data (an autostart entry's program), and read /proc only where it
#   exists (tests/wire threads_named returns None elsewhere).
# - String literals of hostile paths ("../../etc/passwd") are inputs, not system paths:
#   the pattern only matches a literal that starts at the root.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
pattern='libc::|rustix::|std::os::(unix|windows)|"/(proc|sys|etc|usr|var|dev|Library|System)/'
hits=$(grep -rnE "$pattern" src --include='*.rs' \
    | grep -vE '^src/platform/' \
    | grep -vE '^src/bin/lanchat-bench/(procfs|discovery)\.rs:' \
    | grep -vE '^src/[^:]*tests\.rs:[0-9]+:.*(std::os::unix|"/usr/)' || true)
if [[ -n "$hits" ]]; then
    echo "platform code outside src/platform/ (move it behind a function there):" >&2
    echo "$hits" >&2
    fail=1
fi
hits=$(grep -rnE '"/proc' tests --include='*.rs' | grep -vE '^tests/wire/mod\.rs:' || true)
if [[ -n "$hits" ]]; then
    echo "tests reading /proc outside tests/wire/mod.rs (which skips where it is absent):" >&2
    echo "$hits" >&2
    fail=1
fi

# The dependency graphs of the other systems: crates are resolved from Cargo.lock, no
# target standard library is needed. rustix is a sound crate on macOS (fs4 and
# gethostname use it there), so there only lanchat's own direct use of it is refused.
graph() { cargo tree --locked --target "$1" -e normal,build --prefix none "${@:2}" \
    | sed -E 's/ .*//' | sort -u; }
for target in x86_64-pc-windows-msvc aarch64-apple-darwin; do
    linux_only='^(zbus|ashpd|ksni)$'
    [[ $target == *windows* ]] && linux_only='^(zbus|ashpd|ksni|rustix)$'
    found=$(graph "$target" | grep -E "$linux_only" || true)
    direct=$(graph "$target" --depth 1 | grep -E '^rustix$' || true)
    if [[ -n "$found$direct" ]]; then
        echo "Linux-only crates in the $target graph: $found $direct" >&2
        fail=1
    fi
done
exit "$fail"
