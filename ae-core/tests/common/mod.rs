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

/// A deterministic pseudo-random float model `input -> latent` (xorshift; no extra crates).
pub fn random_float(input: usize, latent: usize, seed: u64, out: &mut [u8]) -> usize {
    let mut s = seed | 1;
    let mut next = move |scale: f32| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    };
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
