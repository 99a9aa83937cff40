//! `ae export --int8`: picks the calibration data (given, or the one the training history
//! records), runs [`trainer::quantize::export_int8`] and writes the file.

use std::path::Path;

use trainer::data::Splits;
use trainer::eval::Metrics;
use trainer::fsio;
use trainer::model::ModelBytes;
use trainer::quantize;
use trainer::train::history::{self, History};

use super::{CliError, ExportArgs, Result};

/// Quantizes `model_path` to `out`; returns (float, int8) metrics on the test split.
pub(crate) fn export_int8(
    model_path: &Path,
    out: &Path,
    splits: &Splits,
) -> Result<(Metrics, Metrics)> {
    let bytes = ModelBytes::load(model_path)?;
    let export = quantize::export_int8(&bytes, model_path, splits)?;
    fsio::write_atomic(out, &export.int8)?;
    Ok((export.float_metrics, export.int8_metrics))
}

pub(crate) fn run(a: &ExportArgs, quiet: bool) -> Result<()> {
    let _lock = fsio::lock_output_file(&a.out)?;
    fsio::refuse_overwrite(&a.out, a.force)?;
    let splits = match &a.data.data {
        Some(dir) => Splits::load_with(dir, a.data.val, a.data.grayscale)?,
        None => recorded_training_data(&a.model, quiet)?,
    };
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

/// The images `model` was trained on, found through the data record of its training history:
/// calibrating on other images (say MNIST for a Fashion model) would quantize it wrongly, so
/// without that record, or when the data is gone or changed, this is an error saying what to pass.
/// Never downloads anything.
fn recorded_training_data(model: &Path, quiet: bool) -> Result<Splits> {
    let history_path = history::path_for(model);
    let pass_data = |why: String| {
        CliError::Usage(format!(
            "{why}: pass --data DIR with the images {} was trained on (and the same --val)",
            model.display()
        ))
    };
    if !history_path.exists() {
        return Err(pass_data(format!(
            "no training history {} records where the training images are",
            history_path.display()
        )));
    }
    let record = History::load(&history_path)?.data.ok_or_else(|| {
        pass_data(format!(
            "{} does not record where the training images are (it is older than that record)",
            history_path.display()
        ))
    })?;
    if !record.dir.is_dir() {
        return Err(pass_data(format!(
            "the training data {} is gone",
            record.dir.display()
        )));
    }
    let splits = Splits::load_with(&record.dir, record.val, record.grayscale)?;
    if trainer::train::checkpoint::fingerprint(&splits.train) != record.fingerprint {
        return Err(pass_data(format!(
            "the images in {} have changed since training",
            record.dir.display()
        )));
    }
    if !quiet {
        eprintln!(
            "calibrating on the training data recorded in {}: {}",
            history_path.display(),
            record.dir.display()
        );
    }
    Ok(splits)
}
