#!/usr/bin/env bash
# Builds the firmware profiles and runs them under QEMU, each bounded in time; fails if any run
# fails (a mismatch with the host's outputs exits non-zero) or if a panic-check build fails to link.
#   firmware-example/run-qemu.sh [all|m4|m0|check|selftest]
# `selftest` builds the M4 profile with one expected pixel flipped and requires the run to FAIL:
# proof that a mismatch travels through the firmware, QEMU's exit code and this script.
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-all}
thumb=../scripts/thumb.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
size_tool=$(ls -d "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size 2>/dev/null | head -n1 || true)

run() { # run NAME TARGET FEATURES
  local name=$1 target=$2 features=$3
  echo "-- $name: $target, features $features"
  "$thumb" "$target" build --release --features "$features"
  local elf="target/$target/release/firmware-example"
  if [ -n "$size_tool" ]; then "$size_tool" -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit|Total)' || true; fi
  # The runner (qemu-system-arm ... -icount shift=0 -semihosting) comes from .cargo/config.toml;
  # timeout bounds a hung run. All of QEMU's output is read (never piped into head).
  timeout 300 "$thumb" "$target" run --release --features "$features"
}

case "$what" in
  all|m4) run "Cortex-M4F (QEMU mps2-an386)" thumbv7em-none-eabihf board-qemu-mps2 ;;&
  all|m0) run "Cortex-M0 (QEMU micro:bit)" thumbv6m-none-eabi board-qemu-microbit ;;&
  all|check)
    run "Cortex-M4F panic-free build" thumbv7em-none-eabihf board-qemu-mps2,panic-check
    run "Cortex-M0 panic-free build" thumbv6m-none-eabi board-qemu-microbit,panic-check ;;
  m4|m0) ;;
esac
case "$what" in
  all|selftest)
    echo "-- self-test: Cortex-M4F with one expected pixel flipped; the run must fail on it"
    features=board-qemu-mps2,corrupt-expectation
    "$thumb" thumbv7em-none-eabihf build --release --features "$features"
    log=$(mktemp)
    if timeout 300 "$thumb" thumbv7em-none-eabihf run --release --features "$features" >"$log" 2>&1; then
      cat "$log"; rm -f "$log"
      echo "-- self-test FAILED: the run passed although an expected pixel was wrong" >&2
      exit 1
    fi
    if ! grep -q "MISMATCH with the host" "$log"; then
      cat "$log"; rm -f "$log"
      echo "-- self-test FAILED: the run failed, but not on the planted mismatch" >&2
      exit 1
    fi
    rm -f "$log"
    echo "-- self-test passed: the planted mismatch failed the run" ;;
esac
case "$what" in
  all)
    # Real-board profile (defmt over RTT, DWT cycles): built here, run with `cargo nrf52840` on a board.
    echo "-- nRF52840-DK build (not run: needs a board and probe-rs)"
    "$thumb" thumbv7em-none-eabihf build --release --features board-nrf52840 ;;
  m4|m0|check|selftest) ;;
  *) echo "usage: $0 [all|m4|m0|check|selftest]" >&2; exit 2 ;;
esac
echo "-- firmware: all runs passed"
