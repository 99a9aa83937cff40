//! `format::float_file_len` and `format::int8_file_len` are the exact lengths the writer produces:
//! for shapes and latent sizes on both sides of every varint boundary, float and int8, with and
//! without an entropy model, a buffer of that length takes the file and one byte less does not.

mod common;

use ae_core::format::{self, EntropyTensors, FloatTensors, Int8Tensors, QuantLayerTensors, Shape};
use ae_core::requant::Requant;
use ae_core::Error;
use proptest::prelude::*;

/// Writes with `write` into a buffer of exactly `len` bytes and checks that it fills it, then
/// that a buffer one byte shorter is refused with that length.
fn fills_exactly(len: usize, write: impl Fn(&mut [u8]) -> Result<usize, Error>) {
    let mut out = vec![0u8; len];
    assert_eq!(write(&mut out), Ok(len));
    let mut short = vec![0u8; len - 1];
    assert_eq!(
        write(&mut short),
        Err(Error::BufferSize {
            expected: len,
            found: len - 1
        })
    );
}

fn float_written(shape: Shape, latent: u32) -> usize {
    let (input, latent_n) = (shape.pixels().unwrap() as usize, latent as usize);
    let ew = vec![0.25f32; input * latent_n];
    let eb = vec![0.5f32; latent_n];
    let dw = vec![-0.25f32; input * latent_n];
    let db = vec![0.125f32; input];
    let t = FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    let len = format::float_file_len(shape, latent).expect("valid sizes have a length");
    fills_exactly(len, |out| {
        format::write_float_shaped(shape, latent, 0.3, &t, out)
    });
    len
}

fn int8_written(shape: Shape, latent: u32, entropy: bool) -> usize {
    let (input, l) = (shape.pixels().unwrap() as usize, latent as usize);
    let rq = Requant::from_real(0.01).unwrap();
    let enc_w: Vec<i8> = (0..input * l).map(|k| (k % 7) as i8 - 3).collect();
    let dec_w: Vec<i8> = (0..input * l).map(|k| (k % 5) as i8 - 2).collect();
    let t = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: 128,
        encoder: QuantLayerTensors {
            weights: &enc_w,
            bias: &vec![7; l],
            multipliers: &vec![rq.multiplier; 2 * l],
            shifts: &vec![rq.shift; 2 * l],
        },
        decoder: QuantLayerTensors {
            weights: &dec_w,
            bias: &vec![-7; input],
            multipliers: &vec![rq.multiplier; input],
            shifts: &vec![rq.shift; input],
        },
    };
    let cumulative: Vec<u16> = (0..l).flat_map(|_| common::peaked_cumulative(3)).collect();
    let predictor_weights = vec![1i16; l * (l - 1) / 2];
    let predictor_bias = vec![0i32; l];
    let tables = EntropyTensors {
        predictor_shift: 8,
        predictor_bias: &predictor_bias,
        cumulative: &cumulative,
        predictor_weights: &predictor_weights,
    };
    let tables = entropy.then_some(&tables);
    let len = format::int8_file_len(shape, latent, entropy).expect("valid sizes have a length");
    fills_exactly(len, |out| {
        format::write_int8_shaped(shape, latent, 0.3, &t, tables, out)
    });
    len
}

#[test]
fn lengths_at_the_varint_boundaries() {
    // Dimensions of 127 and 128 take one and two varint bytes, 16,383 and 16,384 two and three;
    // tensor lengths cross the same boundaries; the padding takes every value.
    let shapes = [
        (1, 1),
        (1, 2),
        (2, 3),
        (28, 28),
        (1, 127),
        (1, 128),
        (127, 1),
        (128, 1),
        (1, 16_383),
        (16_384, 1),
        (3, 43),
    ];
    for (rows, cols) in shapes {
        for latent in [1u32, 2, 3, 31, 32, 127, 128] {
            let shape = Shape { rows, cols };
            if rows * cols * latent > 300_000 {
                continue;
            }
            float_written(shape, latent);
            int8_written(shape, latent, false);
            if latent <= 32 {
                int8_written(shape, latent, true);
            }
        }
    }
}

#[test]
fn the_mnist_files_have_their_known_lengths() {
    let mnist = Shape { rows: 28, cols: 28 };
    // The sizes of the repository's MNIST assets (`ae export`, `ae export --int8`): 14 header
    // bytes, then for the float file 2 bytes of kind and 13 of padding (and its length prefix)
    // before 404,800 tensor bytes with their 3-byte prefix, and the CRC.
    assert_eq!(float_written(mnist, 64), 404_836);
    assert_eq!(int8_written(mnist, 64, true), 145_408);
    // Without the entropy model: its tables (4 + 512 bytes per dimension and 64 * 63 predictor
    // weights), their 3-byte length prefix and 2 bytes of header fewer (no padding here).
    let tables = 64 * (4 + 512) + 64 * 63;
    assert_eq!(int8_written(mnist, 64, false), 145_408 - tables - 5);
}

#[test]
fn sizes_the_writer_refuses_have_no_length() {
    for (shape, latent) in [
        (Shape { rows: 0, cols: 5 }, 3),
        (Shape { rows: 5, cols: 0 }, 3),
        (Shape { rows: 2, cols: 3 }, 0),
        (
            Shape {
                rows: u32::MAX,
                cols: 2,
            },
            1,
        ),
    ] {
        assert_eq!(format::float_file_len(shape, latent), None, "{shape:?}");
        assert_eq!(format::int8_file_len(shape, latent, false), None);
        assert_eq!(format::int8_file_len(shape, latent, true), None);
    }
    // Sizes whose weights could not be addressed: none on 64-bit targets for u32 dimensions
    // unless both are huge.
    let huge = Shape {
        rows: 1,
        cols: u32::MAX,
    };
    assert_eq!(format::float_file_len(huge, u32::MAX), None);
    assert_eq!(format::int8_file_len(huge, u32::MAX, true), None);
}

#[test]
fn the_length_is_a_compile_time_constant() {
    const TINY: usize = match format::float_file_len(Shape::implied_by(2), 1) {
        Some(n) => n,
        None => panic!("valid"),
    };
    let mut buf = common::buf();
    assert_eq!(common::tiny_float(&mut buf), TINY);
    assert_eq!(
        Some(common::tiny_int8(&mut buf)),
        format::int8_file_len(Shape::implied_by(2), 1, false)
    );
    assert_eq!(
        Some(common::small_int8_entropy(&mut buf)),
        format::int8_file_len(Shape { rows: 2, cols: 3 }, 3, true)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lengths_of_random_sizes(rows in 1u32..40, cols in 1u32..300, latent in 1u32..40) {
        let shape = Shape { rows, cols };
        float_written(shape, latent);
        int8_written(shape, latent, false);
        int8_written(shape, latent, true);
    }
}
