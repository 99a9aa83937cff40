//! Whole image sets through an int8 model, on every core: the model prepared once for this CPU
//! (aligned, and on AVX-512 VNNI packed weights: `ae_core::prepared`), the images cut into
//! chunks that rayon's workers take in turn, and every result put back in input order.
//!
//! Each image goes through exactly the single-image arithmetic, so the output is the same bytes
//! whatever the thread count or the chunking (the tests compare 1, 2 and 3 threads with the
//! plain loop).

use ae_core::entropy::EntropyRef;
use ae_core::prepared::PreparedInt8;
use rayon::prelude::*;
/// The worker pool [`pool`] makes (rayon's), named here for the callers.
pub use rayon::ThreadPool;

/// Images per task: large enough that scheduling costs nothing next to the work (about 0.5 ms
/// for 256 MNIST images), small enough that two workers share 10,000 images evenly.
pub const CHUNK_IMAGES: usize = 256;

/// A thread pool of `threads` workers (at least one).
pub fn pool(threads: usize) -> Result<ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
}

/// The codes of `images` images (`input` pixels each, one after the other).
pub fn encode_all(
    model: &PreparedInt8<'_>,
    pixels: &[u8],
    images: usize,
) -> Result<Vec<u8>, ae_core::Error> {
    let (input, latent) = model.model().dims().as_usize();
    let mut codes = vec![0u8; images.saturating_mul(latent)];
    pixels
        .par_chunks(CHUNK_IMAGES * input.max(1))
        .zip(codes.par_chunks_mut(CHUNK_IMAGES * latent.max(1)))
        .try_for_each(|(p, c)| model.encode_batch(p.len() / input.max(1), p, c))?;
    Ok(codes)
}

/// The images of `images` codes (`latent` bytes each).
pub fn decode_all(
    model: &PreparedInt8<'_>,
    codes: &[u8],
    images: usize,
) -> Result<Vec<u8>, ae_core::Error> {
    let (input, latent) = model.model().dims().as_usize();
    let mut pixels = vec![0u8; images.saturating_mul(input)];
    codes
        .par_chunks(CHUNK_IMAGES * latent.max(1))
        .zip(pixels.par_chunks_mut(CHUNK_IMAGES * input.max(1)))
        .try_for_each(|(c, p)| model.decode_batch(c.len() / latent.max(1), c, p))?;
    Ok(pixels)
}

/// How each code is entropy-coded.
#[derive(Clone, Copy, Debug)]
pub enum Rate {
    /// One quantization step for every code.
    Step(u8),
    /// The finest step whose coded size fits this many bytes.
    MaxBytes(usize),
}

/// Why one code could not be entropy-coded.
#[derive(Debug)]
pub struct CodingFailure {
    /// Its index in the input.
    pub index: usize,
    /// What ae-core said.
    pub source: ae_core::Error,
}

/// Entropy-codes every code (`latent` bytes each) as `rate` says, on this thread, and returns
/// the coded images in order. On failure, the first failing image (its index in `codes`).
/// `ae compress` runs it on chunks of images on every core (`crate::pipeline`).
pub fn entropy_code(
    entropy: &EntropyRef<'_>,
    codes: &[u8],
    latent: usize,
    rate: Rate,
) -> Result<Vec<Vec<u8>>, CodingFailure> {
    let latent = latent.max(1);
    let mut centred = vec![0i16; latent];
    let mut coded = vec![0u8; ae_core::entropy::max_coded_len(latent)];
    let mut out = Vec::with_capacity(codes.len() / latent);
    for (index, code) in codes.chunks_exact(latent).enumerate() {
        let n = match rate {
            Rate::MaxBytes(cap) => entropy
                .encode_within(code, cap, &mut centred, &mut coded)
                .map(|(n, _)| n),
            Rate::Step(step) => entropy.encode(code, step, &mut centred, &mut coded),
        }
        .map_err(|source| CodingFailure { index, source })?;
        out.push(coded.get(..n).unwrap_or(&[]).to_vec());
    }
    Ok(out)
}

/// Entropy-decodes every coded image into its 8-bit code; returns the codes and each image's
/// step. On failure, the first failing image in input order.
pub fn entropy_decode_all(
    entropy: &EntropyRef<'_>,
    coded: &[&[u8]],
    latent: usize,
) -> Result<(Vec<u8>, Vec<u8>), CodingFailure> {
    let latent = latent.max(1);
    let mut codes = vec![0u8; coded.len() * latent];
    let steps: Vec<Result<Vec<u8>, CodingFailure>> = coded
        .par_chunks(CHUNK_IMAGES)
        .zip(codes.par_chunks_mut(CHUNK_IMAGES * latent))
        .enumerate()
        .map(|(chunk, (coded, codes))| {
            let mut centred = vec![0i16; latent];
            coded
                .iter()
                .zip(codes.chunks_exact_mut(latent))
                .enumerate()
                .map(|(k, (image, code))| {
                    entropy
                        .decode(image, &mut centred, code)
                        .map_err(|source| CodingFailure {
                            index: chunk * CHUNK_IMAGES + k,
                            source,
                        })
                })
                .collect()
        })
        .collect();
    let mut all = Vec::with_capacity(coded.len());
    for chunk in steps {
        all.extend(chunk?);
    }
    Ok((codes, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small int8 model from ae-core's writer: `input` -> `latent`, pseudo-random weights.
    fn model_bytes(input: usize, latent: usize) -> Vec<u8> {
        use ae_core::format::{Int8Tensors, QuantLayerTensors};
        use ae_core::requant::Requant;
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut weights = |n: usize| -> Vec<i8> { (0..n).map(|_| next() as u8 as i8).collect() };
        let (enc_w, dec_w) = (weights(input * latent), weights(input * latent));
        let rq = |m: f64| Requant::from_real(m).unwrap();
        let (pos, neg, dec) = (rq(2.0e-4), rq(0.6e-4), rq(4.0e-3));
        let enc_mult: Vec<i32> = (0..latent)
            .flat_map(|_| [pos.multiplier, neg.multiplier])
            .collect();
        let enc_shift: Vec<u8> = (0..latent).flat_map(|_| [pos.shift, neg.shift]).collect();
        let enc_bias: Vec<i32> = (0..latent as i32).map(|j| 1000 * j - 3000).collect();
        let dec_bias: Vec<i32> = (0..input as i32).map(|i| 500 * (i % 9) - 2000).collect();
        let tensors = Int8Tensors {
            latent_scale: 0.05,
            latent_zero_point: 120,
            encoder: QuantLayerTensors {
                weights: &enc_w,
                bias: &enc_bias,
                multipliers: &enc_mult,
                shifts: &enc_shift,
            },
            decoder: QuantLayerTensors {
                weights: &dec_w,
                bias: &dec_bias,
                multipliers: &vec![dec.multiplier; input],
                shifts: &vec![dec.shift; input],
            },
        };
        let shape = ae_core::format::Shape::implied_by(input as u32);
        let len = ae_core::format::int8_file_len(shape, latent as u32, false).unwrap();
        let mut file = vec![0u8; len];
        let n = ae_core::format::write_int8(input as u32, latent as u32, 0.3, &tensors, &mut file)
            .unwrap();
        assert_eq!(n, len);
        file
    }

    #[test]
    fn every_thread_count_gives_the_single_image_results_in_order() {
        // 48 -> 16: whole packed blocks where the CPU has AVX-512 VNNI; 1,000 images: three full
        // chunks and a partial one.
        let (input, latent, images) = (48, 16, 1000);
        let bytes = crate::model::ModelBytes::new(&model_bytes(input, latent));
        let Ok(ae_core::format::ModelRef::Int8(m)) = bytes.parse("m".as_ref()) else {
            panic!("not an int8 model")
        };
        let pixels: Vec<u8> = (0..images * input).map(|k| (k * 37 % 251) as u8).collect();
        let (mut want_codes, mut want_pixels) =
            (vec![0u8; images * latent], vec![0u8; images * input]);
        for k in 0..images {
            let code = &mut want_codes[k * latent..][..latent];
            m.encode(&pixels[k * input..][..input], code).unwrap();
            m.decode(
                code,
                &mut vec![0; latent],
                &mut want_pixels[k * input..][..input],
            )
            .unwrap();
        }
        let prepared = PreparedInt8::new(m);
        for threads in [1, 2, 3] {
            let pool = pool(threads).unwrap();
            let (codes, back) = pool.install(|| {
                let codes = encode_all(&prepared, &pixels, images).unwrap();
                let back = decode_all(&prepared, &codes, images).unwrap();
                (codes, back)
            });
            assert_eq!(codes, want_codes, "{threads} threads");
            assert_eq!(back, want_pixels, "{threads} threads");
        }
    }
}
