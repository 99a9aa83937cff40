//! `ae compress` and `ae decompress`: images to 8-bit latent codes and back, through an int8 model.

use std::path::Path;

use ae_core::format::{Int8Ref, ModelRef};

use super::{CompressArgs, DecompressArgs};
use crate::codec::{model_id, CodeFile, MAGIC, VERSION};
use crate::data::{idx, ImageSet};
use crate::error::{Error, Result};
use crate::eval::psnr;
use crate::fsio;
use crate::model::ModelBytes;

fn int8_model<'a>(bytes: &'a ModelBytes, path: &Path) -> Result<Int8Ref<'a>> {
    match bytes.parse(path)? {
        ModelRef::Int8(m) => Ok(m),
        ModelRef::Float(_) => Err(Error::Mismatch(format!(
            "{} is a float model; codes are 8-bit: run `ae export --int8` and use its output",
            path.display()
        ))),
    }
}

/// The model's image shape: square when the input is a square number, else one row.
fn model_shape(input: usize) -> (usize, usize) {
    let side = (input as f64).sqrt().round() as usize;
    if side * side == input {
        (side, side)
    } else {
        (1, input)
    }
}

fn is_picture(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(ext.as_str(), "png" | "pgm" | "pnm")
}

fn reconstruct(model: &Int8Ref<'_>, code: &[u8], out: &mut [u8]) -> Result<()> {
    let latent = model.dims.latent as usize;
    model
        .decode(code, &mut vec![0i16; latent], out)
        .map_err(|e| Error::Mismatch(e.to_string()))
}

pub(crate) fn compress(a: &CompressArgs) -> Result<()> {
    fsio::refuse_overwrite(&a.output, a.force)?;
    let bytes = ModelBytes::load(&a.model)?;
    let model = int8_model(&bytes, &a.model)?;
    let (input, latent) = model.dims.as_usize();
    let (rows, cols) = model_shape(input);
    let set = crate::data::picture::read_inputs(&a.inputs, rows, cols, a.resize)?;
    let mut codes = vec![0u8; set.count * latent];
    for (img, code) in set.images().zip(codes.chunks_exact_mut(latent)) {
        model
            .encode(img, code)
            .map_err(|e| Error::Mismatch(e.to_string()))?;
    }
    let file = CodeFile {
        magic: MAGIC,
        version: VERSION,
        model_sha256: model_id(bytes.bytes()),
        input: input as u32,
        latent: latent as u32,
        rows: rows as u32,
        cols: cols as u32,
        count: set.count as u32,
        codes: &codes,
    };
    let out = file.to_bytes();
    fsio::write_atomic(&a.output, &out)?;
    if a.stats {
        let mut se = 0.0f64;
        let mut pixels = vec![0u8; input];
        for (img, code) in set.images().zip(codes.chunks_exact(latent)) {
            reconstruct(&model, code, &mut pixels)?;
            se += img
                .iter()
                .zip(&pixels)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>();
        }
        let mse = se / (255.0 * 255.0 * (set.count * input) as f64);
        println!(
            "{} images: {} bytes of pixels -> {} bytes ({} code bytes each, {:.2}:1), PSNR {:.2} dB",
            set.count,
            set.pixels.len(),
            out.len(),
            latent,
            set.pixels.len() as f64 / out.len() as f64,
            psnr(mse)
        );
    }
    Ok(())
}

pub(crate) fn decompress(a: &DecompressArgs) -> Result<()> {
    fsio::refuse_overwrite(&a.output, a.force)?;
    let bytes = ModelBytes::load(&a.model)?;
    let model = int8_model(&bytes, &a.model)?;
    let raw = fsio::read_bounded(&a.codes, "a code file", crate::limits::MAX_CODE_FILE_BYTES)?;
    let bad = |e: crate::codec::CodeFileError| Error::BadFile {
        path: a.codes.clone(),
        problem: e.to_string(),
    };
    let file = CodeFile::parse(&raw).map_err(bad)?;
    file.check_model(&model_id(bytes.bytes())).map_err(bad)?;
    let (input, latent) = model.dims.as_usize();
    if (file.input as usize, file.latent as usize) != (input, latent) {
        return Err(Error::Mismatch(
            "code file and model dimensions differ".into(),
        ));
    }
    let (rows, cols) = (file.rows as usize, file.cols as usize);
    let mut set = ImageSet {
        pixels: vec![0u8; crate::limits::image_bytes(file.count as usize, input)?],
        count: file.count as usize,
        rows,
        cols,
    };
    for (code, out) in file
        .codes
        .chunks_exact(latent)
        .zip(set.pixels.chunks_exact_mut(input))
    {
        reconstruct(&model, code, out)?;
    }
    if is_picture(&a.output) {
        if set.count != 1 {
            return Err(Error::InvalidOption(format!(
                "{} images cannot go into one picture: name an IDX output (e.g. out.idx)",
                set.count
            )));
        }
        let img = image::GrayImage::from_raw(cols as u32, rows as u32, set.pixels)
            .ok_or_else(|| Error::Mismatch("image size".into()))?;
        let format = image::ImageFormat::from_path(&a.output).unwrap_or(image::ImageFormat::Png);
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, format)
            .map_err(|e| Error::Mismatch(format!("cannot encode the image: {e}")))?;
        fsio::write_atomic(&a.output, buf.get_ref())
    } else {
        fsio::write_atomic(&a.output, &idx::encode(&set))
    }
}
