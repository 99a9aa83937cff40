//! The exact length of the model files this build writes, from their sizes alone.
//!
//! A file's length depends only on its shape, its latent size and, for int8 models, whether it
//! carries an entropy model: every tensor's length follows from the dimensions, every scalar has a
//! fixed width, and the varints and the alignment padding follow from those (see `FORMAT.md`).
//! So a caller can size the output of [`write_float_shaped`](super::write_float_shaped) or
//! [`write_int8_shaped`](super::write_int8_shaped) before writing, even in a `const`.

use super::{Shape, ENTROPY_ALIGN, FORMAT_VERSION, MAGIC, TENSOR_ALIGN};
use crate::entropy::SYMBOLS;

/// `?` for `Option` in a `const fn`.
macro_rules! some {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return None,
        }
    };
}

/// Bytes of `v` as a postcard (LEB128) varint.
const fn varint_len(v: usize) -> usize {
    let bits = usize::BITS - v.leading_zeros();
    if bits == 0 {
        1
    } else {
        bits.div_ceil(7) as usize
    }
}

/// Bytes of a postcard byte string of `n` bytes: its varint length, then the bytes.
const fn bytes_len(n: usize) -> Option<usize> {
    n.checked_add(varint_len(n))
}

/// `a + b + ...`, `None` on overflow.
macro_rules! sum {
    ($first:expr $(, $rest:expr)* $(,)?) => {{
        let total: usize = $first;
        $(let total = some!(total.checked_add($rest));)*
        total
    }};
}

/// The bytes every version-2 file starts with, up to and including the LeakyReLU slope, and the
/// dimensions `(input, latent)`; `None` when a dimension is 0 or a size overflows.
const fn header_len(shape: Shape, latent: u32) -> Option<(usize, usize, usize)> {
    let input = some!(shape.pixels());
    if input == 0 || latent == 0 {
        return None;
    }
    let (input, latent) = (input as usize, latent as usize);
    // Two layers of f32 weights must fit in the address space (the writer's own limit).
    let per_layer = some!(input.checked_mul(latent));
    if per_layer.checked_mul(8).is_none() {
        return None;
    }
    let len = sum!(
        MAGIC.len(),
        varint_len(FORMAT_VERSION as usize),
        varint_len(input),
        varint_len(latent),
        varint_len(shape.rows as usize),
        varint_len(shape.cols as usize),
        4, // leaky_slope: f32
    );
    Some((len, input, latent))
}

/// Bytes a padding field takes before tensors whose length prefix would start at `at`, and the
/// zero bytes it holds so that the tensors (after that prefix, `prefix` bytes) start at a multiple
/// of `align`. The padding is under 128 bytes, so its own length prefix is one byte.
const fn padded(at: usize, prefix: usize, align: usize) -> Option<usize> {
    let start = sum!(at, 1, prefix);
    let pad = (align - start % align) % align;
    Some(sum!(1, pad))
}

/// The exact length in bytes of the float model file that [`write_float_shaped`] writes for
/// `shape` images and `latent` code values (CRC included), whatever the weights.
///
/// `None` where the writer refuses the sizes: a dimension of 0, or sizes too large to address.
/// For [`write_float`], pass `Shape::implied_by(input)`.
///
/// ```
/// use ae_core::format::{float_file_len, Shape};
/// // Room for a 2 -> 1 model, computed at compile time.
/// const LEN: usize = float_file_len(Shape::implied_by(2), 1).unwrap();
/// let buf = ae_core::Aligned([0u8; LEN]);
/// # assert_eq!(LEN, buf.0.len());
/// ```
///
/// [`write_float_shaped`]: super::write_float_shaped
/// [`write_float`]: super::write_float
pub const fn float_file_len(shape: Shape, latent: u32) -> Option<usize> {
    let (header, input, latent) = some!(header_len(shape, latent));
    // 2 * input * latent weights and input + latent biases, 4 bytes each; `header_len` checked
    // that 8 * input * latent fits, so the sums below are all that can overflow.
    let values = sum!(2 * input * latent, input, latent);
    let tensors = some!(values.checked_mul(4));
    let at = sum!(header, 1, 1); // entropy: None; params: variant 0 (Float)
    let pad = some!(padded(at, varint_len(tensors), TENSOR_ALIGN));
    Some(sum!(at, pad, some!(bytes_len(tensors)), super::CRC_LEN))
}

/// The exact length in bytes of the int8 model file that [`write_int8_shaped`] writes for
/// `shape` images and `latent` code values, with an entropy model when `entropy` is true (CRC
/// included), whatever the weights and tables.
///
/// `None` where the writer refuses the sizes: a dimension of 0, or sizes too large to address.
/// For [`write_int8`] (no entropy model), pass `Shape::implied_by(input)` and `false`.
///
/// [`write_int8_shaped`]: super::write_int8_shaped
/// [`write_int8`]: super::write_int8
pub const fn int8_file_len(shape: Shape, latent: u32, entropy: bool) -> Option<usize> {
    let (header, input, latent) = some!(header_len(shape, latent));
    let entropy = if entropy {
        // predictor bias i32 [L], cumulative frequencies u16 [L][256], predictor weights
        // i16 [L (L - 1) / 2].
        let tables = sum!(
            some!(latent.checked_mul(4)),
            some!(latent.checked_mul(2 * SYMBOLS)),
            some!(latent.checked_mul(latent - 1)),
        );
        let at = sum!(header, 1, 1); // Some, predictor_shift: u8
        let pad = some!(padded(at, varint_len(tables), ENTROPY_ALIGN));
        sum!(1, 1, pad, some!(bytes_len(tables)))
    } else {
        1 // None
    };
    let per_layer = input * latent;
    let params = sum!(
        1, // params: variant 1 (Int8)
        4, // latent_scale: f32
        1, // latent_zero_point: u8
        some!(layer_len(per_layer, latent, 2)),
        some!(layer_len(per_layer, input, 1)),
    );
    Some(sum!(header, entropy, params, super::CRC_LEN))
}

/// Bytes of one quantized layer: `weights` int8 weights, then per output channel an i32 bias and
/// `branches` (i32 multiplier, u8 shift) pairs, as four byte strings.
const fn layer_len(weights: usize, outputs: usize, branches: usize) -> Option<usize> {
    let requants = some!(outputs.checked_mul(branches));
    Some(sum!(
        some!(bytes_len(weights)),
        some!(bytes_len(some!(outputs.checked_mul(4)))),
        some!(bytes_len(some!(requants.checked_mul(4)))),
        some!(bytes_len(requants)),
    ))
}

#[cfg(test)]
mod tests {
    use super::varint_len;

    #[test]
    fn varint_lengths_at_the_boundaries() {
        for (v, len) in [
            (0, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (usize::MAX, usize::BITS.div_ceil(7) as usize),
        ] {
            assert_eq!(varint_len(v), len, "{v}");
            let mut buf = [0u8; 16];
            let used = postcard::to_slice(&(v as u64), &mut buf).unwrap().len();
            assert_eq!(used, len, "postcard's length of {v}");
        }
    }
}
