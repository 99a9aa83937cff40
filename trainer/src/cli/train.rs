//! `ae train`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::{DataArgs, HyperArgs, TrainArgs};
use crate::data::{self, Splits};
use crate::error::{Error, Result};
use crate::fsio;
use crate::limits::MAX_THREADS;
use crate::optim::AdamConfig;
use crate::train::history::{self, History};
use crate::train::{self as training, RunOptions, TrainConfig};

/// `model.tnae` -> `model.ckpt`.
pub(crate) fn checkpoint_path(model: &Path) -> PathBuf {
    model.with_extension("ckpt")
}

/// Checks, before any training, that `out` and its siblings can be written: none of them is
/// anything but a regular file, `--out` is not one of its own siblings, and nothing of an earlier
/// run is replaced without `--force` (or `--resume`, which continues that run). A checkpoint
/// without `--resume` is refused even when `--out` itself is new: it holds the earlier run's
/// progress.
pub(crate) fn check_outputs(out: &Path, resume: bool, force: bool) -> Result<()> {
    let ckpt = checkpoint_path(out);
    let hist = history::path_for(out);
    for (sibling, path) in [("checkpoint", &ckpt), ("history", &hist)] {
        if path == out {
            return Err(Error::OutputClash {
                path: out.to_path_buf(),
                sibling,
            });
        }
    }
    fsio::refuse_overwrite(out, force || resume)?;
    fsio::refuse_overwrite(&hist, force || resume)?;
    if fsio::check_replaceable(&ckpt)? && !resume && !force {
        return Err(Error::CheckpointExists(ckpt));
    }
    Ok(())
}

pub(crate) fn config(h: &HyperArgs) -> TrainConfig {
    TrainConfig {
        latent: h.latent,
        epochs: h.epochs,
        batch: h.batch,
        seed: h.seed,
        adam: AdamConfig {
            lr: h.lr,
            ..AdamConfig::default()
        },
        ..TrainConfig::default()
    }
}

/// Trains and writes `out` and its history; returns the splits for callers that go on.
pub(crate) fn train_to(
    data_args: &DataArgs,
    hyper: &HyperArgs,
    out: &Path,
    resume: bool,
    force: bool,
    quiet: bool,
    interrupt: Arc<AtomicBool>,
) -> Result<Splits> {
    let config = config(hyper);
    config.validate()?;
    if hyper.threads > MAX_THREADS {
        return Err(Error::OutOfRange {
            option: "--threads",
            value: hyper.threads,
            max: MAX_THREADS,
        });
    }
    check_outputs(out, resume, force)?;
    let dir = data::resolve_dir(data_args.data.as_deref(), quiet)?;
    let splits = Splits::load_with(&dir, data_args.val, data_args.grayscale)?;
    if !quiet {
        eprintln!(
            "training on {} images ({}x{}) from {}, {} validation, {} epochs",
            splits.train.count,
            splits.train.rows,
            splits.train.cols,
            dir.display(),
            splits.val.count,
            config.epochs
        );
    }
    let opts = RunOptions {
        resume,
        threads: hyper.threads,
        quiet,
        interrupt,
        stop_after_steps: hyper.stop_after_steps,
        ..RunOptions::new(checkpoint_path(out))
    };
    let outcome = training::train(&config, &splits.train, &splits.val, &opts)?;
    let shape = shape_of(&splits.train)?;
    fsio::write_atomic(out, &outcome.params.to_model_file_shaped(shape)?)?;
    History {
        config,
        train_images: splits.train.count,
        val_images: splits.val.count,
        epochs: outcome.history,
        data: Some(history::DataRecord {
            dir: std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
            val: data_args.val,
            grayscale: data_args.grayscale,
            fingerprint: crate::train::checkpoint::fingerprint(&splits.train),
        }),
    }
    .save(&history::path_for(out))?;
    if !quiet {
        eprintln!(
            "wrote {} and {}",
            out.display(),
            history::path_for(out).display()
        );
    }
    Ok(splits)
}

pub(crate) fn run(a: &TrainArgs, quiet: bool, interrupt: Arc<AtomicBool>) -> Result<Splits> {
    let _lock = fsio::lock_output_file(&a.out)?;
    train_to(
        &a.data, &a.hyper, &a.out, a.resume, a.force, quiet, interrupt,
    )
}

/// The image shape of a training set, as the model file stores it.
fn shape_of(set: &crate::data::ImageSet) -> Result<ae_core::format::Shape> {
    let side = |v: usize| {
        u32::try_from(v).map_err(|_| Error::Mismatch(format!("image side {v} is too large")))
    };
    Ok(ae_core::format::Shape {
        rows: side(set.rows)?,
        cols: side(set.cols)?,
    })
}
