//! `ae report`: everything the notebook shows, as files — the loss curve, original vs.
//! reconstruction for random training and test images, denoising, and a `report.md` with the
//! numbers. Reconstructions run through ae-core, so an int8 model's figures show the integer path.
//!
//! The library writes the files and returns the numbers; reading the command line, finding the
//! history and printing belong to the `ae` binary, so this module knows nothing of flags.

pub mod figures;

use std::fmt::Write as _;
use std::path::Path;

use ae_core::format::ModelRef;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

use crate::data::{ImageSet, Splits};
use crate::error::{Error, Result, Setting};
use crate::eval::{self, psnr, reconstruct, squared_error_u8, squared_error_unit, Metrics};
use crate::model::ModelBytes;
use crate::train::history::History;
use figures::{Grid, Tile};

/// Standard deviation of the denoising figure's Gaussian noise unless told otherwise.
pub const DEFAULT_NOISE: f32 = 0.3;

/// What to draw.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Images per figure.
    pub n: usize,
    /// Seed for the image choice and the noise.
    pub seed: u64,
    /// Noise standard deviation (pixels in `[0, 1]`).
    pub noise: f32,
}

impl Default for ReportOptions {
    /// The notebook's figures: four images each, seed 1, noise [`DEFAULT_NOISE`].
    fn default() -> Self {
        ReportOptions {
            n: 4,
            seed: 1,
            noise: DEFAULT_NOISE,
        }
    }
}

/// The numbers in the report (also written as `report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `float` or `int8`.
    pub kind: String,
    /// Test-split metrics.
    pub test: Metrics,
    /// Bytes per image.
    pub image_bytes: usize,
    /// Code bytes per image (8 bits per latent value).
    pub code_bytes: usize,
    /// PSNR with the code stored at 8 bits per value.
    pub psnr_at_code_size_db: f64,
    /// PSNR of the noisy test images against the originals.
    pub noisy_psnr_db: f64,
    /// PSNR of the reconstructions of noisy test images against the originals.
    pub denoised_psnr_db: f64,
    /// Training images shown.
    pub train_indices: Vec<usize>,
    /// Test images shown.
    pub test_indices: Vec<usize>,
}

/// `x + sigma * N(0, 1)` per pixel, clipped to `[0, 1]`, back to 8 bits.
pub fn add_noise(image: &[u8], sigma: f32, rng: &mut impl Rng) -> Vec<u8> {
    image
        .iter()
        .map(|&p| {
            let n: f32 = rng.sample(StandardNormal);
            ae_core::pixels::from_unit((ae_core::pixels::to_unit(p) + sigma * n).clamp(0.0, 1.0))
        })
        .collect()
}

/// The tile showing source image `i` as it is.
fn original_tile(i: usize, img: &[u8]) -> Tile {
    Tile {
        pixels: img.to_vec(),
        caption: format!("original #{i}"),
    }
}

fn image_psnr(a: &[u8], b: &[u8]) -> f64 {
    psnr(squared_error_u8(a, b) / (255.0 * 255.0 * a.len() as f64))
}

fn reconstruct_u8(model: &ModelRef<'_>, image: &[u8]) -> Result<Vec<u8>> {
    let mut y = vec![0.0f32; image.len()];
    reconstruct(model, image, &mut y)?;
    Ok(y.iter().map(|&v| ae_core::pixels::from_unit(v)).collect())
}

/// PSNR over `set` when the float model's code is stored at 8 bits per value, quantized exactly as
/// the int8 export quantizes it ([`crate::quantize::LatentRange::quant`], calibrated on
/// `calibration`); an int8 model's code already is.
fn psnr_at_code_size(
    model: &ModelRef<'_>,
    calibration: &ImageSet,
    set: &ImageSet,
    metrics: &Metrics,
) -> Result<f64> {
    let ModelRef::Float(f) = model else {
        return Ok(metrics.psnr_db);
    };
    let quant = crate::quantize::calibrate(f, calibration)?.quant();
    let (input, latent) = f.dims().as_usize();
    let (mut x, mut h, mut y) = (
        vec![0.0f32; input],
        vec![0.0f32; latent],
        vec![0.0f32; input],
    );
    let mut se = 0.0f64;
    for img in set.images() {
        ae_core::pixels::to_unit_slice(img, &mut x);
        f.encode(&x, &mut h)
            .map_err(|source| Error::ModelRun { source })?;
        for v in &mut h {
            *v = quant.round_trip(*v);
        }
        f.decode(&h, &mut y)
            .map_err(|source| Error::ModelRun { source })?;
        se += squared_error_unit(&y, &x);
    }
    if !se.is_finite() {
        return Err(Error::NonFinite { what: "output" });
    }
    Ok(psnr(se / (set.count() * input) as f64))
}

/// Writes every figure and `report.md` into `out`; returns the numbers.
pub fn write_report(
    model_bytes: &ModelBytes,
    model_path: &Path,
    history: Option<&History>,
    splits: &Splits,
    out: &Path,
    opts: &ReportOptions,
) -> Result<Summary> {
    let model = model_bytes.parse(model_path)?;
    eval::check_fits(&model, &splits.test)?;
    if opts.n == 0 || opts.n > splits.train.count().min(splits.test.count()) {
        return Err(Error::InvalidSetting {
            setting: Setting::FigureImages,
            value: opts.n.to_string(),
            expected: "between 1 and the number of images",
        });
    }
    if !(opts.noise.is_finite() && opts.noise >= 0.0) {
        return Err(Error::InvalidSetting {
            setting: Setting::Noise,
            value: opts.noise.to_string(),
            expected: "a non-negative number",
        });
    }
    crate::fsio::check_output_dir(out)?;
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let kind = model.kind().to_string();
    let (rows, cols) = (splits.test.rows(), splits.test.cols());
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let train_indices = sample(&mut rng, splits.train.count(), opts.n).into_vec();
    let test_indices = sample(&mut rng, splits.test.count(), opts.n).into_vec();

    let grid2 = Grid {
        rows: 2,
        cols: opts.n,
        h: rows,
        w: cols,
    };
    for (name, set, indices) in [
        ("train", &splits.train, &train_indices),
        ("test", &splits.test, &test_indices),
    ] {
        let mut originals = Vec::new();
        let mut recons = Vec::new();
        for &i in indices {
            let img = set.image(i);
            let rec = reconstruct_u8(&model, img)?;
            originals.push(original_tile(i, img));
            recons.push(Tile {
                caption: format!("{:.1} dB", image_psnr(img, &rec)),
                pixels: rec,
            });
        }
        originals.extend(recons);
        let title = format!("{name} images: original (top) and {kind} reconstruction (bottom)");
        figures::image_grid(&out.join(format!("{name}.png")), &title, grid2, &originals)?;
    }

    // Denoising: the figure's images, then the whole test split for the numbers.
    let grid3 = Grid {
        rows: 3,
        cols: opts.n,
        h: rows,
        w: cols,
    };
    let mut tiles: Vec<Tile> = Vec::new();
    let mut noisy_row = Vec::new();
    let mut rec_row = Vec::new();
    for &i in &test_indices {
        let img = splits.test.image(i);
        let noisy = add_noise(img, opts.noise, &mut rng);
        let rec = reconstruct_u8(&model, &noisy)?;
        tiles.push(original_tile(i, img));
        noisy_row.push(Tile {
            caption: format!("noisy {:.1} dB", image_psnr(img, &noisy)),
            pixels: noisy,
        });
        rec_row.push(Tile {
            caption: format!("denoised {:.1} dB", image_psnr(img, &rec)),
            pixels: rec,
        });
    }
    tiles.extend(noisy_row);
    tiles.extend(rec_row);
    let title = format!(
        "denoising (noise {}): original, noisy, {kind} reconstruction",
        opts.noise
    );
    figures::image_grid(&out.join("denoise.png"), &title, grid3, &tiles)?;
    let (mut se_noisy, mut se_rec) = (0.0f64, 0.0f64);
    let mut noise_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x006E_6F69_7365);
    for img in splits.test.images() {
        let noisy = add_noise(img, opts.noise, &mut noise_rng);
        let rec = reconstruct_u8(&model, &noisy)?;
        se_noisy += squared_error_u8(img, &noisy);
        se_rec += squared_error_u8(img, &rec);
    }
    let denom = 255.0 * 255.0 * (splits.test.count() * splits.test.image_len()) as f64;

    if let Some(h) = history {
        figures::loss_curve(&out.join("history.png"), &h.epochs)?;
    }
    let test = eval::evaluate(&model, &splits.test)?;
    let (input, latent) = model.dims().as_usize();
    let summary = Summary {
        kind,
        test,
        image_bytes: input,
        code_bytes: latent,
        psnr_at_code_size_db: psnr_at_code_size(&model, &splits.train, &splits.test, &test)?,
        noisy_psnr_db: psnr(se_noisy / denom),
        denoised_psnr_db: psnr(se_rec / denom),
        train_indices,
        test_indices,
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| Error::Json {
        what: "the report's numbers",
        source,
    })?;
    crate::fsio::write_atomic(&out.join("report.json"), &json)?;
    crate::fsio::write_atomic(
        &out.join("report.md"),
        markdown(&summary, model_path, history, opts).as_bytes(),
    )?;
    Ok(summary)
}

fn markdown(s: &Summary, model: &Path, history: Option<&History>, opts: &ReportOptions) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# tinyae report: `{}` ({})\n", model.display(), s.kind);
    let _ = writeln!(md, "| figure | value |\n| --- | --- |");
    let _ = writeln!(md, "| test images | {} |", s.test.images);
    let _ = writeln!(md, "| test BCE | {:.4} |", s.test.bce);
    let _ = writeln!(md, "| test MSE | {:.5} |", s.test.mse);
    let _ = writeln!(md, "| test PSNR | {:.2} dB |", s.test.psnr_db);
    let _ = writeln!(
        md,
        "| mean per-image PSNR | {:.2} dB |",
        s.test.mean_image_psnr_db
    );
    let _ = writeln!(
        md,
        "| compression | {} bytes -> {} bytes of 8-bit code ({:.2}:1) |",
        s.image_bytes,
        s.code_bytes,
        s.image_bytes as f64 / s.code_bytes as f64
    );
    let _ = writeln!(
        md,
        "| PSNR at {} bytes per image | {:.2} dB |",
        s.code_bytes, s.psnr_at_code_size_db
    );
    let _ = writeln!(
        md,
        "| denoising (noise {}): noisy input | {:.2} dB |",
        opts.noise, s.noisy_psnr_db
    );
    let _ = writeln!(
        md,
        "| denoising: reconstruction | {:.2} dB |",
        s.denoised_psnr_db
    );
    if let Some(h) = history {
        let _ = writeln!(
            md,
            "\n## Training history\n\n![loss per epoch](history.png)\n"
        );
        if let Some(last) = h.epochs.last() {
            let _ = writeln!(
                md,
                "{} epochs on {} images; final loss {:.4}.",
                last.epoch, h.train_images, last.loss
            );
        }
    }
    let _ = writeln!(md, "\n## Training images\n\n![train](train.png)\n");
    let _ = writeln!(md, "## Test images\n\n![test](test.png)\n");
    let _ = writeln!(md, "## Denoising\n\n![denoise](denoise.png)\n");
    let _ = writeln!(
        md,
        "Images were picked with seed {}; PSNR is 10 log10(1 / MSE) with pixels in [0, 1].",
        opts.seed
    );
    md
}
