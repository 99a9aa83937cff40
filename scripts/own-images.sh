#!/usr/bin/env bash
# The README's "your own images" walk-through, run as a test: a folder of 16x16 PNG pictures
# (here made from Fashion-MNIST, shrunk), trained with --latent 16, exported to int8 (calibrated on
# the recorded training data, no --data needed), pictures compressed and decompressed, and the
# firmware built with that model and those pictures, run under QEMU on both boards, every code
# and pixel checked against the host.
#   scripts/own-images.sh [RUN_DIR]        (default runs/own; data from $TINYAE_DATA or ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/own}
data=${TINYAE_DATA:-../shared/data}/fashion-mnist
pictures="$run/pictures"
ae() { cargo run -q --release -p trainer -- "$@"; }

echo "== a picture folder: $pictures/train and $pictures/test, 16x16 PNGs"
rm -rf "$pictures"
cargo run -q --release -p trainer --example picture_folder -- "$data" "$pictures" 16 3000 200

echo "== train, export (calibrated on the recorded training pictures), summary"
ae -q train --data "$pictures" --latent 16 --epochs 10 --out "$run/model.tnae" --force
ae export --model "$run/model.tnae" --int8 --out "$run/model-int8.tnae" --force
ae summary --model "$run/model-int8.tnae" | grep -F "Image shape: 16 x 16"

echo "== compress and decompress pictures"
ae compress --model "$run/model-int8.tnae" "$pictures"/test/*.png -o "$run/test.tnac" --force --stats
ae decompress --model "$run/model-int8.tnae" "$run/test.tnac" -o "$run/test-back.idx" --force
ae compress --model "$run/model-int8.tnae" "$pictures/test/00000.png" -o "$run/one.tnac" --force --max-bytes 12
ae decompress --model "$run/model-int8.tnae" "$run/one.tnac" -o "$run/one-back.png" --force

echo "== the firmware with this model and these pictures, on both boards"
export TINYAE_MODEL="$run/model-int8.tnae" TINYAE_IMAGES="$pictures/test"
firmware-example/run-qemu.sh m4
firmware-example/run-qemu.sh m0

echo "== a model too big for the micro:bit fails its build, saying by how much"
ae -q train --data "$data" --latent 200 --epochs 1 --out "$run/big.tnae" --force
ae -q export --model "$run/big.tnae" --int8 --out "$run/big-int8.tnae" --force >/dev/null
log="$run/big-build.log"
if (cd firmware-example && TINYAE_MODEL="$run/big-int8.tnae" TINYAE_IMAGES="$data/t10k-images-idx3-ubyte.gz" \
    ../scripts/thumb.sh thumbv6m-none-eabi build --release --features board-qemu-microbit) >"$log" 2>&1; then
  echo "a 784 -> 200 model built for the micro:bit although it cannot fit its flash" >&2
  exit 1
fi
grep -E "bytes too many" "$log"
echo "== own images: all steps passed"
