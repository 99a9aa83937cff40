#!/usr/bin/env bash
# Installs what the checks need, on a fresh machine or a developer's: rustfmt and clippy, the two
# Cortex-M targets, and QEMU for the firmware runs. Safe to run again; does nothing that is done.
#
# Cortex-M targets come from `rustup target add`. Where rustup cannot fetch them, the fallback is
# Debian's Rust with its standard-library sources (rustc-web, cargo-web, rust-web-src) and lld-19,
# building `core` from source (`-Zbuild-std=core`); scripts/thumb.sh picks whichever is present.
set -euo pipefail

say() { printf '== setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || { say "no apt-get: install $* by hand"; return 1; }
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

targets=(thumbv6m-none-eabi thumbv7em-none-eabihf)
missing=()
for t in "${targets[@]}"; do
  rustc --print sysroot >/dev/null
  if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then missing+=("$t"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v rustup >/dev/null && rustup target add "${missing[@]}"; then
    say "installed targets ${missing[*]}"
  else
    say "rustup could not add ${missing[*]}: installing Debian's Rust with sources (build-std fallback)"
    apt_install rustc-web cargo-web rust-web-src lld-19
  fi
fi

if ! command -v qemu-system-arm >/dev/null; then
  say "installing qemu-system-arm"
  apt_install qemu-system-arm || say "could not install qemu-system-arm: firmware runs will fail"
fi
say "done"
