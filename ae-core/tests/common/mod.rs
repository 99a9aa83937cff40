//! Tiny hand-made models shared by the ae-core tests.
#![allow(dead_code)]

use ae_core::format::{self, FloatTensors, Int8Tensors, QuantLayerTensors};
use ae_core::requant::Requant;
use ae_core::Aligned;

/// A buffer big enough for the tiny models, 16-byte aligned like a board's flash image.
pub type Buf = Aligned<[u8; 8192]>;

pub fn buf() -> Buf {
    Aligned([0u8; 8192])
}

/// 2 -> 1 -> 2 float model with hand-checkable outputs:
/// `h = leaky(0.5 x0 + 0.5 x1)`, `y = sigmoid([4h - 2, -2h + 1])`, slope 0.3.
pub fn tiny_float(out: &mut Buf) -> usize {
    let t = FloatTensors {
        encoder_weights: &[0.5, 0.5],
        encoder_bias: &[0.0],
        decoder_weights: &[4.0, -2.0],
        decoder_bias: &[-2.0, 1.0],
    };
    format::write_float(2, 1, 0.3, &t, &mut out.0).unwrap()
}

fn rq(m: f64) -> Requant {
    Requant::from_real(m).unwrap()
}

/// 2 -> 1 -> 2 int8 model: encoder row `[64, -32]`, bias 100, multipliers 0.5 / 0.25, latent zero
/// point 10; decoder rows `[2]`, `[-3]`, biases `[5, 0]`, multiplier 1 (one table step per unit).
pub fn tiny_int8(out: &mut Buf) -> usize {
    let (pos, neg, one) = (rq(0.5), rq(0.25), rq(1.0));
    let enc_mult = [pos.multiplier, neg.multiplier];
    let enc_shift = [pos.shift, neg.shift];
    let dec_mult = [one.multiplier, one.multiplier];
    let dec_shift = [one.shift, one.shift];
    let t = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: 10,
        encoder: QuantLayerTensors {
            weights: &[64, -32],
            bias: &[100],
            multipliers: &enc_mult,
            shifts: &enc_shift,
        },
        decoder: QuantLayerTensors {
            weights: &[2, -3],
            bias: &[5, 0],
            multipliers: &dec_mult,
            shifts: &dec_shift,
        },
    };
    format::write_int8(2, 1, 0.3, &t, &mut out.0).unwrap()
}

/// A deterministic stream of pseudo-random words from `seed` (xorshift; no extra crates).
pub fn stream(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// A deterministic pseudo-random float model `input -> latent`.
pub fn random_float(input: usize, latent: usize, seed: u64, out: &mut [u8]) -> usize {
    let mut words = stream(seed);
    let mut next =
        move |scale: f32| ((words() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale;
    let ew: Vec<f32> = (0..input * latent).map(|_| next(0.3)).collect();
    let eb: Vec<f32> = (0..latent).map(|_| next(0.1)).collect();
    let dw: Vec<f32> = (0..input * latent).map(|_| next(0.5)).collect();
    let db: Vec<f32> = (0..input).map(|_| next(0.5)).collect();
    let t = FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    format::write_float(input as u32, latent as u32, 0.3, &t, out).unwrap()
}

/// Frequencies out of 2^16 for residuals `0..256` that fall off with the circular distance from
/// residual 0 (every one at least 1), as cumulative counts.
pub fn peaked_cumulative(width: u32) -> Vec<u16> {
    let mut freq: Vec<u32> = (0..256u32)
        .map(|r| {
            let d = r.min(256 - r);
            (2048 >> (d / width).min(11)).max(1)
        })
        .collect();
    let sum: u32 = freq.iter().sum();
    freq[0] = freq[0] + 65536 - sum;
    let mut cum = Vec::with_capacity(256);
    let mut acc = 0u32;
    for f in freq {
        cum.push(acc as u16);
        acc += f;
    }
    assert_eq!(acc, 65536);
    cum
}

/// A 2x3 -> 3 int8 model with an entropy model (predictor rows `[128]`, `[64, -64]`, shift 8).
pub fn small_int8_entropy(out: &mut Buf) -> usize {
    let (pos, neg, dec) = (rq(0.02), rq(0.005), rq(1.0));
    let enc_mult: Vec<i32> = (0..3)
        .flat_map(|_| [pos.multiplier, neg.multiplier])
        .collect();
    let enc_shift: Vec<u8> = (0..3).flat_map(|_| [pos.shift, neg.shift]).collect();
    let t = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: 100,
        encoder: QuantLayerTensors {
            weights: &[
                100, -50, 20, 0, 30, -10, //
                -20, 60, 0, 10, -90, 40, //
                5, 5, 5, 5, 5, 5,
            ],
            bias: &[100, -2000, 0],
            multipliers: &enc_mult,
            shifts: &enc_shift,
        },
        decoder: QuantLayerTensors {
            weights: &[2, -3, 1, 0, 4, -4, 1, 1, 1, -2, 0, 3, 5, 5, -5, 0, 0, 1],
            bias: &[5, 0, -5, 10, 0, 0],
            multipliers: &[dec.multiplier; 6],
            shifts: &[dec.shift; 6],
        },
    };
    let mut cumulative = peaked_cumulative(2);
    cumulative.extend(peaked_cumulative(5));
    cumulative.extend(peaked_cumulative(1));
    let entropy = format::EntropyTensors {
        predictor_shift: 8,
        predictor_bias: &[0, 2560, -1280],
        cumulative: &cumulative,
        predictor_weights: &[128, 64, -64],
    };
    let shape = format::Shape { rows: 2, cols: 3 };
    format::write_int8_shaped(shape, 3, 0.3, &t, Some(&entropy), &mut out.0).unwrap()
}
