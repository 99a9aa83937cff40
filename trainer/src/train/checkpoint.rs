//! The complete training state on disk, so an interrupted run resumes to the same bits.
//!
//! A checkpoint is postcard-encoded [`State`] followed by a CRC-32, written atomically. It records
//! the configuration and a SHA-256 of the training images: resuming with other data or other
//! settings is refused (only `--epochs` may grow).

use std::path::Path;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::history::EpochRecord;
use super::{initial_params, new_adam, TrainConfig};
use crate::data::ImageSet;
use crate::error::{Error, Result, Setting};
use crate::fsio;
use crate::limits::MAX_CHECKPOINT_BYTES;
use crate::model::Params;
use crate::optim::Adam;

const MAGIC: [u8; 8] = *b"TNAECKPT";
const VERSION: u32 = 1;

/// Everything needed to continue a run.
#[derive(Debug, Clone)]
pub struct State {
    /// The run's settings.
    pub config: TrainConfig,
    /// SHA-256 of the training images.
    pub fingerprint: String,
    /// Current epoch, 0-based (equal to `config.epochs` when done).
    pub epoch: usize,
    /// Next batch within the current epoch.
    pub batch: usize,
    /// Sum of pixel losses so far in this epoch.
    pub loss_sum: f64,
    /// Pixels those losses cover.
    pub loss_count: u64,
    /// Training seconds so far in this epoch.
    pub seconds: f64,
    /// The weights.
    pub params: Params,
    /// The optimizer.
    pub adam: Adam,
    /// Finished epochs.
    pub history: Vec<EpochRecord>,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    magic: [u8; 8],
    version: u32,
    config: TrainConfig,
    input: usize,
    fingerprint: String,
    epoch: usize,
    batch: usize,
    loss_sum: f64,
    loss_count: u64,
    seconds: f64,
    tensors: [Vec<f32>; 4],
    adam: Adam,
    history: Vec<EpochRecord>,
}

/// SHA-256 of the images and their shape, hex.
pub fn fingerprint(set: &ImageSet) -> String {
    let mut h = Sha256::new();
    for v in [set.count(), set.rows(), set.cols()] {
        h.update((v as u64).to_le_bytes());
    }
    h.update(set.pixels());
    hex::encode(h.finalize())
}

/// The first setting (other than `epochs`) in which a checkpoint's run and this one differ, in
/// plain words with both values. Floats compare by their shortest round-trip text, which differs
/// exactly when the values do.
fn first_difference(
    (saved, saved_input): (&TrainConfig, usize),
    (run, input): (&TrainConfig, usize),
) -> Option<(Setting, String, String)> {
    let pair = |name, a: &dyn ToString, b: &dyn ToString| (name, a.to_string(), b.to_string());
    [
        pair(Setting::PixelsPerImage, &saved_input, &input),
        pair(Setting::Latent, &saved.latent, &run.latent),
        pair(Setting::Batch, &saved.batch, &run.batch),
        pair(Setting::Seed, &saved.seed, &run.seed),
        pair(Setting::LearningRate, &saved.adam.lr, &run.adam.lr),
        pair(Setting::Slope, &saved.slope, &run.slope),
        pair(Setting::AdamBeta1, &saved.adam.beta1, &run.adam.beta1),
        pair(Setting::AdamBeta2, &saved.adam.beta2, &run.adam.beta2),
        pair(Setting::AdamEpsilon, &saved.adam.eps, &run.adam.eps),
    ]
    .into_iter()
    .find(|(_, a, b)| a != b)
}

impl State {
    /// The state before the first step.
    pub fn fresh(config: &TrainConfig, input: usize, fingerprint: String) -> Self {
        let params = initial_params(config, input);
        let adam = new_adam(config, &params);
        State {
            config: *config,
            fingerprint,
            epoch: 0,
            batch: 0,
            loss_sum: 0.0,
            loss_count: 0,
            seconds: 0.0,
            params,
            adam,
            history: Vec::new(),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let disk = OnDisk {
            magic: MAGIC,
            version: VERSION,
            config: self.config,
            input: self.params.input(),
            fingerprint: self.fingerprint.clone(),
            epoch: self.epoch,
            batch: self.batch,
            loss_sum: self.loss_sum,
            loss_count: self.loss_count,
            seconds: self.seconds,
            tensors: self.params.tensors().map(|t| t.to_vec()),
            adam: self.adam.clone(),
            history: self.history.clone(),
        };
        let mut bytes = postcard::to_stdvec(&disk).map_err(|source| Error::CheckpointCodec {
            path: path.to_path_buf(),
            action: "encode",
            source,
        })?;
        let crc = ae_core::format::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        fsio::write_atomic(path, &bytes)
    }

    /// Reads a checkpoint and checks it belongs to this run.
    pub fn load(
        path: &Path,
        config: &TrainConfig,
        input: usize,
        fingerprint: &str,
    ) -> Result<Self> {
        let bad = |problem: String| Error::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = fsio::read_bounded(path, "a checkpoint", MAX_CHECKPOINT_BYTES)?;
        if bytes.len() < 12 || bytes[..8] != MAGIC {
            return Err(bad("not a tinyae checkpoint".into()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if ae_core::format::crc32(body).to_le_bytes() != crc {
            return Err(bad("checksum mismatch: the checkpoint is corrupted".into()));
        }
        let d: OnDisk = postcard::from_bytes(body).map_err(|source| Error::CheckpointCodec {
            path: path.to_path_buf(),
            action: "decode",
            source,
        })?;
        if d.version != VERSION {
            return Err(bad(format!(
                "checkpoint version {} is not supported",
                d.version
            )));
        }
        if d.fingerprint != fingerprint {
            return Err(bad("it was made with different training data".into()));
        }
        if let Some((setting, checkpoint, given)) =
            first_difference((&d.config, d.input), (config, input))
        {
            return Err(Error::ResumeMismatch {
                path: path.to_path_buf(),
                setting,
                checkpoint,
                given,
            });
        }
        if d.epoch > config.epochs || (d.epoch == config.epochs && d.batch > 0) {
            return Err(Error::CheckpointPastEnd {
                path: path.to_path_buf(),
                at_epoch: if d.batch > 0 { d.epoch + 1 } else { d.epoch },
                batch: d.batch,
                epochs: config.epochs,
            });
        }
        let [w1, b1, w2, b2] = d.tensors;
        let latent = config.latent;
        let lens_ok = w1.len() == input * latent
            && w2.len() == input * latent
            && b1.len() == latent
            && b2.len() == input;
        let adam_ok = d.adam.m.len() == 4
            && d.adam.v.len() == 4
            && d.adam
                .m
                .iter()
                .zip(&d.adam.v)
                .zip([input * latent, latent, input * latent, input])
                .all(|((m, v), n)| m.len() == n && v.len() == n);
        if !lens_ok || !adam_ok {
            return Err(bad("tensor sizes do not fit the model".into()));
        }
        let params = Params {
            w1: DMatrix::from_vec(input, latent, w1),
            b1: DVector::from_vec(b1),
            w2: DMatrix::from_vec(latent, input, w2),
            b2: DVector::from_vec(b2),
            slope: config.slope,
        };
        Ok(State {
            config: *config,
            fingerprint: d.fingerprint,
            epoch: d.epoch,
            batch: d.batch,
            loss_sum: d.loss_sum,
            loss_count: d.loss_count,
            seconds: d.seconds,
            params,
            adam: Adam {
                config: config.adam,
                ..d.adam
            },
            history: d.history,
        })
    }
}
