#!/usr/bin/env bash
# `scripts/thumb.sh TARGET CARGO-ARGS...`: runs cargo for a Cortex-M target with whichever toolchain
# scripts/setup.sh made available: rustup's prebuilt target, or Debian's Rust building `core` from
# source (RUSTC_BOOTSTRAP=1 -Zbuild-std=core, linked by ld.lld-19).
set -euo pipefail
target=$1; shift
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  exec cargo "$@" --target "$target"
elif [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_THUMBV6M_NONE_EABI_LINKER=ld.lld-19 CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER=ld.lld-19
  exec /usr/bin/cargo "$@" --target "$target" -Zbuild-std=core
else
  echo "error: no toolchain for $target: run scripts/setup.sh" >&2
  exit 1
fi
