#!/usr/bin/env bash
# Sets up a fresh Debian machine and starts the lanchat window on your LAN.
#   scripts/run.sh                   the window, announcing on every LAN interface
#   scripts/run.sh --headless ...    any lanchat option works (see --help)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo run --release --locked -- "$@"
