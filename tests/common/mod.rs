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
    let set = ImageSet::new(pixels, side, side).unwrap();
    assert_eq!(set.count(), count);
    set
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
        panic!(
            "{} is missing: CI needs the real data (set TINYAE_DATA)",
            dir.display()
        );
    }
    eprintln!(
        "skipped: {} not found (set TINYAE_DATA to run real-data tests)",
        dir.display()
    );
    None
}

/// Max and mean absolute difference, in grey levels, between the float model's 8-bit output and
/// the int8 model's, over `set`.
pub fn float_vs_int8(
    float: &ae_core::format::ModelRef<'_>,
    int8: &ae_core::format::ModelRef<'_>,
    set: &trainer::data::ImageSet,
) -> (u8, f64) {
    use ae_core::format::ModelRef;
    let (ModelRef::Float(f), ModelRef::Int8(q)) = (float, int8) else {
        panic!("need float and int8")
    };
    let (input, latent) = f.dims().as_usize();
    let (mut max, mut sum) = (0u8, 0u64);
    for img in set.images() {
        let x: Vec<f32> = img.iter().map(|&p| ae_core::pixels::to_unit(p)).collect();
        let mut h = vec![0.0; latent];
        let mut y = vec![0.0; input];
        f.encode(&x, &mut h).unwrap();
        f.decode(&h, &mut y).unwrap();
        let mut code = vec![0u8; latent];
        let mut out = vec![0u8; input];
        q.encode(img, &mut code).unwrap();
        q.decode(&code, &mut vec![0; latent], &mut out).unwrap();
        for (&a, &b) in y.iter().zip(&out) {
            let d = ae_core::pixels::from_unit(a).abs_diff(b);
            max = max.max(d);
            sum += u64::from(d);
        }
    }
    (max, sum as f64 / (set.count() * input) as f64)
}

/// The `ae` binary's command line, compiled into this test crate from the binary's own sources:
/// the `trainer` library does not (and cannot) export it, and running it in-process keeps these
/// tests fast and their failures typed.
#[path = "../../trainer/src/bin/ae/cli/mod.rs"]
pub mod cli;

/// Runs an `ae` command line in-process (the same code path as the binary) and returns its result.
pub fn ae_run(args: &[&str]) -> Result<(), cli::CliError> {
    use clap::Parser;
    let cli = cli::Cli::try_parse_from(std::iter::once("ae").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("bad test command line {args:?}: {e}"));
    cli::run(
        cli,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
}

/// Parses an `ae` command line only: `Err` when clap refuses it.
pub fn ae_run_args(args: &[&str]) -> Result<cli::Cli, clap::Error> {
    use clap::Parser;
    cli::Cli::try_parse_from(std::iter::once("ae").chain(args.iter().copied()))
}

/// [`ae_run`], which must succeed.
pub fn ae(args: &[&str]) {
    ae_run(args).unwrap();
}

/// [`ae_run`], which must fail; returns the error message.
pub fn ae_err(args: &[&str]) -> String {
    ae_run(args).unwrap_err().to_string()
}
