//! `ae export --int8`.

use std::path::Path;

use super::ExportArgs;
use crate::data::{self, Splits};
use crate::error::{Error, Result};
use crate::eval::{self, Metrics};
use crate::fsio;
use crate::model::ModelBytes;
use crate::quantize;

/// Quantizes `model_path` to `out`; returns (float, int8) metrics on the test split.
pub(crate) fn export_int8(
    model_path: &Path,
    out: &Path,
    splits: &Splits,
) -> Result<(Metrics, Metrics)> {
    let bytes = ModelBytes::load(model_path)?;
    let model = bytes.parse(model_path)?;
    let ae_core::format::ModelRef::Float(float) = model else {
        return Err(Error::Mismatch(format!(
            "{} is already an int8 model",
            model_path.display()
        )));
    };
    eval::check_fits(&model, &splits.train)?;
    let int8 = quantize::quantize(&float, &splits.train, true)?;
    let int8_bytes = ModelBytes::new(&int8);
    let int8_model = int8_bytes.parse(out)?;
    let before = eval::evaluate(&model, &splits.test)?;
    let after = eval::evaluate(&int8_model, &splits.test)?;
    fsio::write_atomic(out, &int8)?;
    Ok((before, after))
}

pub(crate) fn run(a: &ExportArgs, quiet: bool) -> Result<()> {
    let _lock = fsio::lock_output_file(&a.out)?;
    fsio::refuse_overwrite(&a.out, a.force)?;
    let dir = data::resolve_dir(a.data.data.as_deref(), quiet)?;
    let splits = Splits::load(&dir, a.data.val)?;
    let (before, after) = export_int8(&a.model, &a.out, &splits)?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({size} bytes, int8): test PSNR {:.2} dB -> {:.2} dB ({:+.3} dB)",
        a.out.display(),
        before.psnr_db,
        after.psnr_db,
        after.psnr_db - before.psnr_db
    );
    Ok(())
}
