//! 16-byte alignment for embedded model bytes.
//!
//! Float weights are read in place as `&[f32]`, which needs 4-byte alignment; `include_bytes!`
//! only guarantees 1. Wrapping the bytes in [`Aligned`] fixes that at compile time:
//!
//! ```ignore
//! static MODEL: &ae_core::Aligned<[u8]> = &ae_core::Aligned(*include_bytes!("model.tnae"));
//! let model = ae_core::Mnist::from_bytes(&MODEL.0)?;
//! ```

/// Bytes (or anything) placed at a 16-byte aligned address.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligned<T: ?Sized>(pub T);
