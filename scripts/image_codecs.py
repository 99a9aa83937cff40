#!/usr/bin/env python3
"""JPEG and WebP (Pillow) at their lowest qualities on an IDX test set, for the rate-distortion
table: prints TSV rows `data codec setting bytes_per_image psnr_db`, the PSNR over all pixels of
all images (as `ae eval` computes it). Needs Pillow (`pip install pillow`)."""
import gzip
import io
import math
import struct
import sys

from PIL import Image


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x803:
        raise SystemExit(f"{path}: not an IDX image file")
    size = rows * cols
    return [data[16 + i * size : 16 + (i + 1) * size] for i in range(count)], rows, cols


def main():
    path, name = sys.argv[1], sys.argv[2]
    images, rows, cols = read_idx(path)
    settings = [("jpeg", "quality 1", dict(format="JPEG", quality=1, optimize=True)),
                ("jpeg", "quality 10", dict(format="JPEG", quality=10, optimize=True)),
                ("webp", "quality 0", dict(format="WEBP", quality=0)),
                ("webp", "quality 10", dict(format="WEBP", quality=10)),
                ("webp", "lossless", dict(format="WEBP", lossless=True))]
    for codec, setting, options in settings:
        total, se, pixels = 0, 0.0, 0
        for raw in images:
            buf = io.BytesIO()
            Image.frombytes("L", (cols, rows), raw).save(buf, **options)
            total += buf.tell()
            back = Image.open(io.BytesIO(buf.getvalue())).convert("L").tobytes()
            se += sum((a - b) ** 2 for a, b in zip(raw, back))
            pixels += len(raw)
        mse = se / (255.0 * 255.0 * pixels)
        psnr = "inf" if mse == 0 else f"{10 * math.log10(1 / mse):.2f}"
        print(f"{name}\t{codec}\t{setting}\t{total / len(images):.2f}\t{psnr}")


if __name__ == "__main__":
    main()
