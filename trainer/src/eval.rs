//! Reconstruction quality of a model file on a set of images, computed through ae-core — the same
//! code a board runs — for float and int8 models alike.

use rayon::prelude::*;
use serde::Serialize;

use ae_core::format::ModelRef;

use crate::data::ImageSet;
use crate::error::{Error, ImagesFor, Result};
use crate::model::loss::bce_of_probability;

/// Per-image PSNR is capped here when an image is reconstructed exactly (its MSE is 0).
pub const MAX_IMAGE_PSNR_DB: f64 = 100.0;

/// Quality figures over a set of images (pixels in `[0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Mean binary cross-entropy (Keras' clipped form).
    pub bce: f64,
    /// Mean squared error.
    pub mse: f64,
    /// `10 log10(1 / mse)` over the whole set.
    pub psnr_db: f64,
    /// Mean over images of each image's PSNR.
    pub mean_image_psnr_db: f64,
    /// Images evaluated.
    pub images: usize,
}

/// `10 log10(1 / mse)`, capped at [`MAX_IMAGE_PSNR_DB`].
pub fn psnr(mse: f64) -> f64 {
    if mse <= 0.0 {
        MAX_IMAGE_PSNR_DB
    } else {
        (10.0 * (1.0 / mse).log10()).min(MAX_IMAGE_PSNR_DB)
    }
}

/// Sum over pixels of `(a - b)^2` for two 8-bit images, in grey levels squared.
pub fn squared_error_u8(a: &[u8], b: &[u8]) -> f64 {
    // Integer sums are exact (each term is at most 255^2) and vectorize; below 2^53 the f64 is
    // the same number the float sum gave.
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)).pow(2))
        .sum();
    sum as f64
}

/// Sum over values of `(a - b)^2` for two images with pixels in `[0, 1]`.
pub fn squared_error_unit(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum()
}

/// Runs `model` on one image: the float model's `[0, 1]` outputs, or the int8 model's pixels / 255.
/// A NaN or infinite output (a float model with huge weights) is [`Error::NonFinite`].
pub fn reconstruct(model: &ModelRef<'_>, image: &[u8], out: &mut [f32]) -> Result<()> {
    run_model(model, image, out)?;
    if out.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::NonFinite { what: "output" })
    }
}

fn run_model(model: &ModelRef<'_>, image: &[u8], out: &mut [f32]) -> Result<()> {
    let (_, latent) = model.dims().as_usize();
    let wrap = |source| Error::ModelRun { source };
    match model {
        ModelRef::Float(m) => {
            let x: Vec<f32> = image.iter().map(|&p| ae_core::pixels::to_unit(p)).collect();
            let mut h = vec![0.0; latent];
            m.encode(&x, &mut h).map_err(wrap)?;
            m.decode(&h, out).map_err(wrap)
        }
        ModelRef::Int8(m) => {
            let mut code = vec![0u8; latent];
            m.encode(image, &mut code).map_err(wrap)?;
            let mut pixels = vec![0u8; image.len()];
            m.decode(&code, &mut vec![0i16; latent], &mut pixels)
                .map_err(wrap)?;
            for (o, &p) in out.iter_mut().zip(&pixels) {
                *o = ae_core::pixels::to_unit(p);
            }
            Ok(())
        }
    }
}

/// Checks that `model` takes images of `set`'s size.
pub fn check_fits(model: &ModelRef<'_>, set: &ImageSet) -> Result<()> {
    let input = model.dims().input as usize;
    if input != set.image_len() {
        return Err(Error::ImageSize {
            model_pixels: input,
            rows: set.rows(),
            cols: set.cols(),
        });
    }
    Ok(())
}

/// A model prepared once for this CPU (`ae_core::prepared`), for whole image sets.
pub enum Prepared<'a> {
    /// A float model.
    Float(Box<ae_core::prepared::PreparedFloat<'a>>),
    /// An int8 model.
    Int8(Box<ae_core::prepared::PreparedInt8<'a>>),
}

impl<'a> Prepared<'a> {
    /// Prepares `model`.
    pub fn new(model: &ModelRef<'a>) -> Self {
        match model {
            ModelRef::Float(m) => {
                Prepared::Float(Box::new(ae_core::prepared::PreparedFloat::new(*m)))
            }
            ModelRef::Int8(m) => Prepared::Int8(Box::new(ae_core::prepared::PreparedInt8::new(*m))),
        }
    }

    /// [`reconstruct`] for `images` images at once (`out` holds their outputs one after the
    /// other): the same values, through the batch kernels.
    pub fn reconstruct(&self, images: usize, pixels: &[u8], out: &mut [f32]) -> Result<()> {
        let wrap = |source| Error::ModelRun { source };
        match self {
            Prepared::Float(m) => {
                let latent = m.model().dims().latent as usize;
                let x: Vec<f32> = pixels
                    .iter()
                    .map(|&p| ae_core::pixels::to_unit(p))
                    .collect();
                let mut h = vec![0.0; images * latent];
                m.encode_batch(images, &x, &mut h).map_err(wrap)?;
                m.decode_batch(images, &h, out).map_err(wrap)?;
            }
            Prepared::Int8(m) => {
                let latent = m.model().dims().latent as usize;
                let mut codes = vec![0u8; images * latent];
                m.encode_batch(images, pixels, &mut codes).map_err(wrap)?;
                let mut back = vec![0u8; pixels.len()];
                m.decode_batch(images, &codes, &mut back).map_err(wrap)?;
                for (o, &p) in out.iter_mut().zip(&back) {
                    *o = ae_core::pixels::to_unit(p);
                }
            }
        }
        if out.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(Error::NonFinite { what: "output" })
        }
    }
}

/// Per-image sums of one reconstructed image: (BCE sum, squared-error sum).
fn image_sums(out: &[f32], image: &[u8]) -> (f64, f64) {
    let mut bce = 0.0;
    let mut se = 0.0;
    for (&y, &p) in out.iter().zip(image) {
        let t = f64::from(p) / 255.0;
        let y = f64::from(y);
        bce += bce_of_probability(y, t);
        se += (y - t) * (y - t);
    }
    (bce, se)
}

/// Evaluates `model` on every image of `set` (prepared once, in parallel chunks through the batch
/// kernels; the sums are taken in image order, so the result does not depend on the thread
/// count).
pub fn evaluate(model: &ModelRef<'_>, set: &ImageSet) -> Result<Metrics> {
    check_fits(model, set)?;
    if set.count() == 0 {
        return Err(Error::NoImages(ImagesFor::Evaluation));
    }
    let prepared = Prepared::new(model);
    let len = set.image_len();
    let per_chunk: Vec<Vec<(f64, f64)>> = set
        .pixels()
        .par_chunks(crate::batch::CHUNK_IMAGES * len)
        .map(|chunk| {
            let mut out = vec![0.0f32; chunk.len()];
            prepared.reconstruct(chunk.len() / len, chunk, &mut out)?;
            Ok(out
                .chunks_exact(len)
                .zip(chunk.chunks_exact(len))
                .map(|(y, img)| image_sums(y, img))
                .collect())
        })
        .collect::<Result<_>>()?;
    let per_image: Vec<(f64, f64)> = per_chunk.into_iter().flatten().collect();
    let n = set.image_len() as f64;
    let (mut bce, mut se, mut psnr_sum) = (0.0, 0.0, 0.0);
    for &(b, s) in &per_image {
        bce += b;
        se += s;
        psnr_sum += psnr(s / n);
    }
    let total = n * set.count() as f64;
    let mse = se / total;
    if !(bce.is_finite() && mse.is_finite() && psnr_sum.is_finite()) {
        return Err(Error::NonFinite { what: "loss" });
    }
    Ok(Metrics {
        bce: bce / total,
        mse,
        psnr_db: psnr(mse),
        mean_image_psnr_db: psnr_sum / set.count() as f64,
        images: set.count(),
    })
}
