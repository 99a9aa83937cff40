#!/usr/bin/env bash
# The rate-distortion table of the README: tinyae models of several latent sizes, exported to
# int8 with their entropy models, coded at several quantization steps; PCA at several component
# counts; JPEG and WebP (Pillow, lowest qualities) on the same test images. One TSV row per point:
#   data  codec  setting  bytes_per_image  psnr_db
# bytes_per_image is the code file's size divided by the image count (every per-image overhead,
# and the file header, included) for tinyae; the encoded size per image for JPEG/WebP; the
# component count for PCA (8-bit coefficients).
#   scripts/rate-distortion.sh [DATA_ROOT] [OUT_DIR]     (defaults: ../shared/data, runs/rd)
# Takes about 10 minutes on a 2-core machine (Fashion-MNIST training dominates).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-../shared/data}
out=${2:-runs/rd}
mkdir -p "$out"
cargo build --release -p trainer -q
ae=target/release/ae
table="$out/rate-distortion.tsv"
printf 'data\tcodec\tsetting\tbytes_per_image\tpsnr_db\n' > "$table"
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

for data in mnist-subset fashion-mnist; do
  dir="$root/$data"
  test_images=$(ls "$dir"/t10k-images-idx3-ubyte*)
  for latent in 32 64 128; do
    float="$out/$data-l$latent.tnae" int8="$out/$data-l$latent-int8.tnae"
    [ -f "$float" ] || "$ae" -q train --data "$dir" --latent "$latent" --seed 1 --out "$float" --force
    [ -f "$int8" ] || "$ae" -q export --model "$float" --int8 --data "$dir" --out "$int8" --force >/dev/null
    for step in 1 2 3 4 6 8 12 16; do
      stats=$("$ae" compress --model "$int8" "$test_images" -o "$out/codes.tnac" --force --step "$step" --stats --json)
      printf '%s\ttinyae-l%s\tstep %s\t%.2f\t%.2f\n' "$data" "$latent" "$step" \
        "$(json_field file_bytes_per_image <<<"$stats")" "$(json_field psnr_db <<<"$stats")" >> "$table"
    done
  done
  for k in 16 32 64 100; do
    psnr=$("$ae" -q pca --data "$dir" --components "$k" | grep -oE '[0-9.]+ dB' | tail -n1 | cut -d' ' -f1)
    printf '%s\tpca\t%s components\t%s\t%s\n' "$data" "$k" "$k" "$psnr" >> "$table"
  done
  python3 scripts/image_codecs.py "$test_images" "$data" >> "$table"
done
column -t -s $'\t' "$table"
