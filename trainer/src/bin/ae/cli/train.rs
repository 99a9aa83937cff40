//! `ae train`: checks the outputs, trains through the library with a progress bar watching, and
//! writes the model and its history.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use trainer::data::Splits;
use trainer::error::Setting;
use trainer::fsio;
use trainer::limits::MAX_THREADS;
use trainer::optim::AdamConfig;
use trainer::train::history::{self, History};
use trainer::train::{self as training, RunOptions, TrainConfig};
use trainer::Error;

use super::progress::EpochBar;
use super::{DataArgs, HyperArgs, Result, TrainArgs};

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
            }
            .into());
        }
    }
    fsio::refuse_overwrite(out, force || resume)?;
    fsio::refuse_overwrite(&hist, force || resume)?;
    if fsio::check_replaceable(&ckpt)? && !resume && !force {
        return Err(Error::CheckpointExists(ckpt).into());
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
            setting: Setting::Threads,
            value: hyper.threads,
            max: MAX_THREADS,
        }
        .into());
    }
    check_outputs(out, resume, force)?;
    let (dir, splits) = data_args.load(quiet)?;
    if !quiet {
        eprintln!(
            "training on {} images ({}x{}) from {}, {} validation, {} epochs",
            splits.train.count(),
            splits.train.rows(),
            splits.train.cols(),
            dir.display(),
            splits.val.count(),
            config.epochs
        );
    }
    let opts = RunOptions {
        resume,
        threads: hyper.threads,
        interrupt,
        stop_after_steps: hyper.stop_after_steps,
        ..RunOptions::new(checkpoint_path(out))
    };
    let mut progress = EpochBar::new(quiet);
    let outcome =
        training::train_observed(&config, &splits.train, &splits.val, &opts, &mut progress)?;
    let shape = splits.train.shape()?;
    fsio::write_atomic(out, &outcome.params.to_model_file_shaped(shape)?)?;
    History {
        config,
        train_images: splits.train.count(),
        val_images: splits.val.count(),
        epochs: outcome.history,
        data: Some(history::DataRecord {
            dir: std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
            val: data_args.val,
            grayscale: data_args.grayscale,
            fingerprint: training::checkpoint::fingerprint(&splits.train),
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
