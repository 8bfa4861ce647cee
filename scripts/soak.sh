#!/usr/bin/env bash
# soak.sh [MINUTES]   (default 30; not part of CI)
#
# Issue 16's soak: a sender and a receiver (`lanchat --headless` children on loopback)
# whose link goes through a proxy that cuts it at random, while in turns the sender is
# killed with SIGKILL and restarted, the receiver likewise, and the receiver's disk (a
# 64 MiB tmpfs, as root; left out otherwise) fills up and is freed. It fails on any lost,
# repeated or reordered message, and prints how long each fault took to heal (from the
# fault's end until everything promised is delivered). Figures: docs/BENCHMARKS.md.
# Replay a run with LANCHAT_FAULT_SEED=N (printed at the start).
# Nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export LANCHAT_SOAK_MINUTES=${1:-30}
# Each child's log (info level), for a failure's story.
export LANCHAT_CHILD_LOGS=${LANCHAT_CHILD_LOGS:-$PWD/target/soak-logs}
export LANCHAT_CHILD_RUST_LOG=${LANCHAT_CHILD_RUST_LOG:-lanchat=info}
rm -rf "$LANCHAT_CHILD_LOGS" && mkdir -p "$LANCHAT_CHILD_LOGS"
exec cargo test --release --no-default-features --test faults soak -- --ignored --nocapture
