//! The trainer's error type: one variant per thing a user can get wrong or run into, each with a
//! message that names the file and the problem.

use std::path::PathBuf;

/// Everything `ae` can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file (IDX data, picture, code file, history) is not what it should be.
    #[error("{path}: {problem}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A data directory lacks a file.
    #[error("{dir}: no {name} (or {name}.gz) in this directory")]
    MissingDataFile {
        /// The directory searched.
        dir: PathBuf,
        /// The IDX file name.
        name: String,
    },
    /// Downloading failed on every mirror.
    #[error("could not download {name}: {reasons}")]
    Download {
        /// The file.
        name: String,
        /// Why each mirror failed.
        reasons: String,
    },
    /// A model file failed to load.
    #[error("{path}: {source}")]
    Model {
        /// The file.
        path: PathBuf,
        /// The format error.
        source: ae_core::Error,
    },
    /// The model and the data do not fit together, or options contradict each other.
    #[error("{0}")]
    Mismatch(String),
    /// A command-line value is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Training produced NaN or infinity.
    #[error("training diverged at epoch {epoch}, batch {batch} (loss {loss}); the last good checkpoint is kept at {checkpoint}: try a lower --lr")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The loss seen.
        loss: f64,
        /// The checkpoint left in place.
        checkpoint: PathBuf,
    },
    /// The user interrupted training (Ctrl-C); the checkpoint holds the state to resume from.
    #[error("interrupted; state saved to {checkpoint}: continue with --resume")]
    Interrupted {
        /// Where the state is.
        checkpoint: PathBuf,
    },
    /// A checkpoint cannot be used for this run.
    #[error("{path}: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it cannot be used.
        problem: String,
    },
    /// An output file exists and would be replaced.
    #[error("{0} already exists: pass --force to replace it")]
    WouldOverwrite(PathBuf),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
