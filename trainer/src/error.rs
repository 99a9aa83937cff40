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
    #[error("{dir}: no {name} (or {name}.gz) in this directory, and no train/ and test/ picture folders")]
    MissingDataFile {
        /// The directory searched.
        dir: PathBuf,
        /// The IDX file name.
        name: String,
    },
    /// Downloading failed on every mirror.
    #[error("could not download {name}: {reasons} (offline? pass --data DIR to use images you already have: IDX files or train/ and test/ picture folders)")]
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
    /// An output path holds something other than a regular file; `ae` never replaces those.
    #[error("{path} is a {kind}, not a regular file: ae only ever replaces regular files (even with --force)")]
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
    #[error("{0} is not a directory: --out of this command names a directory")]
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
    #[error("{0} holds the checkpoint of an earlier run: pass --resume to continue it or --force to start over")]
    CheckpointExists(PathBuf),
    /// `--out` names the file that holds one of its siblings.
    #[error("--out {path} is also the {sibling} path of this run: choose a model file name such as model.tnae")]
    OutputClash {
        /// The output.
        path: PathBuf,
        /// Which sibling (`checkpoint`, `history`).
        sibling: &'static str,
    },
    /// A checkpoint has already trained past the requested `--epochs`.
    #[error("{path}: the checkpoint is already at epoch {at_epoch} (batch {batch}), past --epochs {epochs}: pass --epochs {at_epoch} or more, or --force to start over")]
    CheckpointPastEnd {
        /// The checkpoint.
        path: PathBuf,
        /// 1-based epoch the checkpoint is in (or has finished, at batch 0 of the next).
        at_epoch: usize,
        /// Next batch within that epoch.
        batch: usize,
        /// The `--epochs` asked for.
        epochs: usize,
    },
    /// A checkpoint was made with a different setting than this run's.
    #[error("{path}: the checkpoint was made with other settings: {setting} is {checkpoint} there and {given} in this run; only --epochs may change on --resume")]
    ResumeMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The setting in plain words (`--latent`, `image size`, ...).
        setting: &'static str,
        /// Its value in the checkpoint.
        checkpoint: String,
        /// Its value in this run.
        given: String,
    },
    /// An option is above the bound `ae` allows for it.
    #[error("invalid option: {option} {value} is out of range (at most {max})")]
    OutOfRange {
        /// The option.
        option: &'static str,
        /// The value given.
        value: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The model would have more parameters than `ae` allocates.
    #[error("a model of {input} pixels and {latent} latent units has more than {max} parameters; use a smaller --latent or smaller images")]
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
