//! An independent reference implementation of the version-2 entropy coder, written from
//! `FORMAT.md` alone ("Version 2" and "Entropy coding"), compared byte for byte with ae-core.
//!
//! Nothing here reads ae-core's entropy tables through ae-core: the tables are parsed out of the
//! model file bytes by the small postcard reader below. The coder is written for clarity: `i128`
//! arithmetic, the carry applied to the written bytes as a big-endian number, `G(x)` exactly as
//! the text gives it (and checked against its definition as a sum).
// Written as the spec's formulas read, index by index.
#![allow(clippy::needless_range_loop)]

mod common;

use ae_core::entropy::max_coded_len;
use ae_core::format::{self, EntropyTensors, Int8Tensors, ModelRef, QuantLayerTensors, Shape};
use ae_core::requant::Requant;
use ae_core::{Aligned, Error};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (xorshift64*).

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi - lo) as u128 + 1;
        lo + ((self.next() as u128 * span) >> 64) as i64
    }
    fn below(&mut self, n: usize) -> usize {
        self.range(0, n as i64 - 1) as usize
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
}

// ---------------------------------------------------------------------------------------------
// Reference reader: the entropy tables straight out of the model file bytes.

const TWO32: i128 = 1 << 32;

#[derive(Debug, Clone)]
struct RefEntropy {
    latent: usize,
    /// Offset of the first entropy tensor byte in the file.
    tensors_at: usize,
    zero_point: i64,
    shift: u32,
    /// `b[j]`
    bias: Vec<i64>,
    /// `C[j][0..=256]`, with `C[j][256] = 65536` appended.
    cum: Vec<Vec<i64>>,
    /// `a[j][0..j]`
    weights: Vec<Vec<i64>>,
}

fn crc32(data: &[u8]) -> u32 {
    // CRC-32/ISO-HDLC: reflected polynomial 0xEDB88320, init and xorout 0xFFFFFFFF.
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> u8 {
        let b = self.bytes[self.pos];
        self.pos += 1;
        b
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    /// LEB128 varint (postcard's `u16`/`u32`), checked to be the canonical (shortest) encoding.
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        let mut count = 0;
        loop {
            let b = self.u8();
            count += 1;
            value |= ((b & 0x7F) as u64) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                assert!(count == 1 || b != 0, "overlong varint");
                return value;
            }
            assert!(count < 5, "varint too long");
        }
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn byte_string(&mut self) -> &'a [u8] {
        let n = self.varint() as usize;
        self.take(n)
    }
}

/// Parses a version-2 int8 model file with an entropy model, per FORMAT.md.
fn parse_entropy(file: &[u8]) -> RefEntropy {
    let body_len = file.len() - 4;
    let stored = u32::from_le_bytes(file[body_len..].try_into().unwrap());
    assert_eq!(stored, crc32(&file[..body_len]), "CRC-32 of the body");
    let mut r = Reader {
        bytes: &file[..body_len],
        pos: 0,
    };
    assert_eq!(r.take(4), b"TNAE");
    assert_eq!(r.varint(), 2, "version");
    let input = r.varint();
    let latent = r.varint() as usize;
    let rows = r.varint();
    let cols = r.varint();
    assert_eq!(rows * cols, input);
    let slope = r.f32();
    assert!((0.0..=1.0).contains(&slope));
    assert_eq!(r.u8(), 1, "entropy option tag");
    let shift = r.u8() as u32;
    assert!((1..=24).contains(&shift));
    let pad = r.byte_string();
    assert!(pad.len() <= 3 && pad.iter().all(|&b| b == 0));
    let tensors_len = r.varint() as usize;
    let tensors_at = r.pos;
    assert_eq!(
        tensors_at % 4,
        0,
        "tensors 4-aligned from the start of the file"
    );
    // Minimal pad: one byte less of pad would misalign the tensors (the length varint of the
    // pad is 1 byte for 0..=3, so removing one pad byte moves the tensors back by exactly 1).
    assert!(pad.is_empty() || !(tensors_at - 1).is_multiple_of(4));
    let tensors = r.take(tensors_len);
    let l = latent;
    assert_eq!(tensors_len, l * 4 + l * 256 * 2 + l * (l - 1) / 2 * 2);
    let mut t = Reader {
        bytes: tensors,
        pos: 0,
    };
    let bias: Vec<i64> = (0..l)
        .map(|_| i32::from_le_bytes(t.take(4).try_into().unwrap()) as i64)
        .collect();
    let cum: Vec<Vec<i64>> = (0..l)
        .map(|_| {
            let mut c: Vec<i64> = (0..256)
                .map(|_| u16::from_le_bytes(t.take(2).try_into().unwrap()) as i64)
                .collect();
            c.push(65536);
            assert_eq!(c[0], 0);
            assert!(c.windows(2).all(|w| w[0] < w[1]));
            c
        })
        .collect();
    let mut weights = vec![Vec::new()];
    for j in 1..l {
        weights.push(
            (0..j)
                .map(|_| i16::from_le_bytes(t.take(2).try_into().unwrap()) as i64)
                .collect(),
        );
    }
    assert_eq!(t.pos, tensors.len());
    for j in 0..l {
        let sum: i64 = weights[j].iter().map(|a| a.abs()).sum();
        assert!(bias[j].abs() + 255 * sum <= 1 << 30, "predictor bound");
    }
    // params: enum index 1 = Int8 { latent_scale: f32, latent_zero_point: u8, two QuantLayers }.
    assert_eq!(r.varint(), 1, "params variant Int8");
    let _latent_scale = r.f32();
    let zero_point = r.u8() as i64;
    for _ in 0..2 {
        for _ in 0..4 {
            r.byte_string();
        }
    }
    assert_eq!(r.pos, body_len, "body then CRC");
    RefEntropy {
        latent,
        tensors_at,
        zero_point,
        shift,
        bias,
        cum,
        weights,
    }
}

// ---------------------------------------------------------------------------------------------
// Reference coder.

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) // b > 0, so Euclidean division is floor division
}

/// The bin arithmetic of one step around zero point `z`.
#[derive(Clone, Copy)]
struct Bins {
    z: i64,
    s: i64,
    h: i64,
}

impl Bins {
    fn new(z: i64, s: u8) -> Self {
        let s = s as i64;
        Bins { z, s, h: s / 2 }
    }
    fn bin(&self, c: i64) -> i64 {
        let d = c - self.z;
        floor_div(d + self.h, self.s)
    }
    fn lo(&self, q: i64) -> i64 {
        (self.z + q * self.s - self.h).max(0)
    }
    fn hi(&self, q: i64) -> i64 {
        (self.z + q * self.s - self.h + self.s - 1).min(255)
    }
    fn rec(&self, q: i64) -> i64 {
        (self.z + q * self.s).clamp(0, 255)
    }
}

impl RefEntropy {
    /// `p[j]` from the reconstructed codes `r[0..j]`.
    fn predict(&self, j: usize, recs: &[i64]) -> i64 {
        let z = self.zero_point;
        let mut acc = self.bias[j];
        for k in 0..j {
            acc += self.weights[j][k] * (recs[k] - z);
        }
        assert!(
            acc >= i32::MIN as i64 && acc <= i32::MAX as i64,
            "acc inside i32"
        );
        let s = self.shift;
        let shifted = (acc + (1i64 << (s - 1))) >> s; // i64 >> is arithmetic
        (z + shifted).clamp(0, 255)
    }

    /// `G(x)` by the closed form of the text.
    fn g(&self, j: usize, p: i64, x: i64) -> i64 {
        assert!((0..=256).contains(&x));
        let c = &self.cum[j];
        let o = (256 - p).rem_euclid(256);
        if o + x <= 256 {
            c[(o + x) as usize] - c[o as usize]
        } else {
            65536 - c[o as usize] + c[(o + x - 256) as usize]
        }
    }

    /// `G(x)` by its definition, `sum_{c < x} f[j][(c - p) mod 256]`.
    fn g_by_sum(&self, j: usize, p: i64, x: i64) -> i64 {
        let c = &self.cum[j];
        (0..x)
            .map(|code| {
                let r = (code - p).rem_euclid(256) as usize;
                c[r + 1] - c[r]
            })
            .sum()
    }

    /// Codes `codes` at step `step`: returns (coded image = step byte + payload, recon codes).
    fn encode(&self, codes: &[u8], step: u8) -> (Vec<u8>, Vec<u8>) {
        assert_eq!(codes.len(), self.latent);
        assert!(step >= 1);
        let bins = Bins::new(self.zero_point, step);
        let mut enc = RangeEncoder::new();
        let mut recs: Vec<i64> = Vec::new();
        for j in 0..self.latent {
            let p = self.predict(j, &recs);
            let q = bins.bin(codes[j] as i64);
            let (lo, hi) = (bins.lo(q), bins.hi(q));
            assert!(lo <= codes[j] as i64 && codes[j] as i64 <= hi);
            let a = self.g(j, p, lo);
            let b = self.g(j, p, hi + 1);
            enc.code(a, b);
            recs.push(bins.rec(q));
        }
        let mut out = vec![step];
        out.extend(enc.finish());
        (out, recs.iter().map(|&r| r as u8).collect())
    }

    /// Decodes a coded image: `Some((step, codes))`, or `None` for a rejected byte string.
    fn decode(&self, coded: &[u8]) -> Option<(u8, Vec<u8>)> {
        let (&step, payload) = coded.split_first()?;
        if step == 0 {
            return None; // the step byte is 1..=255
        }
        let bins = Bins::new(self.zero_point, step);
        let byte = |i: usize| payload.get(i).copied().unwrap_or(0) as i128;
        let mut code: i128 = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
        let mut read = 4usize;
        let mut range: i128 = 0xFFFF_FFFF;
        let mut recs: Vec<i64> = Vec::new();
        let (q_first, q_last) = (bins.bin(0), bins.bin(255));
        for j in 0..self.latent {
            let p = self.predict(j, &recs);
            let t = range >> 16;
            let v = code / t;
            if v >= 65536 {
                return None;
            }
            let v = v as i64;
            let q = (q_first..=q_last)
                .find(|&q| self.g(j, p, bins.lo(q)) <= v && v < self.g(j, p, bins.hi(q) + 1))
                .expect("the bins partition 0..65536");
            let a = self.g(j, p, bins.lo(q)) as i128;
            let b = self.g(j, p, bins.hi(q) + 1) as i128;
            code -= t * a;
            range = t * (b - a);
            while range < 1 << 24 {
                code = ((code << 8) | byte(read)) % TWO32;
                read += 1;
                range <<= 8;
            }
            recs.push(bins.rec(q));
        }
        // "a payload with more bytes, or one that ends in a zero byte, is rejected"
        if payload.len() > read || payload.last() == Some(&0) {
            return None;
        }
        Some((step, recs.iter().map(|&r| r as u8).collect()))
    }

    /// Rate control: the first ladder step whose coded image has at most `max_bytes` bytes.
    fn encode_within(&self, codes: &[u8], max_bytes: usize) -> Option<(Vec<u8>, Vec<u8>, u8)> {
        const LADDER: [u8; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 19, 23, 27, 33, 41, 63, 127, 255];
        for step in LADDER {
            let (coded, recon) = self.encode(codes, step);
            if coded.len() <= max_bytes {
                return Some((coded, recon, step));
            }
        }
        None
    }
}

/// Coverage counters: carries while coding, carries at the finish, empty payloads.
static CARRIES: AtomicUsize = AtomicUsize::new(0);
static FINISH_CARRIES: AtomicUsize = AtomicUsize::new(0);
static EMPTY_PAYLOADS: AtomicUsize = AtomicUsize::new(0);

struct RangeEncoder {
    bytes: Vec<u8>,
    low: i128,
    range: i128,
}

impl RangeEncoder {
    fn new() -> Self {
        RangeEncoder {
            bytes: Vec::new(),
            low: 0,
            range: 0xFFFF_FFFF,
        }
    }

    /// Adds 1 to the bytes written so far, read as one big-endian number.
    fn carry(&mut self) {
        CARRIES.fetch_add(1, Ordering::Relaxed);
        let mut i = self.bytes.len();
        loop {
            assert!(i > 0, "carry out of the first byte");
            i -= 1;
            if self.bytes[i] == 0xFF {
                self.bytes[i] = 0;
            } else {
                self.bytes[i] += 1;
                return;
            }
        }
    }

    fn code(&mut self, a: i64, b: i64) {
        assert!(0 <= a && a < b && b <= 65536);
        let t = self.range >> 16;
        self.low += t * a as i128;
        self.range = t * (b - a) as i128;
        if self.low >= TWO32 {
            self.low -= TWO32;
            self.carry();
        }
        assert!(self.low < TWO32);
        while self.range < 1 << 24 {
            self.bytes.push(((self.low >> 24) & 0xFF) as u8);
            self.low = (self.low << 8) % TWO32;
            self.range <<= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let end = self.low + self.range;
        let mut v = None;
        for k in (0..=32).rev() {
            let unit: i128 = 1 << k;
            let candidate = (self.low + unit - 1) / unit * unit; // ceil(low / 2^k) * 2^k
            if candidate < end {
                v = Some(candidate);
                break;
            }
        }
        let mut v = v.expect("k = 0 always fits");
        if v >= TWO32 {
            FINISH_CARRIES.fetch_add(1, Ordering::Relaxed);
            v -= TWO32;
            self.carry();
        }
        self.bytes.extend_from_slice(&(v as u32).to_be_bytes());
        while self.bytes.last() == Some(&0) {
            self.bytes.pop();
        }
        if self.bytes.is_empty() {
            EMPTY_PAYLOADS.fetch_add(1, Ordering::Relaxed);
        }
        self.bytes
    }
}

// ---------------------------------------------------------------------------------------------
// Random models.

type BigBuf = Aligned<[u8; 65536]>;

struct Spec {
    latent: usize,
    input: usize,
    zero_point: u8,
    shift: u8,
    bias: Vec<i32>,
    cumulative: Vec<u16>,
    weights: Vec<i16>,
}

/// Frequencies (each >= 1, summing to 2^16) turned into `C[0..256]`.
fn cumulative_of(freq: &[u32]) -> Vec<u16> {
    assert_eq!(freq.len(), 256);
    assert!(freq.iter().all(|&f| f >= 1));
    assert_eq!(freq.iter().sum::<u32>(), 65536);
    let mut acc = 0u32;
    freq.iter()
        .map(|&f| {
            let c = acc as u16;
            acc += f;
            c
        })
        .collect()
}

/// Scales positive weights into frequencies >= 1 summing to exactly 2^16.
fn normalise(weights: &[u64]) -> Vec<u32> {
    let total: u64 = weights.iter().sum();
    let spare = 65536 - 256;
    let mut freq: Vec<u32> = weights
        .iter()
        .map(|&w| 1 + (w * spare / total.max(1)) as u32)
        .collect();
    let sum: u32 = freq.iter().sum();
    let i = weights
        .iter()
        .enumerate()
        .max_by_key(|(_, &w)| w)
        .unwrap()
        .0;
    freq[i] += 65536 - sum;
    freq
}

fn random_cumulative(rng: &mut Rng) -> Vec<u16> {
    let freq: Vec<u32> = match rng.below(7) {
        // One residual holds everything but 255.
        0 | 1 => {
            let mut f = vec![1u32; 256];
            let at = if rng.chance(1, 2) { 0 } else { rng.below(256) };
            f[at] = 65536 - 255;
            f
        }
        // A few heavy residuals, the rest 1.
        2 => {
            let mut w = vec![0u64; 256];
            for _ in 0..rng.range(1, 4) {
                w[rng.below(256)] += rng.range(1, 1000) as u64;
            }
            normalise(&w)
        }
        // Uniform-ish random.
        3 => {
            let w: Vec<u64> = (0..256).map(|_| rng.range(0, 1000) as u64).collect();
            normalise(&w)
        }
        // Exactly uniform.
        4 => vec![256u32; 256],
        // Random cut points.
        5 => {
            let mut cuts: Vec<u32> = Vec::new();
            while cuts.len() < 255 {
                let c = rng.range(1, 65535) as u32;
                if !cuts.contains(&c) {
                    cuts.push(c);
                }
            }
            cuts.sort();
            let mut prev = 0;
            let mut f = Vec::new();
            for c in cuts.iter().copied().chain([65536]) {
                f.push(c - prev);
                prev = c;
            }
            f
        }
        // The shared peaked table.
        _ => {
            return common::peaked_cumulative(rng.range(1, 8) as u32);
        }
    };
    cumulative_of(&freq)
}

fn random_spec(rng: &mut Rng) -> Spec {
    let latent = if rng.chance(1, 5) {
        rng.range(1, 3) as usize
    } else {
        rng.range(1, 70) as usize
    };
    let zero_point = match rng.below(4) {
        0 => 0,
        1 => 255,
        _ => rng.range(0, 255) as u8,
    };
    let shift = rng.range(1, 24) as u8;
    let wmax: i64 = match rng.below(4) {
        0 => 0,
        1 => 4,
        2 => 1 << shift.min(14),
        _ => 32768,
    };
    let mut weights = Vec::new();
    let mut bias = Vec::new();
    for j in 0..latent {
        let row: Vec<i16> = (0..j)
            .map(|_| rng.range(-wmax, (wmax - 1).max(0)) as i16)
            .collect();
        let sum: i64 = row.iter().map(|&a| (a as i64).abs()).sum();
        // The spec allows `|b| + 255 * sum < 2^31`; ae-core refuses anything above 2^30 (see
        // `predictor_bound_is_the_one_in_the_spec`), so the random models stay inside 2^30
        // (and reach it exactly) for the coder comparisons.
        let room = (1i64 << 30) - 255 * sum;
        assert!(room >= 0);
        let b = match rng.below(5) {
            0 => 0,
            1 => room,
            2 => -room,
            3 => rng.range(-room, room),
            _ => rng
                .range(-(1i64 << shift) * 300, (1i64 << shift) * 300)
                .clamp(-room, room),
        };
        bias.push(b as i32);
        weights.extend(row);
    }
    let mut cumulative = Vec::new();
    let same = rng.chance(1, 3);
    let first = random_cumulative(rng);
    for _ in 0..latent {
        if same {
            cumulative.extend_from_slice(&first);
        } else {
            cumulative.extend(random_cumulative(rng));
        }
    }
    Spec {
        latent,
        input: rng.range(1, 3) as usize,
        zero_point,
        shift,
        bias,
        cumulative,
        weights,
    }
}

fn write_model(spec: &Spec, out: &mut BigBuf) -> usize {
    try_write_model(spec, out).expect("write_int8_shaped")
}

/// Writes the model file with ae-core's writer (the int8 layers are arbitrary small ones).
fn try_write_model(spec: &Spec, out: &mut BigBuf) -> Result<usize, Error> {
    let (l, i) = (spec.latent, spec.input);
    let pos = Requant::from_real(0.02).unwrap();
    let neg = Requant::from_real(0.005).unwrap();
    let dec = Requant::from_real(1.0).unwrap();
    let enc_mult: Vec<i32> = (0..l)
        .flat_map(|_| [pos.multiplier, neg.multiplier])
        .collect();
    let enc_shift: Vec<u8> = (0..l).flat_map(|_| [pos.shift, neg.shift]).collect();
    let enc_w: Vec<i8> = (0..l * i).map(|k| (k % 7) as i8 - 3).collect();
    let enc_b: Vec<i32> = (0..l).map(|k| k as i32 * 10).collect();
    let dec_w: Vec<i8> = (0..l * i).map(|k| (k % 5) as i8 - 2).collect();
    let dec_b: Vec<i32> = vec![3; i];
    let dec_mult = vec![dec.multiplier; i];
    let dec_shift = vec![dec.shift; i];
    let t = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: spec.zero_point,
        encoder: QuantLayerTensors {
            weights: &enc_w,
            bias: &enc_b,
            multipliers: &enc_mult,
            shifts: &enc_shift,
        },
        decoder: QuantLayerTensors {
            weights: &dec_w,
            bias: &dec_b,
            multipliers: &dec_mult,
            shifts: &dec_shift,
        },
    };
    let entropy = EntropyTensors {
        predictor_shift: spec.shift,
        predictor_bias: &spec.bias,
        cumulative: &spec.cumulative,
        predictor_weights: &spec.weights,
    };
    let shape = Shape {
        rows: 1,
        cols: i as u32,
    };
    format::write_int8_shaped(shape, l as u32, 0.3, &t, Some(&entropy), &mut out.0)
}

fn big_buf() -> Box<BigBuf> {
    Box::new(Aligned([0u8; 65536]))
}

/// Random codes: uniform, constant, extremes, or following the reference predictor closely.
fn random_codes(rng: &mut Rng, r: &RefEntropy, step: u8) -> Vec<u8> {
    let l = r.latent;
    match rng.below(6) {
        0 => (0..l).map(|_| rng.range(0, 255) as u8).collect(),
        1 => vec![r.zero_point as u8; l],
        2 => (0..l)
            .map(|_| if rng.chance(1, 2) { 0 } else { 255 })
            .collect(),
        _ => {
            // Follow the prediction (residual 0, or noise), using the reconstructions at `step`.
            let bins = Bins::new(r.zero_point, step);
            let noise = [0i64, 1, 3, 20][rng.below(4)];
            let mut recs = Vec::new();
            let mut codes = Vec::new();
            for j in 0..l {
                let p = r.predict(j, &recs);
                let c = (p + rng.range(-noise, noise)).clamp(0, 255);
                codes.push(c as u8);
                recs.push(bins.rec(bins.bin(c)));
            }
            codes
        }
    }
}

fn random_step(rng: &mut Rng) -> u8 {
    match rng.below(5) {
        0 => 1,
        1 => 255,
        2 => [2, 3, 4, 5, 8, 16, 64, 128, 254][rng.below(9)],
        _ => rng.range(1, 255) as u8,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A model file in a failure message: in full when small, else its parameters.
fn describe(file: &[u8]) -> String {
    let r = parse_entropy(file);
    let head = format!(
        "latent {} zero point {} shift {} bias {:?}",
        r.latent, r.zero_point, r.shift, r.bias
    );
    if file.len() <= 2048 {
        format!("{head}\nfile {}", hex(file))
    } else {
        format!(
            "{head} ({} bytes; rerun the seed to get the file)",
            file.len()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn closed_form_g_matches_its_definition() {
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let spec = random_spec(&mut rng);
        let mut b = big_buf();
        let n = write_model(&spec, &mut b);
        let r = parse_entropy(&b.0[..n]);
        for j in 0..r.latent.min(3) {
            for p in [0, 1, 127, 254, 255, rng.range(0, 255)] {
                for x in 0..=256 {
                    assert_eq!(r.g(j, p, x), r.g_by_sum(j, p, x));
                }
            }
        }
    }
}

#[test]
fn reference_parser_reads_the_shared_small_model() {
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    let r = parse_entropy(&b.0[..n]);
    assert_eq!(r.latent, 3);
    assert_eq!(r.zero_point, 100);
    assert_eq!(r.shift, 8);
    assert_eq!(r.bias, vec![0, 2560, -1280]);
    assert_eq!(r.weights, vec![vec![], vec![128], vec![64, -64]]);
    let c2: Vec<i64> = common::peaked_cumulative(5)
        .iter()
        .map(|&c| c as i64)
        .collect();
    assert_eq!(r.cum[1][..256], c2[..]);
}

/// Compares one (model, codes, step) case; returns nothing, panics with the full case on any
/// disagreement.
fn compare_encode(
    file: &[u8],
    r: &RefEntropy,
    e: &ae_core::entropy::EntropyRef<'_>,
    codes: &[u8],
    step: u8,
) {
    let l = r.latent;
    let (want, want_recon) = r.encode(codes, step);
    let mut out = vec![0u8; max_coded_len(l)];
    assert!(
        want.len() <= out.len(),
        "max_coded_len below a coded length"
    );
    let mut centred = vec![0i16; l];
    let n = e.encode(codes, step, &mut centred, &mut out).unwrap();
    let mut recon = vec![0u8; l];
    e.reconstructed(&centred, &mut recon);
    let got = &out[..n];
    if got != &want[..] || recon != want_recon {
        panic!(
            "encode disagreement\nmodel file: {}\ncodes {:?} step {step}\nae-core {}\nref     {}\nae-core recon {:?}\nref recon     {:?}",
            describe(file),
            codes,
            hex(got),
            hex(&want),
            recon,
            want_recon
        );
    }
    // Decoders: both on ae-core's bytes.
    let mut dec = vec![0u8; l];
    let got_step = e.decode(got, &mut vec![0i16; dec.len()], &mut dec).unwrap();
    let (ref_step, ref_codes) = r
        .decode(got)
        .unwrap_or_else(|| panic!("reference rejects ae-core's output {}", hex(got)));
    assert_eq!(got_step, step);
    assert_eq!(ref_step, step);
    assert_eq!(dec, ref_codes, "decoders disagree on {}", hex(got));
    assert_eq!(ref_codes, want_recon, "decode gives the bin centres");
    if step == 1 {
        assert_eq!(ref_codes, codes, "step 1 is lossless");
    }
}

#[test]
fn encode_and_decode_match_the_reference() {
    let mut rng = Rng::new(1);
    let mut cases = 0;
    for _ in 0..300 {
        let spec = random_spec(&mut rng);
        let mut b = big_buf();
        let n = write_model(&spec, &mut b);
        let file = &b.0[..n];
        let r = parse_entropy(file);
        assert_eq!(r.latent, spec.latent);
        let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
            panic!("int8 expected")
        };
        let e = m.entropy().expect("entropy model");
        for _ in 0..20 {
            let step = random_step(&mut rng);
            let codes = random_codes(&mut rng, &r, step);
            compare_encode(file, &r, &e, &codes, step);
            cases += 1;
        }
    }
    // The shared small model, every step on a few codes.
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    let file = &b.0[..n];
    let r = parse_entropy(file);
    let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
        panic!()
    };
    let e = m.entropy().unwrap();
    for step in 1..=255u8 {
        for codes in [
            [100u8, 100, 100],
            [0, 255, 17],
            [101, 110, 95],
            [255, 255, 0],
        ] {
            compare_encode(file, &r, &e, &codes, step);
            cases += 1;
        }
    }
    let (c, f, e) = (
        CARRIES.load(Ordering::Relaxed),
        FINISH_CARRIES.load(Ordering::Relaxed),
        EMPTY_PAYLOADS.load(Ordering::Relaxed),
    );
    eprintln!("encode/decode cases compared: {cases} (reference so far: {c} carries, {f} at the finish, {e} empty payloads)");
    assert!(
        c > 0 && f > 0 && e > 0,
        "the cases reach carries and empty payloads"
    );
}

#[test]
fn rate_control_picks_the_reference_step() {
    let mut rng = Rng::new(2);
    let mut cases = 0;
    for _ in 0..100 {
        let spec = random_spec(&mut rng);
        let mut b = big_buf();
        let n = write_model(&spec, &mut b);
        let file = &b.0[..n];
        let r = parse_entropy(file);
        let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
            panic!()
        };
        let e = m.entropy().unwrap();
        let l = r.latent;
        for _ in 0..4 {
            let codes = random_codes(&mut rng, &r, 1);
            // Caps: around every ladder length, plus 0, 1 and a generous one.
            let mut caps = vec![0usize, 1, 2, max_coded_len(l)];
            for step in [1u8, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64, 128, 255] {
                let len = r.encode(&codes, step).0.len();
                caps.extend([len.saturating_sub(1), len, len + 1]);
            }
            caps.sort();
            caps.dedup();
            for cap in caps {
                let want = r.encode_within(&codes, cap);
                let mut out = vec![0u8; max_coded_len(l).max(cap)];
                let mut centred = vec![0i16; l];
                let got = e.encode_within(&codes, cap, &mut centred, &mut out);
                let mut recon = vec![0u8; l];
                e.reconstructed(&centred, &mut recon);
                match (got, want) {
                    (Ok((len, step)), Some((coded, want_recon, want_step))) => {
                        if step != want_step || out[..len] != coded[..] || recon != want_recon {
                            panic!(
                                "encode_within disagreement\nmodel {}\ncodes {codes:?} cap {cap}\nae-core step {step} {}\nref     step {want_step} {}",
                                describe(file),
                                hex(&out[..len]),
                                hex(&coded)
                            );
                        }
                    }
                    (Err(Error::DoesNotFit { max_bytes }), None) => assert_eq!(max_bytes, cap),
                    (got, want) => panic!(
                        "encode_within disagreement\nmodel {}\ncodes {codes:?} cap {cap}\nae-core {got:?}\nref {:?}",
                        describe(file),
                        want.map(|w| (w.0, w.2))
                    ),
                }
                cases += 1;
            }
        }
    }
    eprintln!("encode_within cases compared: {cases}");
}

#[test]
fn decoders_agree_on_arbitrary_bytes() {
    let mut rng = Rng::new(3);
    let (mut cases, mut accepted) = (0, 0);
    for _ in 0..80 {
        let spec = random_spec(&mut rng);
        let mut b = big_buf();
        let n = write_model(&spec, &mut b);
        let file = &b.0[..n];
        let r = parse_entropy(file);
        let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
            panic!()
        };
        let e = m.entropy().unwrap();
        let l = r.latent;
        for k in 0..25 {
            let coded: Vec<u8> = if k % 3 == 0 {
                // A valid image, then mutated: flip a byte, cut, or append.
                let step = random_step(&mut rng);
                let codes = random_codes(&mut rng, &r, step);
                let mut c = r.encode(&codes, step).0;
                match rng.below(5) {
                    0 => {
                        let i = rng.below(c.len());
                        c[i] ^= 1 << rng.below(8);
                    }
                    1 => {
                        c.truncate(rng.below(c.len() + 1));
                    }
                    2 => c.push(0),
                    3 => c.push(rng.range(1, 255) as u8),
                    _ => {
                        if c.len() > 1 {
                            let i = 1 + rng.below(c.len() - 1);
                            c[i] = rng.range(0, 255) as u8;
                        }
                    }
                }
                c
            } else {
                let len = match rng.below(3) {
                    0 => rng.below(6),
                    1 => rng.below(2 * l + 6),
                    _ => rng.below(max_coded_len(l) + 3),
                };
                (0..len)
                    .map(|_| {
                        if rng.chance(1, 4) {
                            [0u8, 0xFF][rng.below(2)]
                        } else {
                            rng.range(0, 255) as u8
                        }
                    })
                    .collect()
            };
            let want = r.decode(&coded);
            let mut dec = vec![0u8; l];
            let got = e.decode(&coded, &mut vec![0i16; dec.len()], &mut dec);
            match (&got, &want) {
                (Ok(step), Some((want_step, want_codes))) => {
                    if step != want_step || &dec != want_codes {
                        panic!(
                            "decode disagreement\nmodel {}\ncoded {}\nae-core step {step} {dec:?}\nref     step {want_step} {want_codes:?}",
                            describe(file),
                            hex(&coded)
                        );
                    }
                    accepted += 1;
                }
                (Err(_), None) => {}
                _ => panic!(
                    "decode accept/reject disagreement\nmodel {}\ncoded {}\nae-core {got:?} {dec:?}\nref {want:?}",
                    describe(file),
                    hex(&coded)
                ),
            }
            cases += 1;
        }
    }
    eprintln!("decode cases compared: {cases} ({accepted} accepted by both)");
    assert!(
        accepted > 100,
        "too few accepted cases to compare: {accepted}"
    );
}

/// A model with latent 2, zero weights, predictor bias `[0, 0]` and one weight `a[1][0] = w`.
fn bound_model(w: i16, out: &mut BigBuf) -> usize {
    let spec = Spec {
        latent: 2,
        input: 1,
        zero_point: 5,
        shift: 24,
        bias: vec![0, 0],
        cumulative: [common::peaked_cumulative(1), common::peaked_cumulative(1)].concat(),
        weights: vec![w],
    };
    write_model(&spec, out)
}

/// FORMAT.md: "`|b[j]| + 255 * sum_k |a[j][k]| <= 2^30` (a reader rejects files that break it)."
/// The bound itself loads; one past it is refused by the reader and the writer.
#[test]
fn predictor_bound_is_the_one_in_the_spec() {
    for (w, bias, valid) in [
        (0i16, 1i64 << 30, true),
        (0, -(1i64 << 30), true),
        (3, (1i64 << 30) - 255 * 3, true),
        (0, (1i64 << 30) + 1, false),
        (0, (1i64 << 31) - 1, false),
        (3, (1i64 << 30) - 255 * 3 + 1, false),
    ] {
        let mut b = big_buf();
        let n = bound_model(w, &mut b);
        let at = parse_entropy(&b.0[..n]).tensors_at + 4; // b[1]
        b.0[at..at + 4].copy_from_slice(&(bias as i32).to_le_bytes());
        let crc = crc32(&b.0[..n - 4]);
        b.0[n - 4..n].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            ModelRef::parse(&b.0[..n]).is_ok(),
            valid,
            "reader: b[1] = {bias}, a[1][0] = {w}"
        );
        let spec = Spec {
            latent: 2,
            input: 1,
            zero_point: 5,
            shift: 24,
            bias: vec![0, bias as i32],
            cumulative: [common::peaked_cumulative(1), common::peaked_cumulative(1)].concat(),
            weights: vec![w],
        };
        assert_eq!(
            try_write_model(&spec, &mut big_buf()).is_ok(),
            valid,
            "writer: b[1] = {bias}, a[1][0] = {w}"
        );
    }
}

/// FORMAT.md: "a payload with more bytes, or one that ends in a zero byte, is rejected": a
/// zero byte appended to a canonical payload is refused by both decoders.
#[test]
fn payload_with_a_trailing_zero_is_rejected() {
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    let file = &b.0[..n];
    let r = parse_entropy(file);
    let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
        panic!()
    };
    let e = m.entropy().unwrap();
    let (codes, step) = ([100u8, 100, 100], 255u8);
    let (coded, _) = r.encode(&codes, step);
    let mut padded = coded.clone();
    padded.push(0);
    assert!(r.decode(&coded).is_some());
    assert!(r.decode(&padded).is_none());
    let mut dec = [0u8; 3];
    assert!(
        e.decode(&padded, &mut vec![0i16; dec.len()], &mut dec)
            .is_err(),
        "{}",
        hex(&padded)
    );
}

/// No step byte, or step byte 0 (the text allows `1..=255`): both decoders reject.
#[test]
fn missing_or_zero_step_byte_is_rejected() {
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    let file = &b.0[..n];
    let r = parse_entropy(file);
    let ModelRef::Int8(m) = ModelRef::parse(file).unwrap() else {
        panic!()
    };
    let e = m.entropy().unwrap();
    for coded in [&[][..], &[0], &[0, 0x80], &[0, 1, 2, 3, 4]] {
        let mut dec = [0u8; 3];
        assert!(r.decode(coded).is_none());
        assert!(
            e.decode(coded, &mut vec![0i16; dec.len()], &mut dec)
                .is_err(),
            "{}",
            hex(coded)
        );
    }
}
