//! An independent reference implementation of the int8 inference path, written from
//! `ae-core/FORMAT.md` alone ("Int8 parameters", "Version 2", "Validation order", "Arithmetic
//! details"), sharing no code with `ae-core`'s parser or kernels. It reads the model file bytes
//! itself (CRC-32, postcard varints, version 1 and 2 layouts, little-endian tensors), runs the
//! encoder and decoder in i64 arithmetic and rebuilds the sigmoid table from its formula, then
//! compares every code byte and every pixel with ae-core's dispatched and portable paths.
//!
//! Only ae-core's public API is used: `format::write_int8` to build models, `Requant::from_real`
//! to make multipliers, `format::ModelRef::parse` and the `Int8Ref` encode/decode entry points.

use ae_core::format::{self, Int8Tensors, ModelRef, QuantLayerTensors};
use ae_core::requant::Requant;
use ae_core::Aligned;

// ---------------------------------------------------------------------------------------------
// Aligned byte buffers (model bytes must sit 16-byte aligned in memory).

struct AlignedBuf {
    blocks: Vec<Aligned<[u8; 16]>>,
    len: usize,
}

impl AlignedBuf {
    fn zeroed(capacity: usize) -> Self {
        AlignedBuf {
            blocks: (0..capacity.div_ceil(16))
                .map(|_| Aligned([0u8; 16]))
                .collect(),
            len: capacity,
        }
    }
    fn from_bytes(bytes: &[u8]) -> Self {
        let mut b = Self::zeroed(bytes.len());
        b.all_mut()[..bytes.len()].copy_from_slice(bytes);
        b
    }
    fn all_mut(&mut self) -> &mut [u8] {
        assert_eq!(std::mem::size_of::<Aligned<[u8; 16]>>(), 16);
        let n = self.blocks.len() * 16;
        // SAFETY: `Aligned<[u8; 16]>` is 16 bytes of plain `u8` (size checked above), the blocks
        // are contiguous in the Vec, and the slice borrows `self` mutably.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_mut_ptr() as *mut u8, n) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: as in `all_mut`; `len <= blocks.len() * 16`.
        unsafe { std::slice::from_raw_parts(self.blocks.as_ptr() as *const u8, self.len) }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers (splitmix64; no extra crates).

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        lo + (self.next() % span) as i64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The reader: model file bytes -> int8 tensors, per FORMAT.md.

/// CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF).
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

#[derive(Debug)]
struct RefLayer {
    weights: Vec<i8>,
    bias: Vec<i32>,
    multipliers: Vec<i32>,
    shifts: Vec<u8>,
}

#[derive(Debug)]
struct RefModel {
    version: u16,
    input: usize,
    latent: usize,
    #[allow(dead_code)]
    shape: (u32, u32),
    #[allow(dead_code)]
    slope: f32,
    has_entropy: bool,
    latent_scale: f32,
    zero_point: u8,
    encoder: RefLayer,
    decoder: RefLayer,
}

struct Cursor<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.body.get(self.pos).ok_or("truncated")?;
        self.pos += 1;
        Ok(b)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.body.get(self.pos..end).ok_or("truncated")?;
        self.pos = end;
        Ok(s)
    }
    /// LEB128 varint of at most `bits` bits, canonical (no overlong encodings).
    fn varint(&mut self, bits: u32) -> Result<u64, String> {
        let max_bytes = bits.div_ceil(7);
        let mut v: u64 = 0;
        for i in 0..max_bytes {
            let b = self.byte()?;
            v |= ((b & 0x7F) as u64) << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err("overlong varint".into());
                }
                if v >> bits != 0 {
                    return Err("varint out of range".into());
                }
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }
    fn f32(&mut self) -> Result<f32, String> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.varint(32)? as usize;
        self.take(n)
    }
    fn layer(
        &mut self,
        outputs: usize,
        inputs: usize,
        branches: usize,
    ) -> Result<RefLayer, String> {
        let w = self.bytes()?;
        let b = self.bytes()?;
        let m = self.bytes()?;
        let s = self.bytes()?;
        if w.len() != outputs * inputs
            || b.len() != outputs * 4
            || m.len() != outputs * branches * 4
            || s.len() != outputs * branches
        {
            return Err(format!(
                "tensor lengths {} {} {} {} for O={outputs} I={inputs} B={branches}",
                w.len(),
                b.len(),
                m.len(),
                s.len()
            ));
        }
        let le32 = |c: &[u8]| i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let layer = RefLayer {
            weights: w.iter().map(|&x| x as i8).collect(),
            bias: b.chunks_exact(4).map(le32).collect(),
            multipliers: m.chunks_exact(4).map(le32).collect(),
            shifts: s.to_vec(),
        };
        for (&m, &s) in layer.multipliers.iter().zip(&layer.shifts) {
            if !(m == 0 || (1 << 30..=i32::MAX).contains(&m)) {
                return Err(format!("multiplier {m}"));
            }
            if !(1..=62).contains(&s) {
                return Err(format!("shift {s}"));
            }
        }
        Ok(layer)
    }
}

fn read_model(file: &[u8]) -> Result<RefModel, String> {
    if file.len() < 4 || &file[..4] != b"TNAE" {
        return Err("bad magic".into());
    }
    if file.len() < 8 {
        return Err("truncated".into());
    }
    let (body, crc) = file.split_at(file.len() - 4);
    if crc32(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err("checksum".into());
    }
    let mut c = Cursor { body, pos: 4 };
    let version = c.varint(16)? as u16;
    if version != 1 && version != 2 {
        return Err(format!("version {version}"));
    }
    let input = c.varint(32)? as usize;
    let latent = c.varint(32)? as usize;
    if input == 0 || latent == 0 {
        return Err("zero dimension".into());
    }
    let shape = if version == 2 {
        let rows = c.varint(32)? as u32;
        let cols = c.varint(32)? as u32;
        if rows as u64 * cols as u64 != input as u64 {
            return Err("shape".into());
        }
        (rows, cols)
    } else {
        let s = (input as f64).sqrt() as usize;
        if s * s == input {
            (s as u32, s as u32)
        } else {
            (1, input as u32)
        }
    };
    let slope = c.f32()?;
    if !(0.0..=1.0).contains(&slope) {
        return Err("slope".into());
    }
    let mut has_entropy = false;
    if version == 2 {
        match c.byte()? {
            0 => {}
            1 => {
                has_entropy = true;
                let shift = c.byte()?;
                if !(1..=24).contains(&shift) {
                    return Err("predictor shift".into());
                }
                let pad = c.bytes()?;
                if pad.len() > 3 || pad.iter().any(|&b| b != 0) {
                    return Err("entropy pad".into());
                }
                let n = c.varint(32)? as usize;
                if !c.pos.is_multiple_of(4) {
                    return Err("entropy tensors not 4-aligned".into());
                }
                // Minimal pad: with one byte fewer, the tensors would not be aligned.
                let tensors = c.take(n)?;
                let l = latent;
                if tensors.len() != 4 * l + 2 * 256 * l + 2 * (l * (l - 1) / 2) {
                    return Err("entropy tensor length".into());
                }
            }
            _ => return Err("option tag".into()),
        }
    }
    if c.varint(32)? != 1 {
        return Err("not an int8 model".into());
    }
    let latent_scale = c.f32()?;
    if !(latent_scale.is_finite() && latent_scale > 0.0) {
        return Err("latent scale".into());
    }
    let zero_point = c.byte()?;
    let encoder = c.layer(latent, input, 2)?;
    let decoder = c.layer(input, latent, 1)?;
    if c.pos != body.len() {
        return Err("trailing bytes".into());
    }
    // Validation step 7: the accumulator bounds.
    for j in 0..latent {
        let s: i64 = encoder.weights[j * input..(j + 1) * input]
            .iter()
            .map(|&w| (w as i64).abs())
            .sum();
        if (encoder.bias[j] as i64).abs() + 255 * s >= 1 << 31 {
            return Err("encoder accumulator bound".into());
        }
    }
    for i in 0..input {
        let s: i64 = decoder.weights[i * latent..(i + 1) * latent]
            .iter()
            .map(|&w| (w as i64).abs())
            .sum();
        if (decoder.bias[i] as i64).abs() + 256 * s >= 1 << 31 {
            return Err("decoder accumulator bound".into());
        }
    }
    Ok(RefModel {
        version,
        input,
        latent,
        shape,
        slope,
        has_entropy,
        latent_scale,
        zero_point,
        encoder,
        decoder,
    })
}

// ---------------------------------------------------------------------------------------------
// 2. The reference encoder and decoder, i64 arithmetic.

/// `(acc * m + 2^(s-1)) >> s`, arithmetic shift.
fn requant(acc: i64, m: i32, s: u8) -> i64 {
    assert!((1..=62).contains(&s));
    let p = acc * m as i64; // |acc| < 2^31, m < 2^31: fits.
    (p + (1i64 << (s - 1))) >> s
}

fn sigmoid_table() -> Vec<u8> {
    (0..2048)
        .map(|k| {
            let x = (k as f64 - 1024.0) / 128.0;
            let y = 255.0 * (1.0 / (1.0 + (-x).exp()));
            y.round() as u8 // f64::round: half away from zero
        })
        .collect()
}

fn ref_encode_acc(m: &RefModel, pixels: &[u8], j: usize) -> i64 {
    let row = &m.encoder.weights[j * m.input..(j + 1) * m.input];
    let mut acc = m.encoder.bias[j] as i64;
    for (&w, &p) in row.iter().zip(pixels) {
        acc += w as i64 * p as i64;
    }
    acc
}

fn ref_encode(m: &RefModel, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(pixels.len(), m.input);
    (0..m.latent)
        .map(|j| {
            let acc = ref_encode_acc(m, pixels, j);
            let branch = if acc >= 0 { 0 } else { 1 };
            let r = requant(
                acc,
                m.encoder.multipliers[2 * j + branch],
                m.encoder.shifts[2 * j + branch],
            );
            (m.zero_point as i64 + r).clamp(0, 255) as u8
        })
        .collect()
}

fn ref_decode_k(m: &RefModel, code: &[u8], i: usize) -> (i64, i64) {
    let row = &m.decoder.weights[i * m.latent..(i + 1) * m.latent];
    let mut acc = m.decoder.bias[i] as i64;
    for (&v, &c) in row.iter().zip(code) {
        acc += v as i64 * (c as i64 - m.zero_point as i64);
    }
    let k = (1024 + requant(acc, m.decoder.multipliers[i], m.decoder.shifts[i])).clamp(0, 2047);
    (acc, k)
}

fn ref_decode(m: &RefModel, table: &[u8], code: &[u8]) -> Vec<u8> {
    assert_eq!(code.len(), m.latent);
    (0..m.input)
        .map(|i| table[ref_decode_k(m, code, i).1 as usize])
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Comparison harness.

#[derive(Default)]
struct Stats {
    models: usize,
    encodes: usize,
    decodes: usize,
    code_bytes: usize,
    pixels: usize,
    interior_codes: usize,
    interior_pixels: usize,
    mismatches: Vec<String>,
}

impl Stats {
    fn note(&mut self, msg: String) {
        if self.mismatches.len() < 20 {
            self.mismatches.push(msg);
        } else if self.mismatches.len() == 20 {
            self.mismatches.push("... (more mismatches)".into());
        }
    }
    fn finish(&self, what: &str) {
        eprintln!(
            "{what}: {} models, {} encodes ({} code bytes), {} decodes ({} pixels) compared against both \
             the dispatched and the portable path; not saturated (1..=254): {} codes, {} pixels",
            self.models,
            self.encodes,
            self.code_bytes,
            self.decodes,
            self.pixels,
            self.interior_codes,
            self.interior_pixels
        );
        assert!(
            self.mismatches.is_empty(),
            "{what}: mismatches:\n{}",
            self.mismatches.join("\n")
        );
    }
}

/// Compares reference and ae-core (dispatched and portable) on every image and code given.
fn compare(
    label: &str,
    file: &[u8],
    table: &[u8],
    images: &[Vec<u8>],
    extra_codes: &[Vec<u8>],
    stats: &mut Stats,
) {
    let r = read_model(file).unwrap_or_else(|e| panic!("{label}: reference reader: {e}"));
    let ModelRef::Int8(m) =
        ModelRef::parse(file).unwrap_or_else(|e| panic!("{label}: parse: {e:?}"))
    else {
        panic!("{label}: not an int8 model");
    };
    stats.models += 1;
    let (input, latent) = (r.input, r.latent);
    let mut codes: Vec<Vec<u8>> = Vec::new();
    for (n, px) in images.iter().enumerate() {
        let want = ref_encode(&r, px);
        let mut got = vec![0u8; latent];
        m.encode(px, &mut got)
            .unwrap_or_else(|e| panic!("{label}: encode: {e:?}"));
        let mut got_p = vec![0u8; latent];
        ae_core::int8_kernels::encode_portable(&m, px, &mut got_p);
        for (path, g) in [("dispatched", &got), ("portable", &got_p)] {
            if *g != want {
                let j = (0..latent).find(|&j| g[j] != want[j]).unwrap();
                let acc = ref_encode_acc(&r, px, j);
                let b = if acc >= 0 { 0 } else { 1 };
                stats.note(format!(
                    "{label} encode ({path}) image {n}: code[{j}] ae-core {} reference {} \
                     (acc {acc}, branch {b}, m {}, s {}, zp {}, input {input}, latent {latent}, \
                     row {:?}, bias {}, pixels {:?})",
                    g[j],
                    want[j],
                    r.encoder.multipliers[2 * j + b],
                    r.encoder.shifts[2 * j + b],
                    r.zero_point,
                    &r.encoder.weights[j * input..(j + 1) * input],
                    r.encoder.bias[j],
                    px
                ));
            }
        }
        stats.encodes += 1;
        stats.code_bytes += latent;
        stats.interior_codes += want.iter().filter(|&&c| c != 0 && c != 255).count();
        codes.push(want);
    }
    codes.extend(extra_codes.iter().cloned());
    for (n, code) in codes.iter().enumerate() {
        let want = ref_decode(&r, table, code);
        let mut got = vec![0u8; input];
        let mut centred = vec![0i16; latent];
        m.decode(code, &mut centred, &mut got)
            .unwrap_or_else(|e| panic!("{label}: decode: {e:?}"));
        let mut got_p = vec![0u8; input];
        let mut centred_p = vec![0i16; latent];
        ae_core::int8_kernels::decode_portable(&m, code, &mut centred_p, &mut got_p);
        for (path, g) in [("dispatched", &got), ("portable", &got_p)] {
            if *g != want {
                let i = (0..input).find(|&i| g[i] != want[i]).unwrap();
                let (acc, k) = ref_decode_k(&r, code, i);
                stats.note(format!(
                    "{label} decode ({path}) code {n}: pixel[{i}] ae-core {} reference {} \
                     (acc {acc}, k {k}, m {}, s {}, zp {}, input {input}, latent {latent}, \
                     row {:?}, bias {}, code {:?})",
                    g[i],
                    want[i],
                    r.decoder.multipliers[i],
                    r.decoder.shifts[i],
                    r.zero_point,
                    &r.decoder.weights[i * latent..(i + 1) * latent],
                    r.decoder.bias[i],
                    code
                ));
            }
        }
        stats.decodes += 1;
        stats.pixels += input;
        stats.interior_pixels += want.iter().filter(|&&c| c != 0 && c != 255).count();
    }
}

/// Synthetic images of `n` pixels: all 0, all 255, checkerboards, stripes, random, sparse.
fn synthetic_images(n: usize, cols: usize, rng: &mut Rng, random_count: usize) -> Vec<Vec<u8>> {
    let mut v = vec![
        vec![0u8; n],
        vec![255u8; n],
        vec![1u8; n],
        vec![128u8; n],
        vec![254u8; n],
    ];
    for phase in 0..2 {
        v.push(
            (0..n)
                .map(|i| {
                    if (i / cols + i % cols + phase).is_multiple_of(2) {
                        255
                    } else {
                        0
                    }
                })
                .collect(),
        );
        v.push(
            (0..n)
                .map(|i| if (i + phase) % 2 == 0 { 255 } else { 0 })
                .collect(),
        );
        v.push(
            (0..n)
                .map(|i| {
                    if ((i / cols) / 4 + (i % cols) / 4 + phase).is_multiple_of(2) {
                        255
                    } else {
                        0
                    }
                })
                .collect(),
        );
    }
    v.push((0..n).map(|i| (i % 256) as u8).collect());
    v.push((0..n).map(|i| (255 - i % 256) as u8).collect());
    for _ in 0..random_count {
        match rng.below(4) {
            0 => v.push((0..n).map(|_| rng.next() as u8).collect()),
            1 => v.push(
                (0..n)
                    .map(|_| if rng.next() & 1 == 0 { 0 } else { 255 })
                    .collect(),
            ),
            2 => v.push(
                (0..n)
                    .map(|_| {
                        if rng.below(5) == 0 {
                            rng.next() as u8
                        } else {
                            0
                        }
                    })
                    .collect(),
            ),
            _ => {
                // A blob: a disc of bright pixels with soft edges, like a pen stroke.
                let rows = n / cols.max(1);
                let (cy, cx) = (rng.unit() * rows as f64, rng.unit() * cols as f64);
                let rad = 1.0 + rng.unit() * cols as f64 / 3.0;
                v.push(
                    (0..n)
                        .map(|i| {
                            let (y, x) = ((i / cols) as f64, (i % cols) as f64);
                            let d = ((y - cy).powi(2) + (x - cx).powi(2)).sqrt();
                            (255.0 * (1.0 - (d - rad).clamp(0.0, 1.0))).round() as u8
                        })
                        .collect(),
                )
            }
        }
    }
    v
}

fn random_codes(latent: usize, rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    let mut v = vec![vec![0u8; latent], vec![255u8; latent]];
    v.push(
        (0..latent)
            .map(|j| if j % 2 == 0 { 0 } else { 255 })
            .collect(),
    );
    v.push(
        (0..latent)
            .map(|j| if j % 2 == 0 { 255 } else { 0 })
            .collect(),
    );
    for _ in 0..count {
        v.push((0..latent).map(|_| rng.next() as u8).collect());
    }
    v
}

// ---------------------------------------------------------------------------------------------
// 3a. The committed MNIST model.

#[test]
fn committed_mnist_int8_model_matches_reference() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../firmware-example/assets/mnist-int8.tnae"
    );
    let bytes = std::fs::read(path).unwrap();
    let buf = AlignedBuf::from_bytes(&bytes);
    let r = read_model(buf.bytes()).unwrap();
    assert_eq!((r.version, r.input, r.latent), (2, 784, 64));
    assert_eq!(r.shape, (28, 28));
    eprintln!(
        "mnist-int8.tnae: v{}, entropy model: {}, latent_scale {}, zero point {}",
        r.version, r.has_entropy, r.latent_scale, r.zero_point
    );
    let table = sigmoid_table();
    let mut rng = Rng(0x5EED_0001);
    let images = synthetic_images(784, 28, &mut rng, 300);
    let codes = random_codes(64, &mut rng, 100);
    let mut stats = Stats::default();
    compare(
        "mnist-int8.tnae",
        buf.bytes(),
        &table,
        &images,
        &codes,
        &mut stats,
    );
    stats.finish("committed MNIST model");
}

/// The version 1 golden file: exercises the reader's version 1 layout end to end.
#[test]
fn golden_v1_and_v2_int8_files_match_reference() {
    let table = sigmoid_table();
    let mut rng = Rng(7);
    let mut stats = Stats::default();
    for (name, version) in [
        ("tiny-int8-2x1.v1.tnae", 1),
        ("tiny-int8-2x1.v2.tnae", 2),
        ("small-int8-entropy-2x3.v2.tnae", 2),
    ] {
        let bytes = std::fs::read(format!(
            "{}/tests/golden/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let buf = AlignedBuf::from_bytes(&bytes);
        let r = read_model(buf.bytes()).unwrap();
        assert_eq!(r.version, version, "{name}");
        let mut images = synthetic_images(r.input, r.shape.1 as usize, &mut rng, 50);
        // Every 2-pixel image for the 2-input models would be 65536; a grid of values suffices.
        if r.input == 2 {
            for a in (0..=255).step_by(15) {
                for b in (0..=255).step_by(17) {
                    images.push(vec![a as u8, b as u8]);
                }
            }
        }
        let codes = random_codes(r.latent, &mut rng, 50);
        let mut all_codes = codes;
        if r.latent == 1 {
            all_codes.extend((0..=255u8).map(|c| vec![c]));
        }
        compare(name, buf.bytes(), &table, &images, &all_codes, &mut stats);
    }
    stats.finish("golden files");
}

// ---------------------------------------------------------------------------------------------
// 3b. Random models with awkward sizes and extreme values.

struct RandomLayer {
    weights: Vec<i8>,
    bias: Vec<i32>,
    multipliers: Vec<i32>,
    shifts: Vec<u8>,
}

/// A row of weights of one of several kinds (extremes included).
fn random_row(rng: &mut Rng, n: usize, force: Option<usize>) -> Vec<i8> {
    match force.unwrap_or_else(|| rng.below(8)) {
        0 => vec![127; n],
        1 => vec![-128; n],
        2 => (0..n)
            .map(|_| if rng.next() & 1 == 0 { 127 } else { -128 })
            .collect(),
        3 => (0..n)
            .map(|_| {
                if rng.below(4) == 0 {
                    rng.range(-128, 127) as i8
                } else {
                    0
                }
            })
            .collect(),
        4 => (0..n).map(|_| rng.range(-3, 3) as i8).collect(),
        5 => (0..n)
            .map(|i| if i % 2 == 0 { 127 } else { -128 })
            .collect(),
        _ => (0..n).map(|_| rng.range(-128, 127) as i8).collect(),
    }
}

/// A valid `(multiplier, shift)` pair for a layer whose accumulators reach about `reach`.
fn random_requant(
    rng: &mut Rng,
    reach: f64,
    tally: &mut [usize; 63],
    fails: &mut usize,
) -> (i32, u8) {
    loop {
        let pair = match rng.below(10) {
            // Factors that map the accumulator range onto roughly 0.25..64 times the code range.
            0..=4 => {
                let f = 255.0 / reach.max(1.0) * 2f64.powf(rng.unit() * 8.0 - 2.0);
                Requant::from_real(f).map(|q| (q.multiplier, q.shift))
            }
            // Anything from 2^-34 to 2^32 (some not representable: those are skipped).
            5..=7 => {
                let f = 2f64.powf(rng.unit() * 66.0 - 34.0);
                Requant::from_real(f).map(|q| (q.multiplier, q.shift))
            }
            // Raw pairs straight from the spec's valid set.
            8 => {
                let m = match rng.below(4) {
                    0 => 1 << 30,
                    1 => i32::MAX,
                    _ => rng.range(1 << 30, i32::MAX as i64) as i32,
                };
                Ok((m, rng.range(1, 62) as u8))
            }
            _ => Ok((0, rng.range(1, 62) as u8)),
        };
        match pair {
            Ok((m, s)) => {
                tally[s as usize] += 1;
                return (m, s);
            }
            Err(_) => *fails += 1,
        }
    }
}

fn random_bias(rng: &mut Rng, bound: i64) -> i32 {
    // `bound` is the largest |bias| the accumulator bound allows.
    let b = match rng.below(8) {
        0 => 0,
        1 => bound,
        2 => -bound,
        3 => rng.range(-bound, bound),
        _ => rng.range(-(bound.min(50_000)), bound.min(50_000)),
    };
    b as i32
}

fn random_layer(
    rng: &mut Rng,
    outputs: usize,
    inputs: usize,
    branches: usize,
    max_input: i64,
    tally: &mut [usize; 63],
    fails: &mut usize,
) -> RandomLayer {
    let mut weights = Vec::with_capacity(outputs * inputs);
    let mut bias = Vec::with_capacity(outputs);
    let mut multipliers = Vec::new();
    let mut shifts = Vec::new();
    for o in 0..outputs {
        // The first rows are all 127 and all -128: the worst cases for 16-bit partial sums.
        let force = match o {
            0 if outputs > 2 => Some(0),
            1 if outputs > 2 => Some(1),
            _ => None,
        };
        let row = random_row(rng, inputs, force);
        let s: i64 = row.iter().map(|&w| (w as i64).abs()).sum();
        let bound = (1i64 << 31) - 1 - max_input * s;
        assert!(bound >= 0);
        let b = random_bias(rng, bound);
        let reach = (b as i64).abs() as f64 + (max_input * s) as f64 / 2.0;
        for _ in 0..branches {
            let (m, sh) = random_requant(rng, reach, tally, fails);
            multipliers.push(m);
            shifts.push(sh);
        }
        weights.extend(row);
        bias.push(b);
    }
    RandomLayer {
        weights,
        bias,
        multipliers,
        shifts,
    }
}

fn write_model(
    input: usize,
    latent: usize,
    zp: u8,
    enc: &RandomLayer,
    dec: &RandomLayer,
    slope: f32,
) -> AlignedBuf {
    let t = Int8Tensors {
        latent_scale: 0.0375,
        latent_zero_point: zp,
        encoder: QuantLayerTensors {
            weights: &enc.weights,
            bias: &enc.bias,
            multipliers: &enc.multipliers,
            shifts: &enc.shifts,
        },
        decoder: QuantLayerTensors {
            weights: &dec.weights,
            bias: &dec.bias,
            multipliers: &dec.multipliers,
            shifts: &dec.shifts,
        },
    };
    let cap = 256 + 2 * input * latent + 4 * latent * 3 + 2 * latent + 8 * input + input;
    let mut buf = AlignedBuf::zeroed(cap);
    let n = format::write_int8(input as u32, latent as u32, slope, &t, buf.all_mut())
        .unwrap_or_else(|e| panic!("write_int8 {input}x{latent}: {e:?}"));
    buf.len = n;
    buf
}

#[allow(clippy::too_many_arguments)]
fn random_model_round(
    seed: u64,
    input: usize,
    latent: usize,
    stats: &mut Stats,
    tally: &mut [usize; 63],
    fails: &mut usize,
    table: &[u8],
    n_images: usize,
    n_codes: usize,
) {
    let mut rng = Rng(seed);
    let zp = match rng.below(4) {
        0 => 0,
        1 => 255,
        _ => rng.next() as u8,
    };
    let enc = random_layer(&mut rng, latent, input, 2, 255, tally, fails);
    let dec = random_layer(&mut rng, input, latent, 1, 256, tally, fails);
    let slope = rng.unit() as f32;
    let buf = write_model(input, latent, zp, &enc, &dec, slope);
    // Column count for the synthetic images: the writer's shape, from the reference reader.
    let r = read_model(buf.bytes()).unwrap_or_else(|e| panic!("seed {seed}: reader: {e}"));
    let cols = (r.shape.1 as usize).max(1);
    let images = synthetic_images(input, cols, &mut rng, n_images);
    let codes = random_codes(latent, &mut rng, n_codes);
    compare(
        &format!("random model seed {seed:#x} ({input}x{latent}, zp {zp})"),
        buf.bytes(),
        table,
        &images,
        &codes,
        stats,
    );
}

#[test]
fn random_models_with_awkward_sizes_match_reference() {
    let table = sigmoid_table();
    let mut stats = Stats::default();
    let mut tally = [0usize; 63];
    let mut fails = 0usize;
    let fixed_inputs = [
        1usize, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 35, 47, 63, 64, 65, 97, 100,
    ];
    let mut seed = 0x000A_11CE_0000_u64;
    for &input in &fixed_inputs {
        for latent in 1..=20usize {
            seed += 1;
            random_model_round(
                seed, input, latent, &mut stats, &mut tally, &mut fails, &table, 6, 4,
            );
        }
    }
    let mut rng = Rng(0xBEEF);
    for _ in 0..600 {
        let input = rng.range(1, 100) as usize;
        let latent = rng.range(1, 20) as usize;
        seed += 1;
        random_model_round(
            seed, input, latent, &mut stats, &mut tally, &mut fails, &table, 6, 4,
        );
    }
    // Larger shapes, including the MNIST one (784 x 64), which may have its own kernels.
    for &(input, latent) in &[
        (784usize, 64usize),
        (784, 64),
        (784, 64),
        (784, 63),
        (784, 65),
        (33, 64),
        (1, 64),
        (100, 64),
        (784, 1),
        (257, 32),
        (129, 33),
    ] {
        seed += 1;
        random_model_round(
            seed, input, latent, &mut stats, &mut tally, &mut fails, &table, 12, 8,
        );
    }
    let shifts_seen: Vec<usize> = (1..=62).filter(|&s| tally[s] > 0).collect();
    eprintln!(
        "shifts used: {} of 1..=62 (missing: {:?}); from_real refusals skipped: {fails}",
        shifts_seen.len(),
        (1..=62).filter(|&s| tally[s] == 0).collect::<Vec<_>>()
    );
    assert!(
        shifts_seen.len() >= 55,
        "shift coverage too small: {shifts_seen:?}"
    );
    stats.finish("random models");
}

/// `Requant::from_real` yields pairs in the spec's valid set whose real value is close to the
/// factor asked for, over the whole representable range.
#[test]
fn from_real_gives_spec_valid_pairs() {
    let mut shifts = std::collections::BTreeSet::new();
    let mut rng = Rng(3);
    for i in 0..20_000 {
        let f = if i < 200 {
            2f64.powi(i - 100)
        } else {
            2f64.powf(rng.unit() * 70.0 - 36.0)
        };
        if let Ok(q) = Requant::from_real(f) {
            let (m, s) = (q.multiplier, q.shift);
            assert!((1..=62).contains(&s), "f {f}: shift {s}");
            assert!(
                m == 0 || (1 << 30..=i32::MAX).contains(&m),
                "f {f}: multiplier {m}"
            );
            if m != 0 {
                let real = m as f64 * 2f64.powi(-(s as i32));
                assert!(
                    (real / f - 1.0).abs() <= 2f64.powi(-30),
                    "f {f}: ({m}, {s}) = {real}"
                );
                shifts.insert(s);
            }
        }
    }
    eprintln!(
        "from_real shifts: {} distinct, {:?}..={:?}",
        shifts.len(),
        shifts.first(),
        shifts.last()
    );
}

// ---------------------------------------------------------------------------------------------
// 3c. The sigmoid table.

#[test]
fn sigmoid_table_sanity() {
    let t = sigmoid_table();
    assert_eq!(t.len(), 2048);
    assert_eq!(t[0], 0);
    assert_eq!(t[2047], 255);
    assert_eq!(t[1024], 128); // 255 / 2 = 127.5 exactly: round half away from zero
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "not monotone");
    // "No entry is a tie" (FORMAT.md): no 255 * sigmoid value is within 1e-9 of a half integer,
    // except k = 1024 where it is exactly 127.5.
    for k in 0..2048 {
        let y = 255.0 / (1.0 + (-((k as f64 - 1024.0) / 128.0)).exp());
        let frac = y - y.floor();
        if k != 1024 {
            assert!(
                (frac - 0.5).abs() > 1e-9,
                "k {k}: 255*sigmoid = {y} is (nearly) a tie"
            );
        }
    }
    // Every value 0..=255 appears (the table spans the whole pixel range).
    let mut seen = [false; 256];
    for &v in &t {
        seen[v as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "missing pixel values");
}

// ---------------------------------------------------------------------------------------------
// Accumulator bound: the bound in the spec, exactly at the edge (validation order step 7).

#[test]
fn accumulator_bound_edge_models_match_reference() {
    let table = sigmoid_table();
    let mut stats = Stats::default();
    // Factors that keep accumulators near +-2^31 inside the code and table ranges, and 1.0.
    let (pos, neg) = (
        Requant::from_real(2f64.powi(-24)).unwrap(),
        Requant::from_real(2f64.powi(-25)).unwrap(),
    );
    let (one, dec_f) = (
        Requant::from_real(1.0).unwrap(),
        Requant::from_real(2f64.powi(-22)).unwrap(),
    );
    for &(input, latent) in &[
        (1usize, 1usize),
        (3, 2),
        (17, 3),
        (33, 5),
        (100, 20),
        (784, 64),
    ] {
        for &w in &[127i8, -128] {
            for &(zp, wide) in &[
                (0u8, false),
                (255, false),
                (0, true),
                (255, true),
                (128, true),
            ] {
                let (p, n, d) = if wide {
                    (pos, neg, dec_f)
                } else {
                    (one, one, one)
                };
                // |bias| + 255 * sum |w| = 2^31 - 1 exactly (encoder), 256 * ... (decoder).
                let es = 255 * (w as i64).abs() * input as i64;
                let ds = 256 * (w as i64).abs() * latent as i64;
                let enc = RandomLayer {
                    weights: vec![w; input * latent],
                    bias: (0..latent)
                        .map(|j| {
                            if j % 2 == 0 {
                                (2147483647 - es) as i32
                            } else {
                                -(2147483647 - es) as i32
                            }
                        })
                        .collect(),
                    multipliers: (0..latent)
                        .flat_map(|_| [p.multiplier, n.multiplier])
                        .collect(),
                    shifts: (0..latent).flat_map(|_| [p.shift, n.shift]).collect(),
                };
                let dec = RandomLayer {
                    weights: vec![w; input * latent],
                    bias: (0..input)
                        .map(|i| {
                            if i % 2 == 0 {
                                (2147483647 - ds) as i32
                            } else {
                                -(2147483647 - ds) as i32
                            }
                        })
                        .collect(),
                    multipliers: vec![d.multiplier; input],
                    shifts: vec![d.shift; input],
                };
                let buf = write_model(input, latent, zp, &enc, &dec, 0.3);
                let mut rng = Rng(input as u64 * 1000 + latent as u64);
                let cols = read_model(buf.bytes()).unwrap().shape.1 as usize;
                let images = synthetic_images(input, cols, &mut rng, 4);
                let codes = random_codes(latent, &mut rng, 4);
                compare(
                    &format!("edge {input}x{latent} w {w} zp {zp} wide {wide}"),
                    buf.bytes(),
                    &table,
                    &images,
                    &codes,
                    &mut stats,
                );
            }
        }
    }
    stats.finish("accumulator-bound edge models");
}

// ---------------------------------------------------------------------------------------------
// Information only: whether the dispatched path is a different (faster) kernel than the portable
// one in this build. Without ae-core's `std` feature the dispatch may have no run-time CPU
// detection, and then both columns compare the same loops.

#[test]
fn dispatch_timing_info() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../firmware-example/assets/mnist-int8.tnae"
    );
    let buf = AlignedBuf::from_bytes(&std::fs::read(path).unwrap());
    let ModelRef::Int8(m) = ModelRef::parse(buf.bytes()).unwrap() else {
        panic!()
    };
    let mut rng = Rng(11);
    let px: Vec<u8> = (0..784).map(|_| rng.next() as u8).collect();
    let (mut code, mut centred, mut out) = ([0u8; 64], [0i16; 64], [0u8; 784]);
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        m.encode(std::hint::black_box(&px), &mut code).unwrap();
        m.decode(std::hint::black_box(&code), &mut centred, &mut out)
            .unwrap();
    }
    let dispatched = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..n {
        ae_core::int8_kernels::encode_portable(&m, std::hint::black_box(&px), &mut code);
        ae_core::int8_kernels::decode_portable(
            &m,
            std::hint::black_box(&code),
            &mut centred,
            &mut out,
        );
    }
    let portable = t.elapsed();
    eprintln!(
        "MNIST encode+decode per image: dispatched {:.2} us, portable {:.2} us (avx2 on this CPU: {})",
        dispatched.as_secs_f64() * 1e6 / n as f64,
        portable.as_secs_f64() * 1e6 / n as f64,
        avx2()
    );
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2() -> bool {
    false
}

// ---------------------------------------------------------------------------------------------
// Validation (step 6 values, step 7 accumulator bounds): files patched byte-wise past the writer,
// CRC recomputed; the reference reader and ae-core must both reject them with `InvalidValue`.

fn patched(file: &[u8], patch: impl FnOnce(&mut [u8])) -> AlignedBuf {
    let mut v = file.to_vec();
    let body = v.len() - 4;
    patch(&mut v[..body]);
    let crc = crc32(&v[..body]).to_le_bytes();
    v[body..].copy_from_slice(&crc);
    AlignedBuf::from_bytes(&v)
}

fn find_unique(hay: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = (0..=hay.len() - needle.len())
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "needle {needle:?} found {} times",
        hits.len()
    );
    hits[0]
}

#[test]
fn invalid_values_rejected_like_the_reference() {
    let (input, latent) = (5usize, 3usize);
    let one = Requant::from_real(1.0).unwrap();
    let es = 255 * 127 * input as i64;
    let ds = 256 * 127 * latent as i64;
    let enc = RandomLayer {
        weights: vec![127; input * latent],
        bias: vec![
            0x1234_5678 % (2147483647 - es) as i32,
            0,
            (2147483647 - es) as i32,
        ],
        multipliers: vec![one.multiplier; 2 * latent],
        shifts: vec![one.shift; 2 * latent],
    };
    let dec = RandomLayer {
        weights: vec![127; input * latent],
        bias: vec![0, 0, 0, 0, -(2147483647 - ds) as i32],
        multipliers: vec![one.multiplier; input],
        shifts: vec![one.shift; input],
    };
    let good = write_model(input, latent, 7, &enc, &dec, 0.3);
    let file = good.bytes().to_vec();
    read_model(&file).unwrap();
    assert!(matches!(ModelRef::parse(&file), Ok(ModelRef::Int8(_))));
    let end = file.len() - 4;
    let enc_edge = find_unique(&file, &((2147483647 - es) as i32).to_le_bytes());
    let dec_edge = find_unique(&file, &(-(2147483647 - ds) as i32).to_le_bytes());
    // Decoder shifts are the last `input` body bytes, after a 1-byte length; its multipliers
    // precede them (4 * input bytes, after a 1-byte length).
    let dec_shifts = end - input;
    let dec_mults = dec_shifts - 1 - 4 * input;
    type Patch = Box<dyn Fn(&mut [u8])>;
    let cases: Vec<(&str, Patch)> = vec![
        (
            "encoder bound + 1",
            Box::new(move |b: &mut [u8]| {
                b[enc_edge..enc_edge + 4].copy_from_slice(&((2147483648 - es) as i32).to_le_bytes())
            }),
        ),
        (
            "decoder bound + 1",
            Box::new(move |b: &mut [u8]| {
                b[dec_edge..dec_edge + 4]
                    .copy_from_slice(&(-(2147483648 - ds) as i32).to_le_bytes())
            }),
        ),
        ("shift 0", Box::new(move |b: &mut [u8]| b[dec_shifts] = 0)),
        (
            "shift 63",
            Box::new(move |b: &mut [u8]| b[dec_shifts + 1] = 63),
        ),
        (
            "multiplier 2^30 - 1",
            Box::new(move |b: &mut [u8]| {
                b[dec_mults..dec_mults + 4].copy_from_slice(&((1i32 << 30) - 1).to_le_bytes())
            }),
        ),
        (
            "multiplier -1",
            Box::new(move |b: &mut [u8]| {
                b[dec_mults + 4..dec_mults + 8].copy_from_slice(&(-1i32).to_le_bytes())
            }),
        ),
        (
            "multiplier i32::MIN",
            Box::new(move |b: &mut [u8]| {
                b[dec_mults..dec_mults + 4].copy_from_slice(&i32::MIN.to_le_bytes())
            }),
        ),
    ];
    for (name, patch) in cases {
        let bad = patched(&file, patch);
        let ours = read_model(bad.bytes());
        let theirs = ModelRef::parse(bad.bytes());
        assert!(ours.is_err(), "{name}: reference reader accepted it");
        match theirs {
            Err(e) => assert!(
                format!("{e:?}").contains("InvalidValue"),
                "{name}: ae-core error {e:?}, spec says InvalidValue"
            ),
            Ok(_) => panic!(
                "{name}: ae-core accepted a file the spec rejects (reference: {:?})",
                ours.err()
            ),
        }
    }
    // The edge values themselves and multiplier 0 / 2^31 - 1, shifts 1 and 62 are valid.
    let ok = patched(&file, |b| {
        b[dec_mults..dec_mults + 4].copy_from_slice(&0i32.to_le_bytes());
        b[dec_mults + 4..dec_mults + 8].copy_from_slice(&i32::MAX.to_le_bytes());
        b[dec_shifts] = 1;
        b[dec_shifts + 1] = 62;
    });
    read_model(ok.bytes()).unwrap();
    let table = sigmoid_table();
    let mut rng = Rng(5);
    let images = synthetic_images(input, input, &mut rng, 20);
    let codes = random_codes(latent, &mut rng, 20);
    let mut stats = Stats::default();
    compare(
        "patched valid extremes",
        ok.bytes(),
        &table,
        &images,
        &codes,
        &mut stats,
    );
    stats.finish("patched valid extremes");
}

/// Information only: behaviour the spec leaves open (printed, not asserted).
#[test]
fn unspecified_behaviour_info() {
    for f in [
        0.0,
        2f64.powi(-40),
        2f64.powi(-33),
        2f64.powi(-32),
        2f64.powi(30),
        2f64.powi(31),
        -1.0,
    ] {
        eprintln!(
            "Requant::from_real({f:e}) = {:?}",
            Requant::from_real(f).map(|q| (q.multiplier, q.shift))
        );
    }
    // Is an int8 model with no entropy model accepted from a buffer that is not 16-byte aligned?
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/tiny-int8-2x1.v2.tnae"
    ))
    .unwrap();
    let mut big = AlignedBuf::zeroed(bytes.len() + 16);
    for off in [1usize, 2, 4, 8] {
        big.all_mut()[off..off + bytes.len()].copy_from_slice(&bytes);
        let r = ModelRef::parse(&big.all_mut()[off..off + bytes.len()]).map(|_| ());
        eprintln!("tiny int8 v2 (no entropy) at address offset {off}: {r:?}");
    }
}
