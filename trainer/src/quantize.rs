//! Post-training int8 quantization of a float model, calibrated on training images.
//!
//! Follows the TFLite int8 scheme where it applies: weights symmetric per output channel
//! (`scale = max|w| / 127`), int32 biases at scale `input_scale * weight_scale`, and fixed-point
//! multipliers for every rescaling. The latent code is asymmetric uint8 over the range the encoder
//! produces on the calibration images (always including 0). See ae-core's `FORMAT.md`.
//!
//! [`export_int8`] is the whole `ae export --int8` step short of writing the file, so the binary,
//! the pipeline and tests share one definition of what an export is.

use std::path::Path;

use ae_core::format::{self, FloatRef, Int8Tensors, QuantLayerTensors, INPUT_SCALE};
use ae_core::requant::Requant;
use ae_core::sigmoid_lut;

use crate::data::{ImageSet, Splits};
use crate::entropy_fit;
use crate::error::{Error, ImagesFor, Result};
use crate::eval::{self, Metrics};
use crate::model::ModelBytes;

/// The latent range seen on the calibration images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentRange {
    /// Smallest latent value (at most 0).
    pub min: f32,
    /// Largest latent value (at least 0).
    pub max: f32,
}

/// The uint8 quantization of the latent code: `q = clamp(round(v / scale) + zero_point, 0, 255)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentQuant {
    /// Latent units per code step.
    pub scale: f32,
    /// The code of latent value 0.
    pub zero_point: u8,
}

impl LatentRange {
    /// The quantization the int8 export uses for this range: 256 steps over it (a range of zero
    /// width still gets a positive scale), with 0 on a step.
    pub fn quant(&self) -> LatentQuant {
        let span = (self.max - self.min).max(f32::MIN_POSITIVE * 256.0);
        let scale = span / 255.0;
        let zero_point = (-self.min / scale).round().clamp(0.0, 255.0) as u8;
        LatentQuant { scale, zero_point }
    }
}

impl LatentQuant {
    /// `v` stored as its 8-bit code and read back.
    pub fn round_trip(&self, v: f32) -> f32 {
        let zp = f32::from(self.zero_point);
        let q = ((v / self.scale).round() + zp).clamp(0.0, 255.0);
        (q - zp) * self.scale
    }
}

/// Runs the float encoder over `images` and returns the range of its outputs.
pub fn calibrate(model: &FloatRef<'_>, images: &ImageSet) -> Result<LatentRange> {
    let (input, latent) = model.dims().as_usize();
    if images.image_len() != input {
        return Err(Error::ImageSize {
            model_pixels: input,
            rows: images.rows(),
            cols: images.cols(),
        });
    }
    if images.count() == 0 {
        return Err(Error::NoImages(ImagesFor::Calibration));
    }
    let (mut min, mut max) = (0.0f32, 0.0f32);
    let mut x = vec![0.0f32; input];
    let mut h = vec![0.0f32; latent];
    for img in images.images() {
        ae_core::pixels::to_unit_slice(img, &mut x);
        model
            .encode(&x, &mut h)
            .map_err(|source| Error::ModelRun { source })?;
        if !h.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite {
                what: "latent value",
            });
        }
        for &v in &h {
            min = min.min(v);
            max = max.max(v);
        }
    }
    Ok(LatentRange { min, max })
}

struct Layer {
    weights: Vec<i8>,
    scales: Vec<f32>,
}

/// Symmetric per-row int8 quantization of `[rows][cols]` weights.
fn quantize_rows(w: &[f32], cols: usize) -> Layer {
    let mut weights = Vec::with_capacity(w.len());
    let mut scales = Vec::new();
    for row in w.chunks_exact(cols) {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        weights.extend(
            row.iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
        );
    }
    Layer { weights, scales }
}

fn rq(m: f64) -> Result<Requant> {
    Requant::from_real(m).map_err(|source| Error::Requant { factor: m, source })
}

fn bias_q(b: f32, scale: f64) -> i32 {
    (f64::from(b) / scale)
        .round()
        .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// Quantizes `model` to an int8 model file, calibrating the latent range on `calibration`, and
/// adds the entropy model fitted on the calibration images' codes when `entropy` is set.
pub fn quantize(model: &FloatRef<'_>, calibration: &ImageSet, entropy: bool) -> Result<Vec<u8>> {
    let (input, latent) = model.dims().as_usize();
    let LatentQuant {
        scale: latent_scale,
        zero_point,
    } = calibrate(model, calibration)?.quant();
    let s_in = f64::from(INPUT_SCALE);
    let s_h = f64::from(latent_scale);

    let enc = quantize_rows(model.encoder_weights(), input);
    let mut enc_bias = Vec::with_capacity(latent);
    let mut enc_mult = Vec::with_capacity(2 * latent);
    let mut enc_shift = Vec::with_capacity(2 * latent);
    for (j, &s_w) in enc.scales.iter().enumerate() {
        let acc_scale = s_in * f64::from(s_w);
        enc_bias.push(bias_q(model.encoder_bias()[j], acc_scale));
        for m in [
            acc_scale / s_h,
            f64::from(model.leaky_slope()) * acc_scale / s_h,
        ] {
            let r = rq(m)?;
            enc_mult.push(r.multiplier);
            enc_shift.push(r.shift);
        }
    }

    let dec = quantize_rows(model.decoder_weights(), latent);
    let mut dec_bias = Vec::with_capacity(input);
    let mut dec_mult = Vec::with_capacity(input);
    let mut dec_shift = Vec::with_capacity(input);
    for (i, &s_w) in dec.scales.iter().enumerate() {
        let acc_scale = s_h * f64::from(s_w);
        dec_bias.push(bias_q(model.decoder_bias()[i], acc_scale));
        let r = rq(acc_scale * sigmoid_lut::STEPS_PER_UNIT)?;
        dec_mult.push(r.multiplier);
        dec_shift.push(r.shift);
    }

    let tensors = Int8Tensors {
        latent_scale,
        latent_zero_point: zero_point,
        encoder: QuantLayerTensors {
            weights: &enc.weights,
            bias: &enc_bias,
            multipliers: &enc_mult,
            shifts: &enc_shift,
        },
        decoder: QuantLayerTensors {
            weights: &dec.weights,
            bias: &dec_bias,
            multipliers: &dec_mult,
            shifts: &dec_shift,
        },
    };
    let plain = write(model, &tensors, None)?;
    if !entropy {
        return Ok(plain);
    }
    let codes = codes_of(&plain, calibration)?;
    let fitted = entropy_fit::fit(&codes, latent, zero_point)?;
    write(model, &tensors, Some(&fitted.tensors()))
}

fn write(
    model: &FloatRef<'_>,
    tensors: &Int8Tensors<'_>,
    entropy: Option<&format::EntropyTensors<'_>>,
) -> Result<Vec<u8>> {
    let (shape, latent) = (model.shape(), model.dims().latent);
    // A parsed model's sizes always have a length; the writer would say what is wrong otherwise.
    let len = format::int8_file_len(shape, latent, entropy.is_some()).unwrap_or(0);
    let mut out = vec![0u8; len];
    let n = format::write_int8_shaped(
        shape,
        latent,
        model.leaky_slope(),
        tensors,
        entropy,
        &mut out,
    )
    .map_err(|source| Error::ModelEncode {
        kind: format::ModelKind::Int8,
        source,
    })?;
    out.truncate(n);
    Ok(out)
}

/// The int8 codes of every image in `images` under the model file `int8`.
fn codes_of(int8: &[u8], images: &ImageSet) -> Result<Vec<u8>> {
    let bytes = ModelBytes::new(int8);
    let format::ModelRef::Int8(model) = bytes.parse(Path::new("the quantized model"))? else {
        return Err(Error::NotInt8("the quantized model".into()));
    };
    let latent = model.dims().latent as usize;
    let mut codes = vec![0u8; images.count() * latent];
    for (image, code) in images.images().zip(codes.chunks_exact_mut(latent)) {
        model
            .encode(image, code)
            .map_err(|source| Error::ModelRun { source })?;
    }
    Ok(codes)
}

/// An int8 export: the model file's bytes and the test-split quality before and after.
#[derive(Debug, Clone)]
pub struct Export {
    /// The int8 model file (with its entropy model).
    pub int8: Vec<u8>,
    /// The float model on the test split.
    pub float_metrics: Metrics,
    /// The int8 model on the test split.
    pub int8_metrics: Metrics,
}

/// Quantizes the float model file `float` (named `path` in errors), calibrated on the training
/// split with an entropy model, and evaluates both models on the test split. Writes nothing.
pub fn export_int8(float: &ModelBytes, path: &Path, splits: &Splits) -> Result<Export> {
    let model = float.parse(path)?;
    let format::ModelRef::Float(f) = model else {
        return Err(Error::NotFloat(path.to_path_buf()));
    };
    eval::check_fits(&model, &splits.train)?;
    let int8 = quantize(&f, &splits.train, true)?;
    let int8_bytes = ModelBytes::new(&int8);
    let int8_model = int8_bytes.parse(path)?;
    Ok(Export {
        float_metrics: eval::evaluate(&model, &splits.test)?,
        int8_metrics: eval::evaluate(&int8_model, &splits.test)?,
        int8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latent_quantization_keeps_zero_and_clamps_to_the_range() {
        let q = LatentRange {
            min: -1.0,
            max: 3.0,
        }
        .quant();
        assert_eq!(q.scale, 4.0 / 255.0);
        assert_eq!(q.zero_point, 64);
        assert_eq!(q.round_trip(0.0), 0.0);
        assert!((q.round_trip(1.0) - 1.0).abs() <= q.scale / 2.0);
        assert_eq!(q.round_trip(100.0), q.round_trip(3.0 + q.scale));
        assert!(q.round_trip(-100.0) >= -1.0 - q.scale);
        // A range of zero width still has a positive step.
        let flat = LatentRange { min: 0.0, max: 0.0 }.quant();
        assert!(flat.scale > 0.0 && flat.round_trip(0.0) == 0.0);
    }
}
