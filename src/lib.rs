//! Host for tinyae's cross-crate integration tests (`tests/`) and criterion benchmarks (`benches/`).
//!
//! The real code lives in [`ae_core`] (no_std inference and the model file format) and [`trainer`]
//! (the `ae` command-line tool). This crate only re-exports them so the top-level tests and benches
//! can reach both through one dependency.

pub use ae_core;
pub use trainer;
