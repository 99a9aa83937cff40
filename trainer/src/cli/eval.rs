//! `ae eval`.

use super::EvalArgs;
use crate::data::{self, Splits};
use crate::error::{Error, Result};
use crate::eval::{self, Metrics};
use crate::model::ModelBytes;

pub(crate) fn print_metrics(label: &str, m: &Metrics) {
    println!(
        "{label}: {} images  BCE {:.4}  MSE {:.5}  PSNR {:.2} dB  mean per-image PSNR {:.2} dB",
        m.images, m.bce, m.mse, m.psnr_db, m.mean_image_psnr_db
    );
}

pub(crate) fn run(a: &EvalArgs, quiet: bool) -> Result<()> {
    let bytes = ModelBytes::load(&a.model)?;
    let model = bytes.parse(&a.model)?;
    let dir = data::resolve_dir(a.data.data.as_deref(), quiet)?;
    let splits = Splits::load_with(&dir, a.data.val, a.data.grayscale)?;
    let m = eval::evaluate(&model, splits.get(a.split))?;
    if a.json {
        let json = serde_json::to_string(&m).map_err(|e| Error::Mismatch(e.to_string()))?;
        println!("{json}");
    } else {
        print_metrics(
            &format!("{} ({}, {:?})", a.model.display(), model.kind(), a.split),
            &m,
        );
    }
    Ok(())
}
