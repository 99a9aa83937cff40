//! What `ae` prints when a command fails: the library's error in command-line words.
//!
//! The `trainer` library names settings and files, never flags; this is the one place that knows
//! which flag sets what, and which hint (`pass --force`, `try a lower --lr`) helps someone at a
//! shell. Errors that only the command line can make (contradicting inputs, a float model given
//! to `compress`) are variants here.

use std::path::PathBuf;

use trainer::error::{ImagesFor, Setting};
use trainer::Error;

/// A failed `ae` command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The library failed; shown with flags and hints.
    #[error("{}", render(.0))]
    Lib(Error),
    /// The command line asks for something that cannot be done (shown as `invalid option: ...`).
    #[error("invalid option: {0}")]
    Usage(String),
    /// ae-core refused to code one image.
    #[error("{name}: {source}")]
    Image {
        /// The image: its file, and its position there when the file holds several.
        name: String,
        /// ae-core's error.
        source: ae_core::Error,
    },
    /// The code file's dimensions are not the model's.
    #[error("code file and model dimensions differ (the codes are {codes_input} pixels and {codes_latent} code bytes per image, the model {input} and {latent})")]
    CodesDims {
        /// Pixels per image of the code file.
        codes_input: u32,
        /// Code bytes per image of the code file.
        codes_latent: u32,
        /// Pixels per image of the model.
        input: usize,
        /// Latent units of the model.
        latent: usize,
    },
    /// Entropy-coded codes given with a model that has no entropy model.
    #[error("the codes are entropy-coded but the model has no entropy model")]
    CodesNeedEntropy,
    /// Something went wrong reading one input file.
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: Box<CliError>,
    },
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Lib(e)
    }
}

impl CliError {
    /// The library error inside, if that is what this is.
    pub fn lib(&self) -> Option<&Error> {
        match self {
            CliError::Lib(e) => Some(e),
            _ => None,
        }
    }
}

/// The flag that sets `setting`, or its name in words when no flag does.
pub fn flag(setting: Setting) -> String {
    match setting {
        Setting::Epochs => "--epochs",
        Setting::Latent => "--latent",
        Setting::Batch => "--batch",
        Setting::LearningRate => "--lr",
        Setting::Seed => "--seed",
        Setting::Threads => "--threads",
        Setting::ValFraction => "--val",
        Setting::FigureImages => "--n",
        Setting::Noise => "--noise",
        Setting::Side => "--side",
        other => return other.to_string(),
    }
    .to_string()
}

/// `e` as a command-line user reads it: settings named by their flags, with what to do next.
pub fn render(e: &Error) -> String {
    match e {
        Error::Download { .. } => format!(
            "{e} (offline? pass --data DIR to use images you already have: IDX files or train/ \
             and test/ picture folders)"
        ),
        Error::NoCacheDir => format!("invalid option: {e}: pass --data DIR"),
        Error::Diverged { .. } => format!("{e}: try a lower --lr"),
        Error::Interrupted { .. } => format!("{e}: continue with --resume"),
        Error::WouldOverwrite(_) => format!("{e}: pass --force to replace it"),
        Error::OutputNotRegular { .. } => format!("{e} (even with --force)"),
        Error::NotADirectory(_) => format!("{e}: --out of this command names a directory"),
        Error::CheckpointExists(_) => {
            format!("{e}: pass --resume to continue it or --force to start over")
        }
        Error::OutputClash { .. } => format!("--out {e}"),
        Error::CheckpointPastEnd {
            path,
            at_epoch,
            batch,
            epochs,
        } => format!(
            "{}: the checkpoint is already at epoch {at_epoch} (batch {batch}), past --epochs \
             {epochs}: pass --epochs {at_epoch} or more, or --force to start over",
            path.display()
        ),
        Error::ResumeMismatch {
            path,
            setting,
            checkpoint,
            given,
        } => format!(
            "{}: the checkpoint was made with other settings: {} is {checkpoint} there and \
             {given} in this run; only --epochs may change on --resume",
            path.display(),
            flag(*setting)
        ),
        Error::OutOfRange {
            setting,
            value,
            max,
        } => format!(
            "invalid option: {} {value} is out of range (at most {max})",
            flag(*setting)
        ),
        Error::InvalidSetting {
            setting,
            value,
            expected,
        } => format!(
            "invalid option: {} must be {expected}, got {value}",
            flag(*setting)
        ),
        Error::NoTrainingImagesLeft { .. } => {
            "invalid option: --val leaves no training images".into()
        }
        Error::NoImages(ImagesFor::Evaluation) => {
            format!("{e} (use --val to carve a validation split)")
        }
        Error::TooManyParams { .. } => format!("{e}; use a smaller --latent or smaller images"),
        Error::NotInt8(_) => format!("{e}: run `ae export --int8` and use its output"),
        Error::NoEntropyModel(_) => format!(
            "invalid option: {e}: re-export it with `ae export --int8`, or pass --raw for \
             fixed-size codes"
        ),
        Error::PcaComponents { .. } | Error::EntropyFit { .. } => format!("invalid option: {e}"),
        Error::PictureNeedsConverting { .. } => format!("{e} (pass --resize to convert)"),
        Error::PictureNotGrey { .. } => format!("{e} (pass --grayscale to convert it)"),
        other => other.to_string(),
    }
}
