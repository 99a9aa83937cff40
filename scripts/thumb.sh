#!/usr/bin/env bash
# `scripts/thumb.sh TARGET CARGO-ARGS... [-- TOOL-ARGS...]`: runs cargo for a Cortex-M target with
# whichever toolchain scripts/setup.sh made available: rustup's prebuilt target, or Debian's Rust
# building `core` from source (RUSTC_BOOTSTRAP=1 -Zbuild-std=core, linked by ld.lld-19).
# `--target` is inserted before any `--`, so arguments after it still reach the tool.
set -euo pipefail
target=$1; shift
cargo_args=(); tool_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then tool_args=("$@"); break; fi
  cargo_args+=("$1"); shift
done
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  exec cargo "${cargo_args[@]}" --target "$target" "${tool_args[@]}"
elif [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_THUMBV6M_NONE_EABI_LINKER=ld.lld-19 CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER=ld.lld-19
  exec /usr/bin/cargo "${cargo_args[@]}" --target "$target" -Zbuild-std=core "${tool_args[@]}"
else
  echo "error: no toolchain for $target: run scripts/setup.sh" >&2
  exit 1
fi
