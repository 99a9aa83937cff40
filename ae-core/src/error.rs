//! The one error type of `ae-core`.
//!
//! Every way a model file can be wrong has its own variant, so a caller (or a firmware log) can
//! tell a flashing mistake (checksum) from a tooling mistake (dimensions, version).

use core::fmt;

/// Everything that can go wrong when loading a model or calling it with the wrong sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a complete model file (shorter than the frame, or a field cut off).
    Truncated,
    /// The CRC-32 stored at the end of the file does not match its contents.
    ChecksumMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC computed over the file's contents.
        computed: u32,
    },
    /// The file does not start with the tinyae magic bytes `TNAE`.
    BadMagic,
    /// The file's format version is not one this build reads.
    UnsupportedVersion(u16),
    /// The model's dimensions differ from the ones the caller expects.
    DimsMismatch {
        /// `(input, latent)` the caller expects.
        expected: (u32, u32),
        /// `(input, latent)` stored in the file.
        found: (u32, u32),
    },
    /// The file holds the other kind of model (float where int8 was asked for, or the reverse).
    WrongKind {
        /// Kind the caller asked for.
        expected: ModelKind,
        /// Kind stored in the file.
        found: ModelKind,
    },
    /// The postcard body could not be decoded (bad varint, bad enum tag, ...).
    Malformed,
    /// Bytes follow the model body before the checksum.
    TrailingBytes,
    /// A tensor has a byte length that does not fit the model's dimensions.
    TensorLength {
        /// Which tensor.
        tensor: &'static str,
        /// Bytes expected from the dimensions.
        expected: usize,
        /// Bytes found in the file.
        found: usize,
    },
    /// A parameter holds a value the model cannot run with (zero or NaN scale, bad shift, ...).
    InvalidValue(&'static str),
    /// Float weights are not 4-byte aligned in memory: wrap the bytes in [`crate::Aligned`].
    Misaligned,
    /// A coded image does not fit in the bytes allowed, even at the coarsest step rate control tries.
    DoesNotFit {
        /// Bytes allowed (step byte included).
        max_bytes: usize,
    },
    /// A coded image is not one the entropy coder produces (bad step byte, corrupt payload).
    CorruptCode,
    /// A caller-provided buffer has the wrong length.
    BufferSize {
        /// Length needed.
        expected: usize,
        /// Length given.
        found: usize,
    },
}

impl Error {
    /// [`Error::BufferSize`] unless a buffer of length `found` has the `expected` length.
    pub(crate) fn check_len(expected: usize, found: usize) -> Result<(), Error> {
        if expected == found {
            Ok(())
        } else {
            Err(Error::BufferSize { expected, found })
        }
    }
}

/// The two kinds of model a file can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `f32` weights, run by [`crate::FloatModel`].
    Float,
    /// int8 weights with fixed-point requantization, run by [`crate::Int8Model`].
    Int8,
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Float => "float",
            ModelKind::Int8 => "int8",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("model file is truncated"),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "model file checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupted"
            ),
            Error::BadMagic => f.write_str("not a tinyae model file (bad magic bytes)"),
            Error::UnsupportedVersion(v) => write!(
                f,
                "unsupported model format version {v} (this build reads version {})",
                crate::format::FORMAT_VERSION
            ),
            Error::DimsMismatch { expected, found } => write!(
                f,
                "model is {}->{} but {}->{} was expected",
                found.0, found.1, expected.0, expected.1
            ),
            Error::WrongKind { expected, found } => {
                write!(f, "model is {found} but a {expected} model was expected")
            }
            Error::Malformed => f.write_str("model file body is malformed"),
            Error::TrailingBytes => f.write_str("model file has unexpected bytes after its body"),
            Error::TensorLength { tensor, expected, found } => write!(
                f,
                "tensor `{tensor}` has {found} bytes, the model's dimensions need {expected}"
            ),
            Error::InvalidValue(what) => write!(f, "invalid model parameter: {what}"),
            Error::Misaligned => f.write_str(
                "float weights are not 4-byte aligned in memory (wrap the bytes in ae_core::Aligned)",
            ),
            Error::DoesNotFit { max_bytes } => {
                write!(f, "the coded image does not fit in {max_bytes} bytes")
            }
            Error::CorruptCode => f.write_str("the coded image is corrupt"),
            Error::BufferSize { expected, found } => {
                write!(f, "buffer has length {found}, {expected} is needed")
            }
        }
    }
}

impl core::error::Error for Error {}
