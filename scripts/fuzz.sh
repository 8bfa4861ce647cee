#!/usr/bin/env bash
# fuzz.sh SECONDS [TARGET...]       the short pass (CI): each target for SECONDS
# fuzz.sh --long [RUNS] [TARGET...] the long pass: each target for RUNS executions
#                                   (default 10 000 000), growing the kept corpus
# fuzz.sh --cmin [TARGET...]        minimise the kept corpus (cargo fuzz cmin)
#
# Targets (default: all): frame_decoder, beacon_parser, message_parser, ipmsg_packet,
# web_request, signed_datagram, noise_handshake, sealed_frames, folder_manifest. Pure
# parsers only: no sockets, nothing leaves the process. Installs cargo-fuzz if missing. Uses a nightly
# toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1 (libFuzzer builds
# need a few -Z flags; nothing else is nightly-only).
#
# Inputs:
# - fuzz/seeds/TARGET (committed): hand-made starting points and fixed findings;
#   tests/fuzz_regressions.rs runs them under plain `cargo test`.
# - fuzz/corpus/TARGET (committed): the kept corpus, what earlier long runs learnt,
#   minimised with --cmin. The short pass reads it and writes what it finds to a
#   temporary directory, so CI never changes the checkout; the long pass adds to it.
# - fuzz/artifacts/TARGET (ignored by git): a crash. It fails the script: fix it and add
#   the input to fuzz/seeds/TARGET as a regression.
#
# The long pass prints, per target, the executions, the corpus before and after, the
# coverage (`cov`) and features (`ft`) libFuzzer reached, and the time; then a table
# (the figures docs/BENCHMARKS.md records). It builds without AddressSanitizer (about
# twice the executions per second; the parsers have no `unsafe`: lanchat's only one is
# Windows' console calls), the short pass with it.
# It is meant to run in the background at low priority:
#   nice -n 19 scripts/fuzz.sh --long > target/fuzz-long.log 2>&1 &
#
# CI:   scripts/fuzz.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

all=(frame_decoder beacon_parser message_parser ipmsg_packet web_request signed_datagram
  noise_handshake sealed_frames folder_manifest)
mode=short
case ${1:-} in
--long)
  mode=long
  shift
  runs=10000000
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
  ;;
--cmin)
  mode=cmin
  shift
  ;;
*)
  secs=${1:-}
  [[ "$secs" =~ ^[0-9]+$ ]] || {
    echo "usage: $0 SECONDS [TARGET...] | --long [RUNS] [TARGET...] | --cmin [TARGET...]" >&2
    exit 2
  }
  shift
  ;;
esac
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${all[@]}"); fi

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
sanitizer=()
if [[ $mode != short ]]; then sanitizer=(-s none); fi

# Build all targets first, so the time limit is spent fuzzing; then run the binaries
# themselves (`cargo fuzz run` would build again, from whatever the tree holds by then).
cargo "${toolchain[@]}" fuzz build -O "${sanitizer[@]}"
bin=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/log

count() { find "$1" -type f 2>/dev/null | wc -l; }
size() { du -sk "$1" 2>/dev/null | cut -f1; }

if [[ $mode == cmin ]]; then
  for t in "${targets[@]}"; do
    before=$(count "fuzz/corpus/$t")
    cargo "${toolchain[@]}" fuzz cmin -O "${sanitizer[@]}" "$t" "fuzz/corpus/$t" \
      -- -rss_limit_mb=2048 >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
    echo "fuzz: $t corpus $before -> $(count "fuzz/corpus/$t") inputs, $(size "fuzz/corpus/$t") KiB" >&2
  done
  exit 0
fi

summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  status=0
  if [[ $mode == short ]]; then
    echo "fuzz: $t for ${secs}s" >&2
    mkdir -p "$work/$t"
    mkdir -p "fuzz/artifacts/$t"
    "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" "$work/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
      -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+\s+DONE' "$log" >&2 || true
  else
    before=$(count "fuzz/corpus/$t")
    echo "fuzz: $t for $runs runs (corpus: $before inputs)" >&2
    start=$(date +%s)
    mkdir -p "fuzz/artifacts/$t"
    "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" "fuzz/corpus/$t" "fuzz/seeds/$t" \
      -runs="$runs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    secs_taken=$(($(date +%s) - start))
    execs=$(grep -oP '^stat::number_of_executed_units:\s*\K[0-9]+' "$log" || echo 0)
    done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -n 1 || true)
    rate=$(grep -oP '^stat::average_exec_per_sec:\s*\K[0-9]+' "$log" || echo 0)
    cov=$(grep -oP 'cov: \K[0-9]+' <<<"$done_line" || echo '?')
    ft=$(grep -oP 'ft: \K[0-9]+' <<<"$done_line" || echo '?')
    after=$(count "fuzz/corpus/$t")
    line=$(printf '%-16s %12s execs %6ss %7s exec/s  cov %5s  ft %6s  corpus %5s -> %5s' \
      "$t" "$execs" "$secs_taken" "$rate" \
      "$cov" "$ft" "$before" "$after")
    echo "fuzz: $line" >&2
    summary+=("$line")
  fi
  if [[ $status -ne 0 ]]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t failed (exit $status); inputs in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
if [[ $mode == long ]]; then
  echo "fuzz: long pass done, no failure ($(date -u +%FT%TZ), $(rustc "${toolchain[@]}" --version))" >&2
  printf '  %s\n' "${summary[@]}" >&2
else
  echo "fuzz: ${#targets[@]} targets, ${secs}s each, no failure" >&2
fi
