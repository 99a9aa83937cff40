//! Per-epoch training history, saved as JSON next to the model for plotting and comparison.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio;
use crate::limits::MAX_HISTORY_BYTES;

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training BCE over the epoch (as Keras reports it).
    pub loss: f64,
    /// BCE on the validation split after the epoch, when there is one.
    pub val_loss: Option<f64>,
    /// Seconds spent training in the epoch.
    pub seconds: f64,
}

/// The history file: settings and epochs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    /// The run's settings.
    pub config: super::TrainConfig,
    /// Images trained on.
    pub train_images: usize,
    /// Validation images.
    pub val_images: usize,
    /// One record per epoch.
    pub epochs: Vec<EpochRecord>,
    /// Where the training images came from (absent in histories from before it was recorded).
    #[serde(default)]
    pub data: Option<DataRecord>,
}

/// The training data of a run, so that `ae export` calibrates on the same images without being
/// told again: the directory, how it was read, and a fingerprint of the training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// The data directory, absolute.
    pub dir: std::path::PathBuf,
    /// The validation fraction carved off the training images.
    pub val: f64,
    /// Whether colour pictures were converted to grey.
    pub grayscale: bool,
    /// [`super::checkpoint::fingerprint`] of the training split.
    pub fingerprint: String,
}

impl History {
    /// Writes the history as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| Error::Json {
            what: "the training history",
            source,
        })?;
        fsio::write_atomic(path, &json)
    }

    /// Reads a history file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = fsio::read_bounded(path, "a training history", MAX_HISTORY_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|source| Error::History {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// `model.tnae` -> `model.history.json`.
pub fn path_for(model: &Path) -> std::path::PathBuf {
    model.with_extension("history.json")
}
