//! The training loop: the notebook's `fit`, by hand.
//!
//! Each epoch visits the training images in a fresh order drawn from `(seed, epoch)`, in batches
//! of `batch`. Every batch is cut into [`SHARDS`] fixed slices that run forward and backward in
//! parallel; their gradients are added in a fixed order and Adam takes one step. Because the
//! slicing never depends on the number of threads, the same seed and data give bit-identical
//! weights on any number of cores (on the same CPU type: the matrix kernels pick instructions by
//! CPU feature).
//!
//! The full state — weights, Adam moments, position in the epoch, history — is checkpointed
//! atomically after every epoch and on Ctrl-C, so `--resume` continues to the same bits an
//! uninterrupted run reaches. A NaN or infinite loss stops the run and keeps the last good
//! checkpoint.

pub mod checkpoint;
pub mod history;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::ImageSet;
use crate::error::{Error, ImagesFor, Result, Setting};
use crate::limits::{param_count, MAX_LATENT, MAX_PARAMS};
use crate::model::backprop::Shard;
use crate::model::Params;
use crate::optim::{Adam, AdamConfig};
use checkpoint::State;
use history::EpochRecord;

/// Slices per batch. Fixed, so results do not depend on the thread count.
pub const SHARDS: usize = 2;
/// The notebook's LeakyReLU slope.
pub const DEFAULT_SLOPE: f32 = 0.3;
/// Worker threads unless told otherwise (the result does not depend on it).
pub const DEFAULT_THREADS: usize = 2;

/// What defines a training run (and must match to resume one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Latent units.
    pub latent: usize,
    /// Epochs in total.
    pub epochs: usize,
    /// Images per batch.
    pub batch: usize,
    /// Seed for initialization and shuffling.
    pub seed: u64,
    /// LeakyReLU slope.
    pub slope: f32,
    /// Adam's hyper-parameters.
    pub adam: AdamConfig,
}

impl Default for TrainConfig {
    /// The notebook's settings.
    fn default() -> Self {
        TrainConfig {
            latent: 64,
            epochs: 50,
            batch: 32,
            seed: 1,
            slope: DEFAULT_SLOPE,
            adam: AdamConfig::default(),
        }
    }
}

impl TrainConfig {
    /// Rejects values training cannot run with.
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, value: &dyn ToString, expected| {
            Err(Error::InvalidSetting {
                setting,
                value: value.to_string(),
                expected,
            })
        };
        if self.epochs == 0 {
            return bad(Setting::Epochs, &self.epochs, "at least 1");
        }
        if self.latent == 0 {
            return bad(Setting::Latent, &self.latent, "at least 1");
        }
        if self.latent > MAX_LATENT {
            return Err(Error::OutOfRange {
                setting: Setting::Latent,
                value: self.latent,
                max: MAX_LATENT,
            });
        }
        if self.batch == 0 {
            return bad(Setting::Batch, &self.batch, "at least 1");
        }
        if !(self.adam.lr.is_finite() && self.adam.lr > 0.0) {
            return bad(Setting::LearningRate, &self.adam.lr, "a positive number");
        }
        if !(0.0..=1.0).contains(&self.slope) {
            return bad(Setting::Slope, &self.slope, "in [0, 1]");
        }
        Ok(())
    }
}

/// How to run (not part of the result).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the checkpoint lives.
    pub checkpoint: PathBuf,
    /// Continue from the checkpoint instead of starting afresh.
    pub resume: bool,
    /// Worker threads (1 runs the shards one after the other; the result is the same).
    pub threads: usize,
    /// Set (by Ctrl-C) to stop after the current batch, saving the state.
    pub interrupt: Arc<AtomicBool>,
    /// Behave as if interrupted once this many steps have run in this process (for tests and
    /// time-boxed runs).
    pub stop_after_steps: Option<u64>,
}

impl RunOptions {
    /// Defaults: [`DEFAULT_THREADS`] threads, checkpoint at `checkpoint`.
    pub fn new(checkpoint: PathBuf) -> Self {
        RunOptions {
            checkpoint,
            resume: false,
            threads: DEFAULT_THREADS,
            interrupt: Arc::new(AtomicBool::new(false)),
            stop_after_steps: None,
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Trained parameters.
    pub params: Params,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
}

/// What the training loop tells whoever watches it: a progress bar, a log, a test. The loop owns
/// no display of its own, so a library caller gets silence unless it asks for more. Every method
/// does nothing unless overridden.
pub trait Observer {
    /// Epoch `epoch` (0-based) of `epochs` starts (or resumes) with `batches` batches in all.
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let _ = (epoch, epochs, batches);
    }
    /// `done` batches of the epoch are done; `mean_loss` is the epoch's mean loss so far.
    fn batch_done(&mut self, done: usize, mean_loss: f64) {
        let _ = (done, mean_loss);
    }
    /// The epoch is done (`record.epoch` is 1-based) out of `epochs`.
    fn epoch_done(&mut self, record: &EpochRecord, epochs: usize) {
        let _ = (record, epochs);
    }
    /// The epoch stops early (interrupted or diverged).
    fn stopped(&mut self) {}
}

/// An [`Observer`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Trains on `train`, reporting the loss on `val` (which may be empty) after each epoch, silently.
pub fn train(
    config: &TrainConfig,
    train: &ImageSet,
    val: &ImageSet,
    opts: &RunOptions,
) -> Result<Outcome> {
    train_observed(config, train, val, opts, &mut Silent)
}

/// [`train`], telling `observer` about every batch and epoch.
pub fn train_observed(
    config: &TrainConfig,
    train: &ImageSet,
    val: &ImageSet,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    config.validate()?;
    if train.count() == 0 {
        return Err(Error::NoImages(ImagesFor::Training));
    }
    let input = train.image_len();
    check_size(input, config.latent)?;
    let fingerprint = checkpoint::fingerprint(train);
    let mut state = if opts.resume {
        State::load(&opts.checkpoint, config, input, &fingerprint)?
    } else {
        State::fresh(config, input, fingerprint)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(Error::Threads)?;
    let mut shards: Vec<Shard> = (0..SHARDS)
        .map(|_| Shard::new(input, config.latent, 0))
        .collect();
    let mut eval_shard = Shard::new(input, config.latent, 0);
    let batches = train.count().div_ceil(config.batch);
    let mut steps_here = 0u64;

    while state.epoch < config.epochs {
        let epoch = state.epoch;
        let order = epoch_order(config.seed, epoch, train.count());
        observer.epoch_started(epoch, config.epochs, batches);
        let started = Instant::now();
        for b in state.batch..batches {
            let idx = &order[b * config.batch..((b + 1) * config.batch).min(train.count())];
            let loss = step(&pool, &mut shards, &mut state, train, idx);
            state.loss_sum += loss;
            state.loss_count += (idx.len() * input) as u64;
            let mean = loss / (idx.len() * input) as f64;
            if !mean.is_finite() {
                observer.stopped();
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    batch: b,
                    loss: mean,
                    checkpoint: opts.checkpoint.clone(),
                });
            }
            state.batch = b + 1;
            steps_here += 1;
            observer.batch_done(b + 1, state.loss_sum / state.loss_count as f64);
            let stop = opts.interrupt.load(Ordering::SeqCst)
                || opts.stop_after_steps.is_some_and(|n| steps_here >= n);
            if stop && state.batch < batches {
                state.seconds += started.elapsed().as_secs_f64();
                observer.stopped();
                state.save(&opts.checkpoint)?;
                return Err(Error::Interrupted {
                    checkpoint: opts.checkpoint.clone(),
                });
            }
        }
        state.seconds += started.elapsed().as_secs_f64();
        let val_loss = (val.count() > 0).then(|| mean_loss(&state.params, val, &mut eval_shard));
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: state.loss_sum / state.loss_count.max(1) as f64,
            val_loss,
            seconds: state.seconds,
        };
        observer.epoch_done(&record, config.epochs);
        if !state
            .params
            .tensors()
            .iter()
            .all(|t| t.iter().all(|v| v.is_finite()))
        {
            return Err(Error::Diverged {
                epoch: epoch + 1,
                batch: batches,
                loss: f64::NAN,
                checkpoint: opts.checkpoint.clone(),
            });
        }
        state.history.push(record);
        state.epoch += 1;
        state.batch = 0;
        state.loss_sum = 0.0;
        state.loss_count = 0;
        state.seconds = 0.0;
        state.save(&opts.checkpoint)?;
        if opts.interrupt.load(Ordering::SeqCst) && state.epoch < config.epochs {
            return Err(Error::Interrupted {
                checkpoint: opts.checkpoint.clone(),
            });
        }
    }
    Ok(Outcome {
        params: state.params,
        history: state.history,
    })
}

/// Fails with [`Error::TooManyParams`] unless the model fits in [`MAX_PARAMS`].
pub fn check_size(input: usize, latent: usize) -> Result<()> {
    match param_count(input, latent) {
        Some(_) => Ok(()),
        None => Err(Error::TooManyParams {
            input,
            latent,
            max: MAX_PARAMS,
        }),
    }
}

/// The order of the training images in `epoch` (0-based): a shuffle drawn from its own stream.
pub fn epoch_order(seed: u64, epoch: usize, count: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    let mut order: Vec<usize> = (0..count).collect();
    order.shuffle(&mut rng);
    order
}

/// Initial parameters for a run (stream 0 of the seed).
pub fn initial_params(config: &TrainConfig, input: usize) -> Params {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    Params::glorot(input, config.latent, config.slope, &mut rng)
}

/// One batch: forward and backward on each shard (in parallel), gradients summed, Adam step.
/// Returns the summed BCE over the batch's pixels.
fn step(
    pool: &rayon::ThreadPool,
    shards: &mut [Shard],
    state: &mut State,
    set: &ImageSet,
    idx: &[usize],
) -> f64 {
    let input = set.image_len();
    let scale = 1.0 / (idx.len() * input) as f32;
    let per_shard = idx.len().div_ceil(SHARDS);
    let params = &state.params;
    let run = |shard: &mut Shard, part: &[usize]| -> f64 {
        shard.load(part.iter().map(|&i| set.image(i)));
        if part.is_empty() {
            return 0.0;
        }
        let loss = shard.forward(params);
        shard.backward(params, scale);
        loss
    };
    let (first, rest) = idx.split_at(per_shard.min(idx.len()));
    let (a, b) = shards.split_at_mut(1);
    let (la, lb) = pool.join(|| run(&mut a[0], first), || run(&mut b[0], rest));
    let ga = shards[0].grads.tensors();
    let gb = (!rest.is_empty()).then(|| shards[1].grads.tensors());
    let adam_step = state.adam.begin_step();
    // Adam is element-wise: each tensor is cut in two halves updated on the two threads. The
    // shard gradients are added inside the update (a + b, in that order, for every element).
    let (mut low, mut high) = (Vec::with_capacity(4), Vec::with_capacity(4));
    let tensors = state
        .params
        .tensors_mut()
        .into_iter()
        .zip(&mut state.adam.m)
        .zip(&mut state.adam.v);
    for (t, ((p, m), v)) in tensors.enumerate() {
        let mid = p.len() / 2;
        let (p0, p1) = p.split_at_mut(mid);
        let (m0, m1) = m.split_at_mut(mid);
        let (v0, v1) = v.split_at_mut(mid);
        let (g0, g1) = ga[t].split_at(mid);
        let (h0, h1) = match gb {
            Some(gb) => {
                let (h0, h1) = gb[t].split_at(mid);
                (Some(h0), Some(h1))
            }
            None => (None, None),
        };
        low.push(AdamSlice {
            p: p0,
            g: g0,
            g2: h0,
            m: m0,
            v: v0,
        });
        high.push(AdamSlice {
            p: p1,
            g: g1,
            g2: h1,
            m: m1,
            v: v1,
        });
    }
    let apply_all = |slices: Vec<AdamSlice<'_>>| {
        for s in slices {
            adam_step.apply(s.p, s.g, s.g2, s.m, s.v);
        }
    };
    pool.join(|| apply_all(low), || apply_all(high));
    la + lb
}

/// One contiguous piece of a parameter tensor with its gradient parts and Adam moments.
struct AdamSlice<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    g2: Option<&'a [f32]>,
    m: &'a mut [f32],
    v: &'a mut [f32],
}

/// Mean BCE of `params` over `set`, forward only.
pub fn mean_loss(params: &Params, set: &ImageSet, shard: &mut Shard) -> f64 {
    let mut total = 0.0;
    for start in (0..set.count()).step_by(256) {
        let end = (start + 256).min(set.count());
        shard.load((start..end).map(|i| set.image(i)));
        total += shard.forward(params);
    }
    total / (set.count() * set.image_len()).max(1) as f64
}

#[doc(hidden)]
pub fn new_adam(config: &TrainConfig, params: &Params) -> Adam {
    Adam::new(config.adam, &params.tensors().map(|t| t.len()))
}
