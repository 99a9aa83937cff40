//! # trainer: the library behind the `ae` command-line tool
//!
//! Trains the tinyae autoencoder on a desktop and exports it for [`ae_core`]. Everything the Keras
//! notebook does is here, by hand: IDX data loading ([`data`]), the forward and backward passes
//! ([`model::backprop`]), Adam ([`optim`]), the training loop with checkpoints ([`train`]),
//! evaluation through ae-core ([`eval`]), int8 post-training quantization and export
//! ([`quantize`]), the PCA baseline ([`pca`]), code files ([`codec`]) and the report ([`report`]).
//!
//! The command line lives only in the `ae` binary (`src/bin/ae/`): it parses flags, calls these
//! modules and prints. Nothing here can import it, so the library speaks in values ([`Error`]
//! names a [`error::Setting`], not a flag) and shows no progress of its own
//! ([`train::Observer`]).
#![deny(missing_docs)]
// No `unsafe` in the trainer, but for one documented exception: the AVX2 dispatch that
// [`multiversion!`] expands to (see `simd.rs`), which allows it where it is generated.
#![deny(unsafe_code)]

pub mod batch;
pub mod codec;
pub mod data;
pub mod entropy_fit;
pub mod error;
pub mod eval;
pub mod fsio;
pub mod limits;
pub mod model;
pub mod optim;
pub mod pca;
pub mod pipeline;
pub mod quantize;
pub mod report;
pub mod simd;
pub mod spread;
pub mod summary;
pub mod train;

pub use error::{Error, Result};
