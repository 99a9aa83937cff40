//! The float kernels against nalgebra's own matrix-vector product.
//!
//! `FloatModel` takes and returns nalgebra vectors and shows its weights as nalgebra matrix views,
//! but its products run in the hand-written kernels (`kernels::encode_f32` / `decode_f32`), which
//! sum in a fixed lane order of their own. Here nalgebra's `gemv_tr` on those same views is the
//! reference: for models of several sizes (tails shorter than a lane block, odd rows, the MNIST
//! shape) and pseudo-random inputs, every kernel this CPU has, and the `FloatModel` entry points,
//! must agree with it to within the rounding error any summation order may make,
//! `n * eps * sum |w x|` on a dot product of `n` terms.

use ae_core::format::{self, FloatTensors, Shape};
use ae_core::kernels::{self, Isa};
use ae_core::{Aligned, FloatModel};
use nalgebra::{SVector, SVectorView};
use proptest::prelude::*;

mod common;
use common::stream;

/// Uniform values in `[-scale / 2, scale / 2)`.
fn values(next: &mut impl FnMut() -> u64, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale)
        .collect()
}

/// The largest model file these tests write (the MNIST shape), known at compile time.
const MAX_FILE: usize = match format::float_file_len(Shape::implied_by(784), 64) {
    Some(n) => n,
    None => panic!("784 -> 64 is a valid model"),
};

/// A pseudo-random float `IN -> LATENT` model file, 16-byte aligned, and its length.
fn model_file<const IN: usize, const LATENT: usize>(
    seed: u64,
) -> (Box<Aligned<[u8; MAX_FILE]>>, usize) {
    let mut next = stream(seed);
    let ew = values(&mut next, IN * LATENT, 0.6);
    let eb = values(&mut next, LATENT, 0.4);
    let dw = values(&mut next, IN * LATENT, 2.0);
    let db = values(&mut next, IN, 1.0);
    let tensors = FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    let mut buf = Box::new(Aligned([0u8; MAX_FILE]));
    let n = format::write_float(IN as u32, LATENT as u32, 0.3, &tensors, &mut buf.0).unwrap();
    assert_eq!(
        Some(n),
        format::float_file_len(Shape::implied_by(IN as u32), LATENT as u32)
    );
    (buf, n)
}

/// `|got - want| <= n * eps * sum |terms| + abs` for every element, with the terms' magnitudes in
/// `scale`.
fn assert_close(
    what: &str,
    got: &[f32],
    want: &[f32],
    scale: &[f32],
    n: usize,
    abs: f32,
) -> Result<(), TestCaseError> {
    for (k, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = n as f32 * f32::EPSILON * s + abs;
        prop_assert!(
            (g - w).abs() <= tol,
            "{}[{}]: kernel {} vs nalgebra {} (tolerance {})",
            what,
            k,
            g,
            w,
            tol
        );
    }
    Ok(())
}

fn leaky(z: f32) -> f32 {
    if z >= 0.0 {
        z
    } else {
        0.3 * z
    }
}

fn sigmoid(z: f32) -> f32 {
    (1.0 / (1.0 + (-f64::from(z)).exp())) as f32
}

/// Encodes and decodes a pseudo-random image with an `IN -> LATENT` model, through
/// `FloatModel` and through every kernel this CPU has, and compares each with `gemv_tr`.
fn agrees_with_gemv<const IN: usize, const LATENT: usize>(seed: u64) -> Result<(), TestCaseError> {
    let (file, len) = model_file::<IN, LATENT>(seed);
    let m = FloatModel::<IN, LATENT>::from_bytes(&file.0[..len]).unwrap();
    let (w, b) = (m.encoder_weights(), m.encoder_bias());
    let (v, c) = (m.decoder_weights(), m.decoder_bias());
    let mut next = stream(seed ^ 0xA5A5);
    // Images in [0, 1].
    let x = SVector::<f32, IN>::from_iterator(values(&mut next, IN, 2.0).iter().map(|v| v.abs()));

    // Encoder: z = W^T x + b by nalgebra, and the magnitudes that bound the rounding.
    let mut z = b.into_owned();
    z.gemv_tr(1.0, &w, &x, 1.0);
    let mut mag = b.abs();
    mag.gemv_tr(1.0, &w.abs(), &x.abs(), 1.0);
    let want_h = z.map(leaky);
    let h = m.encode(&x);
    assert_close(
        "FloatModel::encode",
        h.as_slice(),
        want_h.as_slice(),
        mag.as_slice(),
        IN + 1,
        0.0,
    )?;
    let r = m.untyped();
    for isa in Isa::available() {
        let mut hk = [0.0f32; LATENT];
        kernels::encode_f32_with(
            isa,
            r.encoder_weights(),
            r.encoder_bias(),
            x.as_slice(),
            0.3,
            &mut hk,
        );
        assert_close(
            isa.name(),
            &hk,
            want_h.as_slice(),
            mag.as_slice(),
            IN + 1,
            0.0,
        )?;
    }

    // Decoder, from the kernel's own code: y = sigmoid(V^T h + c). The sigmoid is 1/4-Lipschitz;
    // the kernels' exponential is within 4 ulp, so 1e-6 more covers it.
    let mut z = c.into_owned();
    z.gemv_tr(1.0, &v, &h, 1.0);
    let mut mag = c.abs();
    mag.gemv_tr(1.0, &v.abs(), &h.abs(), 1.0);
    let want_y = z.map(sigmoid);
    let mag = mag / 4.0;
    let y = m.decode(&h);
    assert_close(
        "FloatModel::decode",
        y.as_slice(),
        want_y.as_slice(),
        mag.as_slice(),
        LATENT + 1,
        1e-6,
    )?;
    for isa in Isa::available() {
        let mut yk = [0.0f32; IN];
        kernels::decode_f32_with(
            isa,
            r.decoder_weights(),
            r.decoder_bias(),
            h.as_slice(),
            &mut yk,
        );
        assert_close(
            isa.name(),
            &yk,
            want_y.as_slice(),
            mag.as_slice(),
            LATENT + 1,
            1e-6,
        )?;
    }
    // A view over a slice gives what the owned vector gives, bit for bit.
    let view = SVectorView::<f32, LATENT>::from_slice(h.as_slice());
    prop_assert_eq!(m.decode(&view), y);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn small_and_tail_shapes_agree_with_gemv(seed in any::<u64>()) {
        agrees_with_gemv::<1, 1>(seed)?;
        agrees_with_gemv::<2, 1>(seed)?;
        agrees_with_gemv::<6, 3>(seed)?;
        agrees_with_gemv::<17, 5>(seed)?;
        agrees_with_gemv::<35, 7>(seed)?;
        agrees_with_gemv::<48, 16>(seed)?;
        agrees_with_gemv::<100, 33>(seed)?;
    }

    #[test]
    fn the_mnist_shape_agrees_with_gemv(seed in any::<u64>()) {
        agrees_with_gemv::<784, 64>(seed)?;
    }
}
