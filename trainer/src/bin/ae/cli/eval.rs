//! `ae eval`: loads a model and a split and prints the library's metrics as a line or as JSON.

use trainer::eval::{self, Metrics};
use trainer::model::ModelBytes;
use trainer::Error;

use super::{EvalArgs, Result};

pub(crate) fn print_metrics(label: &str, m: &Metrics) {
    println!(
        "{label}: {} images  BCE {:.4}  MSE {:.5}  PSNR {:.2} dB  mean per-image PSNR {:.2} dB",
        m.images, m.bce, m.mse, m.psnr_db, m.mean_image_psnr_db
    );
}

pub(crate) fn run(a: &EvalArgs, quiet: bool) -> Result<()> {
    let bytes = ModelBytes::load(&a.model)?;
    let model = bytes.parse(&a.model)?;
    let (_, splits) = a.data.load(quiet)?;
    let m = eval::evaluate(&model, splits.get(a.split.into()))?;
    if a.json {
        let json = serde_json::to_string(&m).map_err(|source| Error::Json {
            what: "the metrics",
            source,
        })?;
        println!("{json}");
    } else {
        print_metrics(
            &format!("{} ({}, {:?})", a.model.display(), model.kind(), a.split),
            &m,
        );
    }
    Ok(())
}
