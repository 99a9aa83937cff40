//! The tinyae model file: what is stored, how it is framed, and how it is checked.
//!
//! A model file is `body ‖ crc32(body)` (CRC-32/ISO-HDLC, little-endian). The body is a postcard
//! encoding of the `ModelFile` struct: magic `TNAE`, format version, dimensions, LeakyReLU slope, then
//! either float or int8 parameters. Tensors are byte strings borrowed from the file, so loading
//! copies nothing: on a microcontroller the weights are read from flash where they lie.
//! `FORMAT.md` next to this crate is the normative specification.
//!
//! Parsing is total. [`ModelRef::parse`] checks, in order: magic, length, checksum, version, the
//! postcard body, tensor lengths against the dimensions, and every value the kernels rely on.
//! Anything else is an [`Error`](crate::Error); no byte string makes it panic or read out of bounds.

mod len;
mod parse;
pub(crate) mod validate;
mod wire;
mod write;

pub use len::{float_file_len, int8_file_len};
pub use parse::{FloatRef, Int8Ref, ModelRef, QuantLayerRef};
pub use write::{
    write_float, write_float_shaped, write_int8, write_int8_shaped, EntropyTensors, FloatTensors,
    Int8Tensors, QuantLayerTensors,
};

pub use crate::error::ModelKind;

/// The four bytes every tinyae model file starts with.
pub const MAGIC: [u8; 4] = *b"TNAE";
/// The format version this build writes (it also reads [`FORMAT_V1`]).
pub const FORMAT_VERSION: u16 = 2;
/// The first format version: no image shape, no entropy model. Still read.
pub const FORMAT_V1: u16 = 1;
/// The entropy model's tensors start at a multiple of this many bytes from the start of the file.
pub const ENTROPY_ALIGN: usize = 4;
/// Float tensors start at a multiple of this many bytes from the start of the file.
pub const TENSOR_ALIGN: usize = 16;
/// Bytes of the CRC-32 trailer.
pub const CRC_LEN: usize = 4;
/// The input quantization every int8 model uses: a pixel `p` stands for `p / 255`.
pub const INPUT_SCALE: f32 = 1.0 / 255.0;

/// One 1 KiB table on boards, where flash counts; sixteen (16 KiB, several times faster) with
/// `std`, where the host checks and writes files of megabytes.
#[cfg(not(feature = "std"))]
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
#[cfg(feature = "std")]
const CRC32: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the one zip and PNG use) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// Dimensions of a model: `input -> latent -> input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dims {
    /// Values per image (784 for MNIST).
    pub input: u32,
    /// Values per code (64 for the reference model).
    pub latent: u32,
}

/// The image a model's input is: `rows x cols` pixels, row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// Image height.
    pub rows: u32,
    /// Image width.
    pub cols: u32,
}

impl Shape {
    /// The shape a version-1 file (which stores none) stands for: `s x s` when `input` is a
    /// square number `s * s`, else one row of `input` pixels.
    pub const fn implied_by(input: u32) -> Self {
        let side = input.isqrt();
        if side * side == input {
            Shape {
                rows: side,
                cols: side,
            }
        } else {
            Shape {
                rows: 1,
                cols: input,
            }
        }
    }

    /// `rows * cols`, `None` when it does not fit in `u32`.
    pub const fn pixels(self) -> Option<u32> {
        self.rows.checked_mul(self.cols)
    }
}

impl Dims {
    /// `(input, latent)` as `usize`.
    pub fn as_usize(self) -> (usize, usize) {
        (self.input as usize, self.latent as usize)
    }

    /// Weights in one dense layer (`input * latent`), `None` on overflow.
    pub fn weights_per_layer(self) -> Option<usize> {
        (self.input as usize).checked_mul(self.latent as usize)
    }
}
