//! `ae report`: finds the model's history, loads the data, and prints what
//! [`trainer::report::write_report`] wrote.

use std::path::PathBuf;

use trainer::model::ModelBytes;
use trainer::report::{write_report, ReportOptions};
use trainer::train::history::{self, History};

use super::{ReportArgs, Result};

pub(crate) fn run(a: &ReportArgs, quiet: bool) -> Result<()> {
    let _lock = trainer::fsio::lock_output_dir(&a.out)?;
    let bytes = ModelBytes::load(&a.model)?;
    let history_path: Option<PathBuf> = match &a.history {
        Some(p) => Some(p.clone()),
        None => Some(history::path_for(&a.model)).filter(|p| p.is_file()),
    };
    let history = history_path.as_deref().map(History::load).transpose()?;
    let (_, splits) = a.data.load(quiet)?;
    let opts = ReportOptions {
        n: a.n,
        seed: a.seed,
        noise: a.noise,
    };
    let s = write_report(&bytes, &a.model, history.as_ref(), &splits, &a.out, &opts)?;
    println!(
        "wrote {}/report.md: test PSNR {:.2} dB, {} -> {} bytes, denoising {:.2} -> {:.2} dB{}",
        a.out.display(),
        s.test.psnr_db,
        s.image_bytes,
        s.code_bytes,
        s.noisy_psnr_db,
        s.denoised_psnr_db,
        if history.is_none() {
            " (no training history found: pass --history)"
        } else {
            ""
        }
    );
    Ok(())
}
