//! The trainer's error type: one variant per thing a user can get wrong or run into, each with a
//! message that names the file and the problem.
//!
//! Why typed: a caller (the `ae` binary, a test, another tool) can match on what went wrong and
//! reach the foreign error underneath through `source()`, instead of parsing a string; and the
//! library stays free of command-line vocabulary, which only the binary knows.

use std::path::PathBuf;

/// Everything the trainer library can fail with.
///
/// Messages carry values, never command-line flags: the `ae` binary maps a [`Setting`] to its flag
/// and adds the hint a command-line user needs (`pass --force`, `try a lower --lr`). A variant that
/// wraps a foreign error keeps it as its [`source`](std::error::Error::source).
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
        /// What is wrong with it (tinyae's own words, not a foreign error).
        problem: String,
    },
    /// A data stream broke off while being read (a corrupt or truncated `.gz`, a failing disk).
    #[error("{path}: cannot be read ({source}); a corrupt or truncated .gz file looks like this")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        source: std::io::Error,
    },
    /// A picture file does not decode.
    #[error("{path}: cannot be read as an image ({source})")]
    Picture {
        /// The file.
        path: PathBuf,
        /// What the image decoder said.
        source: image::ImageError,
    },
    /// A picture is not the size the model takes, or not 8-bit grey, and converting it was not
    /// asked for.
    #[error(
        "{path}: is {width}x{height} {color:?}; the model takes {cols}x{rows} 8-bit grayscale"
    )]
    PictureNeedsConverting {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: usize,
        /// Its height.
        height: usize,
        /// Its pixel type.
        color: image::ColorType,
        /// The model's image height.
        rows: usize,
        /// The model's image width.
        cols: usize,
    },
    /// A picture of a training folder is colour or 16-bit, and converting it was not asked for.
    #[error("{path}: is {color:?}, not 8-bit grayscale")]
    PictureNotGrey {
        /// The file.
        path: PathBuf,
        /// Its pixel type.
        color: image::ColorType,
    },
    /// A picture cannot be encoded.
    #[error("{path}: cannot encode the image: {source}")]
    PictureEncode {
        /// The file that was to be written.
        path: PathBuf,
        /// What the image encoder said.
        source: image::ImageError,
    },
    /// A training-history file is not valid JSON of a history.
    #[error("{path}: not a training history: {source}")]
    History {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A code file is not valid.
    #[error("{path}: {source}")]
    CodeFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::codec::CodeFileError,
    },
    /// Something could not be encoded as JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Json {
        /// What was being encoded (`the history`, `the metrics`).
        what: &'static str,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// A data directory lacks a file.
    #[error("{dir}: no {name} (or {name}.gz) in this directory, and no train/ and test/ picture folders")]
    MissingDataFile {
        /// The directory searched.
        dir: PathBuf,
        /// The IDX file name.
        name: String,
    },
    /// The system has no cache directory for downloaded data.
    #[error("no cache directory on this system")]
    NoCacheDir,
    /// Downloading failed on every mirror.
    #[error("could not download {name}: {failures}")]
    Download {
        /// The file.
        name: String,
        /// Why each mirror failed (the last one is the `source`).
        #[source]
        failures: crate::data::download::MirrorFailures,
    },
    /// A model file failed to load.
    #[error("{path}: {source}")]
    Model {
        /// The file.
        path: PathBuf,
        /// The format error.
        source: ae_core::Error,
    },
    /// ae-core refused to run a model on an image.
    #[error("cannot run the model: {source}")]
    ModelRun {
        /// ae-core's error.
        source: ae_core::Error,
    },
    /// ae-core refused to write a model file.
    #[error("cannot encode the {kind} model: {source}")]
    ModelEncode {
        /// `float` or `int8`.
        kind: ae_core::format::ModelKind,
        /// ae-core's error.
        source: ae_core::Error,
    },
    /// A rescaling factor of the int8 model has no fixed-point form.
    #[error("cannot represent a rescaling factor {factor:e}: {source}")]
    Requant {
        /// The real factor.
        factor: f64,
        /// ae-core's error.
        source: ae_core::Error,
    },
    /// The model file is float where int8 is needed.
    #[error("{0} is a float model; codes are 8-bit")]
    NotInt8(PathBuf),
    /// The model file is int8 where float is needed.
    #[error("{0} is already an int8 model")]
    NotFloat(PathBuf),
    /// An int8 model without an entropy model was asked for entropy coding.
    #[error("{0} has no entropy model (it was exported by an older tinyae)")]
    NoEntropyModel(PathBuf),
    /// Images larger than a model or code file can describe.
    #[error("images of {rows}x{cols} pixels are too large for a model file")]
    ShapeTooLarge {
        /// Image height.
        rows: usize,
        /// Image width.
        cols: usize,
    },
    /// The model takes images of another size than the data has.
    #[error("the model takes {model_pixels} pixels per image but the data has {rows}x{cols} = {}", rows * cols)]
    ImageSize {
        /// Pixels per image of the model.
        model_pixels: usize,
        /// Image height of the data.
        rows: usize,
        /// Image width of the data.
        cols: usize,
    },
    /// Input images have another shape than the model takes.
    #[error("{path}: images are {cols}x{rows}, the model takes {model_cols}x{model_rows}")]
    InputShape {
        /// The input file.
        path: PathBuf,
        /// Its image height.
        rows: usize,
        /// Its image width.
        cols: usize,
        /// The model's image height.
        model_rows: usize,
        /// The model's image width.
        model_cols: usize,
    },
    /// The training and test images of a data directory differ in size.
    #[error("{dir}: training images are {}x{} but test images are {}x{}", train.0, train.1, test.0, test.1)]
    SplitShapes {
        /// The data directory.
        dir: PathBuf,
        /// (rows, cols) of the training images.
        train: (usize, usize),
        /// (rows, cols) of the test images.
        test: (usize, usize),
    },
    /// A set of images needed for something holds none.
    #[error("{0}")]
    NoImages(ImagesFor),
    /// Pixels, count and shape of an image set do not agree.
    #[error("{pixels} pixels are not {count} images of {rows}x{cols}")]
    ImageSetShape {
        /// Pixels given.
        pixels: usize,
        /// Images declared.
        count: usize,
        /// Image height.
        rows: usize,
        /// Image width.
        cols: usize,
    },
    /// A setting has a value nothing can be done with.
    #[error("{setting} must be {expected}, got {value}")]
    InvalidSetting {
        /// Which setting.
        setting: Setting,
        /// The value given, as text.
        value: String,
        /// What it must be (`at least 1`, `in [0, 1)`).
        expected: &'static str,
    },
    /// The validation fraction takes every training image.
    #[error("a validation fraction of {fraction} leaves no training images")]
    NoTrainingImagesLeft {
        /// The fraction.
        fraction: f64,
    },
    /// PCA was asked for more components than pixels, or given fewer than two images.
    #[error("PCA needs 1 <= components <= {pixels} and at least 2 images (got {components} components, {images} images)")]
    PcaComponents {
        /// Components asked for.
        components: usize,
        /// Pixels per image.
        pixels: usize,
        /// Training images.
        images: usize,
    },
    /// An entropy model cannot be fitted on these codes.
    #[error("cannot fit an entropy model on {bytes} code bytes of {latent} dimensions")]
    EntropyFit {
        /// Code bytes given.
        bytes: usize,
        /// Latent dimensions.
        latent: usize,
    },
    /// Drawing a figure failed.
    #[error("drawing failed: {source}")]
    Figure {
        /// What the plotting library said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The figures' embedded font could not be registered.
    #[error("cannot load the embedded font")]
    Font,
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(#[source] rayon::ThreadPoolBuildError),
    /// Training produced NaN or infinity.
    #[error("training diverged at epoch {epoch}, batch {batch} (loss {loss}); the last good checkpoint is kept at {checkpoint}")]
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
    /// Training was interrupted (Ctrl-C); the checkpoint holds the state to resume from.
    #[error("interrupted; state saved to {checkpoint}")]
    Interrupted {
        /// Where the state is.
        checkpoint: PathBuf,
    },
    /// A checkpoint cannot be used for this run.
    #[error("{path}: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it cannot be used (tinyae's own words).
        problem: String,
    },
    /// A checkpoint cannot be encoded or decoded.
    #[error("{path}: cannot {action} the checkpoint ({source})")]
    CheckpointCodec {
        /// The checkpoint file.
        path: PathBuf,
        /// `encode` or `decode`.
        action: &'static str,
        /// What postcard said.
        source: postcard::Error,
    },
    /// An output file exists and would be replaced.
    #[error("{0} already exists")]
    WouldOverwrite(PathBuf),
    /// An output path holds something other than a regular file; `ae` never replaces those.
    #[error("{path} is a {kind}, not a regular file: ae only ever replaces regular files")]
    OutputNotRegular {
        /// The output path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// An input path is not a regular file (reading a FIFO or a device could hang or never end).
    #[error("{path} is a {kind}, not a regular file: ae only reads regular files")]
    InputNotRegular {
        /// The input path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// An input file is larger than `ae` reads for this kind of file.
    #[error("{path} is larger than {limit} bytes, the most ae reads for {what}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What kind of file it should be.
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// An output directory (of `report`, `pipeline`) is a file.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// Another `ae` holds the advisory lock of an output.
    #[error("{path} is being written by another ae process (it holds the lock {lock}); wait for it to finish")]
    Locked {
        /// The output.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Training would start afresh over the checkpoint of an earlier run.
    #[error("{0} holds the checkpoint of an earlier run")]
    CheckpointExists(PathBuf),
    /// The model output names the file that holds one of its siblings.
    #[error("{path} is also the {sibling} path of this run: choose a model file name such as model.tnae")]
    OutputClash {
        /// The output.
        path: PathBuf,
        /// Which sibling (`checkpoint`, `history`).
        sibling: &'static str,
    },
    /// A checkpoint has already trained past the requested number of epochs.
    #[error("{path}: the checkpoint is already at epoch {at_epoch} (batch {batch}), past the {epochs} epochs of this run")]
    CheckpointPastEnd {
        /// The checkpoint.
        path: PathBuf,
        /// 1-based epoch the checkpoint is in (or has finished, at batch 0 of the next).
        at_epoch: usize,
        /// Next batch within that epoch.
        batch: usize,
        /// The epochs asked for.
        epochs: usize,
    },
    /// A checkpoint was made with a different setting than this run's.
    #[error("{path}: the checkpoint was made with other settings: {setting} is {checkpoint} there and {given} in this run; only the number of epochs may change on resuming")]
    ResumeMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The setting that differs.
        setting: Setting,
        /// Its value in the checkpoint.
        checkpoint: String,
        /// Its value in this run.
        given: String,
    },
    /// A setting is above the bound `ae` allows for it.
    #[error("{setting} {value} is out of range (at most {max})")]
    OutOfRange {
        /// The setting.
        setting: Setting,
        /// The value given.
        value: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The model would have more parameters than `ae` allocates.
    #[error("a model of {input} pixels and {latent} latent units has more than {max} parameters")]
    TooManyParams {
        /// Pixels per image.
        input: usize,
        /// Latent units.
        latent: usize,
        /// The bound.
        max: usize,
    },
    /// PCA would need more memory than `ae` allocates.
    #[error("PCA of {images} images of {pixels} pixels is too large (at most {max_pixels} pixels per image and {max_values} pixels in all)")]
    PcaTooLarge {
        /// Pixels per image.
        pixels: usize,
        /// Training images.
        images: usize,
        /// Bound on pixels per image.
        max_pixels: usize,
        /// Bound on pixels x images.
        max_values: usize,
    },
    /// A header declares more image data than `ae` allocates.
    #[error(
        "{images} images of {pixels} pixels are more than the {max} pixels ae handles at once"
    )]
    ImagesTooLarge {
        /// Images declared.
        images: usize,
        /// Pixels per image.
        pixels: usize,
        /// The bound.
        max: usize,
    },
    /// A model produced NaN or infinity where a number was expected.
    #[error("the model produced a non-finite {what} (NaN or infinity): its weights are too large or corrupt, so no PSNR can be given")]
    NonFinite {
        /// What was not finite (`output`, `loss`, ...).
        what: &'static str,
    },
}

/// A setting of a run, named in errors by what it is; the `ae` binary names it by its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// Epochs to train.
    Epochs,
    /// Latent units.
    Latent,
    /// Images per batch.
    Batch,
    /// Adam's learning rate.
    LearningRate,
    /// Seed of initialization and shuffling.
    Seed,
    /// The LeakyReLU slope.
    Slope,
    /// Adam's beta1.
    AdamBeta1,
    /// Adam's beta2.
    AdamBeta2,
    /// Adam's epsilon.
    AdamEpsilon,
    /// Pixels per image.
    PixelsPerImage,
    /// Worker threads.
    Threads,
    /// Fraction of the training images kept for validation.
    ValFraction,
    /// Images per report figure.
    FigureImages,
    /// Standard deviation of the denoising figure's noise.
    Noise,
    /// Image side of an architecture without a model file.
    Side,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Epochs => "the number of epochs",
            Setting::Latent => "the number of latent units",
            Setting::Batch => "the batch size",
            Setting::LearningRate => "the learning rate",
            Setting::Seed => "the seed",
            Setting::Slope => "the LeakyReLU slope",
            Setting::AdamBeta1 => "Adam beta1",
            Setting::AdamBeta2 => "Adam beta2",
            Setting::AdamEpsilon => "Adam epsilon",
            Setting::PixelsPerImage => "pixels per image",
            Setting::Threads => "the number of worker threads",
            Setting::ValFraction => "the validation fraction",
            Setting::FigureImages => "the number of images per figure",
            Setting::Noise => "the noise level",
            Setting::Side => "the image side",
        })
    }
}

/// What a set of images was needed for, when it holds none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImagesFor {
    /// Training.
    Training,
    /// Evaluating a split.
    Evaluation,
    /// Calibrating the int8 latent range.
    Calibration,
    /// Coding (`compress`).
    Coding,
}

impl std::fmt::Display for ImagesFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImagesFor::Training => "no training images",
            ImagesFor::Evaluation => "the selected split has no images",
            ImagesFor::Calibration => "no calibration images",
            ImagesFor::Coding => "no input images",
        })
    }
}

/// What a path is, for errors about paths that are not regular files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A character device (`/dev/null`, `/dev/zero`).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "directory",
            FileKind::Symlink => "symbolic link",
            FileKind::Fifo => "FIFO (named pipe)",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::Socket => "socket",
            FileKind::Other => "special file",
        })
    }
}

impl FileKind {
    /// What `t` is, or `None` for a regular file.
    pub fn of(t: std::fs::FileType) -> Option<FileKind> {
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some(FileKind::Directory);
        }
        if t.is_symlink() {
            return Some(FileKind::Symlink);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Some(FileKind::Fifo);
            }
            if t.is_char_device() {
                return Some(FileKind::CharDevice);
            }
            if t.is_block_device() {
                return Some(FileKind::BlockDevice);
            }
            if t.is_socket() {
                return Some(FileKind::Socket);
            }
        }
        Some(FileKind::Other)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn foreign_errors_are_kept_as_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.history.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let e = crate::train::history::History::load(&path).unwrap_err();
        assert!(matches!(e, Error::History { .. }), "{e}");
        let source = e.source().expect("the JSON error is kept");
        assert!(source.downcast_ref::<serde_json::Error>().is_some());
        assert!(e.to_string().contains("not a training history"), "{e}");
    }

    #[test]
    fn library_messages_name_settings_not_flags() {
        let e = crate::train::TrainConfig {
            epochs: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidSetting {
                    setting: Setting::Epochs,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the number of epochs must be at least 1, got 0"
        );
    }
}
