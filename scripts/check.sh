#!/usr/bin/env bash
# Every check tinyae has, in the order a failure is cheapest to read: formatting, lints, the host
# test suite (unit, integration, property, golden and data tests), the no_std builds for both
# Cortex-M targets, and the firmware under QEMU. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
step() { printf '\n== %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
# ae-core on its own, as a no_std user on x86-64 gets it (no `std`, so no AVX2 dispatch).
cargo clippy -p ae-core --lib -- -D warnings

step "MSRV: the workspace builds with the rust-version it declares"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
if command -v rustup >/dev/null && { rustup toolchain list | grep -q "^$msrv" ||
  rustup toolchain install "$msrv" --profile minimal; }; then
  cargo +"$msrv" check --workspace --all-targets
  # ae-core as firmware gets it, on both Cortex-M targets.
  rustup target add --toolchain "$msrv" thumbv6m-none-eabi thumbv7em-none-eabihf
  for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    cargo +"$msrv" check -p ae-core --release --target "$target"
  done
elif [ -n "${CI:-}" ]; then
  echo "cannot install Rust $msrv to check the declared rust-version" >&2
  exit 1
else
  echo "skipped: no rustup to install Rust $msrv (the declared rust-version)"
fi

step "cargo test --workspace"
# Real-data tests read ../shared/data next to the repository unless TINYAE_DATA points elsewhere.
cargo test --workspace

step "ae-core alone, as a no_std dependency gets it (no std feature, portable kernels), on the host"
cargo test -p ae-core

step "ae-core alone with std: its own tests run every instruction set this CPU has (AVX2, AVX-512 VNNI) against the portable kernels"
cargo test -p ae-core --features std

step "ae-core docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p ae-core --no-deps

step "ae-core as crates.io would get it (cargo publish --dry-run)"
# Packages ae-core alone (sources, FORMAT.md, golden files, README, licenses, changelog) and
# builds the package outside the workspace. Needs the crates.io index. --allow-dirty: the check is
# of the package, not of whether the work tree is committed.
cargo publish --dry-run -p ae-core --allow-dirty

step "ae-core for Cortex-M (no_std, no alloc)"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
  scripts/thumb.sh "$target" build -p ae-core --release
done

step "ae-core for Cortex-M: clippy on the assembly kernels' targets"
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf && (
  for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    scripts/thumb.sh "$target" clippy -p ae-core --release -- -D warnings
  done
)

step "firmware: clippy for every profile"
# (Lints need rustup's clippy; the Debian build-std fallback only builds.)
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf && (
  cd firmware-example
  cargo fmt -- --check
  for features in board-qemu-mps2 board-qemu-mps2,panic-check board-nrf52840; do
    ../scripts/thumb.sh thumbv7em-none-eabihf clippy --release --features "$features" -- -D warnings
  done
  for features in board-qemu-microbit board-qemu-microbit,panic-check; do
    ../scripts/thumb.sh thumbv6m-none-eabi clippy --release --features "$features" -- -D warnings
  done
)

step "firmware under QEMU"
firmware-example/run-qemu.sh all

step "your own images: picture folders, any model on both boards (README walk-through)"
scripts/own-images.sh

step "fuzz targets, 20 s each (needs a nightly toolchain with cargo-fuzz)"
# Long campaigns (10 million executions per target) are run by hand; see ae-core/fuzz and
# trainer/fuzz. New corpus entries go to a temporary directory, the committed seeds are read only.
if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo +nightly fuzz --version >/dev/null 2>&1; then
  fuzz_tmp=$(mktemp -d)
  for target in parse_model decode_code; do
    mkdir -p "$fuzz_tmp/$target"
    (cd ae-core && cargo +nightly fuzz run "$target" "$fuzz_tmp/$target" "fuzz/corpus/$target" -- -max_total_time=20 -rss_limit_mb=2048 2>&1 | tail -n 2)
  done
  for target in code_file idx picture; do
    mkdir -p "$fuzz_tmp/$target"
    (cd trainer && cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$fuzz_tmp/$target" "fuzz/corpus/$target" -- -max_total_time=20 -rss_limit_mb=2048 2>&1 | tail -n 2)
  done
  rm -rf "$fuzz_tmp"
else
  echo "skipped: no nightly toolchain with cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz)"
fi
step "all checks passed"
