//! `ae pipeline`: the README's main command: train, export int8, evaluate both, and write the
//! notebook's figures into `OUT/report/`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use trainer::fsio;
use trainer::model::ModelBytes;
use trainer::report::{write_report, ReportOptions};
use trainer::train::history::{self, History};
use trainer::Error;

use super::{eval::print_metrics, export::export_int8, train::train_to, PipelineArgs, Result};

pub(crate) fn run(a: &PipelineArgs, quiet: bool, interrupt: Arc<AtomicBool>) -> Result<()> {
    let float_path = a.out.join("model.tnae");
    let int8_path = a.out.join("model-int8.tnae");
    // The directory and each model are locked: a concurrent `ae train --out DIR/model.tnae` or
    // `ae export --out DIR/model-int8.tnae` is refused too.
    let _locks = [
        fsio::lock_output_dir(&a.out)?,
        fsio::lock_output_file(&float_path)?,
        fsio::lock_output_file(&int8_path)?,
    ];
    if !a.resume {
        fsio::refuse_overwrite(&float_path, a.force)?;
    }
    fsio::refuse_overwrite(&int8_path, a.force || a.resume)?;
    let splits = train_to(
        &a.data,
        &a.hyper,
        &float_path,
        a.resume,
        a.force,
        quiet,
        Arc::clone(&interrupt),
    )?;
    // Ctrl-C after the last batch: the model is written; stop before exporting.
    if interrupt.load(Ordering::SeqCst) {
        return Err(Error::Interrupted {
            checkpoint: super::train::checkpoint_path(&float_path),
        }
        .into());
    }
    let (float, int8) = export_int8(&float_path, &int8_path, &splits)?;
    print_metrics(&format!("float {}", float_path.display()), &float);
    print_metrics(&format!("int8  {}", int8_path.display()), &int8);
    println!(
        "int8 export changes test PSNR by {:+.3} dB",
        int8.psnr_db - float.psnr_db
    );
    let metrics = serde_json::json!({ "float": float, "int8": int8 });
    let text = serde_json::to_vec_pretty(&metrics).map_err(|source| Error::Json {
        what: "the metrics",
        source,
    })?;
    fsio::write_atomic(&a.out.join("metrics.json"), &text)?;
    // The notebook's figures for the int8 model the board runs, with the float run's history.
    let report_dir = a.out.join("report");
    let history = History::load(&history::path_for(&float_path))?;
    let int8_bytes = ModelBytes::load(&int8_path)?;
    let defaults = ReportOptions::default();
    let opts = ReportOptions {
        n: defaults
            .n
            .min(splits.train.count())
            .min(splits.test.count()),
        ..defaults
    };
    write_report(
        &int8_bytes,
        &int8_path,
        Some(&history),
        &splits,
        &report_dir,
        &opts,
    )?;
    println!("wrote {}/report.md", report_dir.display());
    Ok(())
}
