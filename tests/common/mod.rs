//! Shared helpers: synthetic image sets and the location of the real data.
#![allow(dead_code)]

use std::path::PathBuf;

use trainer::data::ImageSet;

/// `count` synthetic `side x side` images: a bright bar whose position and width vary, on a dark
/// background with a gradient, so an autoencoder has something learnable.
pub fn synthetic(count: usize, side: usize, seed: u64) -> ImageSet {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut pixels = Vec::with_capacity(count * side * side);
    for _ in 0..count {
        let pos = (next() % side as u64) as usize;
        let width = 1 + (next() % 3) as usize;
        let vertical = next() % 2 == 0;
        for r in 0..side {
            for c in 0..side {
                let k = if vertical { c } else { r };
                let on = k >= pos && k < pos + width;
                pixels.push(if on { 230 } else { ((r + c) * 40 / side) as u8 });
            }
        }
    }
    ImageSet { pixels, count, rows: side, cols: side }
}

/// The shared data directory (`TINYAE_DATA`, else `../shared/data` beside the repository).
/// Returns `None` (and says so) when it is absent outside CI; in CI its absence is a failure.
pub fn data_dir(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("TINYAE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = base.join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing: CI needs the real data (set TINYAE_DATA)", dir.display());
    }
    eprintln!("skipped: {} not found (set TINYAE_DATA to run real-data tests)", dir.display());
    None
}
