#!/usr/bin/env bash
# fuzz.sh SECONDS [TARGET...] - run each cargo-fuzz target for SECONDS (default: all of
# frame_decoder, beacon_parser, message_parser, ipmsg_packet, web_request, signed_datagram, noise_handshake,
# sealed_frames). Installs cargo-fuzz if missing. Uses a
# nightly toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1 (libFuzzer
# builds need a few -Z flags; nothing else is nightly-only). Pure parsers only: no
# sockets, nothing leaves the process.
#
# Seeds are kept in fuzz/seeds/TARGET (committed); the growing corpus in fuzz/corpus and
# any crash in fuzz/artifacts (both ignored by git). A crash fails the script: turn the
# input into a regression test (tests/fuzz_regressions.rs reads fuzz/seeds).
#
# CI:   scripts/fuzz.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

secs=${1:-}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(frame_decoder beacon_parser message_parser ipmsg_packet web_request signed_datagram noise_handshake sealed_frames); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
toolchain=()
if command -v rustup >/dev/null && rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

# Build all targets first, so the time limit is spent fuzzing.
cargo "${toolchain[@]}" fuzz build -O
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  echo "fuzz: $t for ${secs}s" >&2
  status=0
  cargo "${toolchain[@]}" fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ +DONE' "$log" >&2 || true
  if [[ $status -ne 0 ]]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t failed (exit $status); inputs in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no failure" >&2
