//! Entropy coding of latent codes: fewer bytes per image, with a rate the caller controls.
//!
//! The int8 encoder's 8-bit codes are far from uniform, and neighbouring dimensions are correlated.
//! The model file (version 2) may carry an entropy model fitted on the training codes: a linear
//! predictor of each dimension from the ones before it (integer weights), and one table of
//! residual frequencies per dimension. The range coder in [`range`] turns each code into about as
//! many bits as the model says it carries. A *step* quantizes the code around the zero point
//! first (coarser bins, fewer bytes); every step's bin probabilities follow exactly from the one
//! table per dimension, so no table is stored per step. Step 1 is lossless.
//!
//! Everything runs on caller buffers with a bounded stack: it is the same code on a Cortex-M0 and
//! on the host, and both give the same bytes. `FORMAT.md` (*Entropy coding*) is normative.

pub mod range;

use crate::Error;
use range::{Decoder, Encoder, PROB_BITS};

/// Number of code values (8-bit codes).
pub const SYMBOLS: usize = 256;
/// Largest predictor shift a file may hold.
pub const MAX_PREDICTOR_SHIFT: u8 = 24;
/// Bound on each predictor sum `|b| + 255 * sum |a|`, so rounding cannot overflow i32.
pub const PREDICTOR_BOUND: i64 = 1 << 30;
/// The steps rate control tries, finest first. Odd only: their bins are symmetric around the
/// value they decode to, and on real models step 3 costs no more PSNR than step 2 in fewer bytes.
pub const STEP_LADDER: [u8; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 19, 23, 27, 33, 41, 63, 127, 255];
const TOTAL: u32 = 1 << PROB_BITS;

/// The longest coded image (step byte and payload) a model with `latent` dimensions can produce.
/// Each dimension costs at most 16 bits plus the truncation loss of `range >> 16` (under 1/128
/// of a bit per dimension), and the finish writes at most 4 bytes.
pub const fn max_coded_len(latent: usize) -> usize {
    1 + 2 * latent + latent / 64 + 6
}

/// A validated entropy model borrowed from a model file.
#[derive(Debug, Clone, Copy)]
pub struct EntropyRef<'a> {
    latent: usize,
    zero_point: u8,
    shift: u8,
    bias: &'a [i32],
    cumulative: &'a [u16],
    weights: &'a [i16],
}

/// Checks tables against the rules of `FORMAT.md`; shared by the parser and the writer.
pub(crate) fn validate_tables(
    latent: usize,
    shift: u8,
    bias: &[i32],
    cumulative: &[u16],
    weights: &[i16],
) -> Result<(), Error> {
    use crate::format::validate::len;
    len("entropy.predictor_bias", latent * 4, bias.len() * 4)?;
    len(
        "entropy.cumulative",
        latent * SYMBOLS * 2,
        cumulative.len() * 2,
    )?;
    len(
        "entropy.predictor_weights",
        triangle(latent) * 2,
        weights.len() * 2,
    )?;
    if !(1..=MAX_PREDICTOR_SHIFT).contains(&shift) {
        return Err(Error::InvalidValue("predictor shift must be in 1..=24"));
    }
    for table in cumulative.chunks_exact(SYMBOLS) {
        if table[0] != 0 || table.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::InvalidValue(
                "cumulative frequencies must start at 0 and strictly increase",
            ));
        }
    }
    let mut rest = weights;
    for (j, &b) in bias.iter().enumerate() {
        // The length check above guarantees the rows; split without a panic path all the same.
        let (row, tail) = rest.split_at_checked(j).unwrap_or((rest, &[]));
        rest = tail;
        let sum: i64 = row.iter().map(|&a| i64::from(a).abs()).sum();
        if i64::from(b).abs() + 255 * sum > PREDICTOR_BOUND {
            return Err(Error::InvalidValue("predictor sums must stay within 2^30"));
        }
    }
    Ok(())
}

/// The predictor of `FORMAT.md`: `clamp(z + ((b + sum a[k] x[k] + 2^(S-1)) >> S), 0, 255)` with
/// `x[k] = r[k] - z` the centred reconstructions. Public so that an exporter fits its tables on
/// exactly the predictions the coder makes; the sum must respect [`PREDICTOR_BOUND`] (a
/// validated model does, for `|x| <= 255`).
#[inline]
pub fn predict(zero_point: u8, shift: u8, bias: i32, row: &[i16], centred: &[i16]) -> u8 {
    let z = i32::from(zero_point);
    let acc = bias + dot_i16(row, centred);
    let rounded = (acc + (1 << (shift - 1))) >> shift;
    (z + rounded).clamp(0, 255) as u8
}

/// `sum a[k] * x[k]` over the shorter of the two: `SMLAD` assembly on Cortex-M4/M7.
#[cfg(ae_core_dsp)]
#[inline]
fn dot_i16(a: &[i16], x: &[i16]) -> i32 {
    crate::kernels::dsp::dot_i16_i16(a, x)
}

/// `sum a[k] * x[k]` over the shorter of the two, in pairs to halve the loop overhead. (Integer
/// sums are exact, so every order gives the same result.)
#[cfg(not(ae_core_dsp))]
#[inline]
fn dot_i16(a: &[i16], x: &[i16]) -> i32 {
    let n = a.len().min(x.len());
    let (a, x) = (&a[..n], &x[..n]);
    let mut acc0 = 0i32;
    let mut acc1 = 0i32;
    let mut pairs_a = a.chunks_exact(2);
    let mut pairs_x = x.chunks_exact(2);
    for (pa, px) in (&mut pairs_a).zip(&mut pairs_x) {
        acc0 += i32::from(pa[0]) * i32::from(px[0]);
        acc1 += i32::from(pa[1]) * i32::from(px[1]);
    }
    for (&wa, &wx) in pairs_a.remainder().iter().zip(pairs_x.remainder()) {
        acc0 += i32::from(wa) * i32::from(wx);
    }
    acc0 + acc1
}

/// Weights in the rows before row `j` of the lower triangle: `j * (j - 1) / 2`.
pub const fn triangle(j: usize) -> usize {
    j * j.saturating_sub(1) / 2
}

impl<'a> EntropyRef<'a> {
    /// Borrows and validates the tables in `tensors` (4-byte aligned in memory).
    pub(crate) fn parse(
        latent: usize,
        zero_point: u8,
        shift: u8,
        tensors: &'a [u8],
    ) -> Result<Self, Error> {
        let bias_len = latent * 4;
        let cum_len = latent * SYMBOLS * 2;
        let expected = bias_len + cum_len + triangle(latent) * 2;
        if tensors.len() != expected {
            return Err(Error::TensorLength {
                tensor: "entropy tensors",
                expected,
                found: tensors.len(),
            });
        }
        if cfg!(target_endian = "big") {
            return Err(Error::InvalidValue(
                "entropy models need a little-endian target",
            ));
        }
        let (bias, rest) = tensors.split_at_checked(bias_len).ok_or(Error::Truncated)?;
        let (cumulative, weights) = rest.split_at_checked(cum_len).ok_or(Error::Truncated)?;
        let cast = |e| match e {
            bytemuck::PodCastError::TargetAlignmentGreaterAndInputNotAligned => Error::Misaligned,
            _ => Error::Malformed,
        };
        let bias: &[i32] = bytemuck::try_cast_slice(bias).map_err(cast)?;
        let cumulative: &[u16] = bytemuck::try_cast_slice(cumulative).map_err(cast)?;
        let weights: &[i16] = bytemuck::try_cast_slice(weights).map_err(cast)?;
        validate_tables(latent, shift, bias, cumulative, weights)?;
        Ok(EntropyRef {
            latent,
            zero_point,
            shift,
            bias,
            cumulative,
            weights,
        })
    }

    /// Latent dimensions coded.
    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Codes `code` at `step` into `out` (step byte, then payload) and returns the length used.
    /// `centred` (length `latent`) is scratch; afterwards it holds the codes the decoder will
    /// reconstruct, minus the zero point (see [`Self::reconstructed`]).
    /// [`Error::DoesNotFit`] when `out` cannot hold the stream before its trailing zero bytes are
    /// dropped; [`max_coded_len`] bytes always suffice.
    pub fn encode(
        &self,
        code: &[u8],
        step: u8,
        centred: &mut [i16],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.check_len(code.len())?;
        self.check_len(centred.len())?;
        if step == 0 {
            return Err(Error::InvalidValue("quantization step must be in 1..=255"));
        }
        let Some((head, payload)) = out.split_first_mut() else {
            return Err(Error::DoesNotFit { max_bytes: 0 });
        };
        *head = step;
        let limit = payload.len() + 1;
        let bins = Bins::new(self.zero_point, step);
        let mut enc = Encoder::new(payload);
        for (j, (&c, dim)) in code.iter().zip(self.dims()).enumerate() {
            // j < latent = centred.len(); the checked split keeps the loop free of panics.
            let Some((before, rest)) = centred.split_at_mut_checked(j) else {
                break;
            };
            let table = dim.table(self.predict_with(&dim, before));
            let q = bins.of(c);
            let (lo, hi) = bins.span(q);
            enc.encode(table.below(lo), table.below(hi + 1));
            if let Some(slot) = rest.first_mut() {
                *slot = bins.centred(q);
            }
        }
        match enc.finish() {
            Ok(n) => Ok(n + 1),
            Err(range::Overflow) => Err(Error::DoesNotFit { max_bytes: limit }),
        }
    }

    /// The 8-bit codes that `centred` values (as [`Self::encode`] leaves them) stand for.
    pub fn reconstructed(&self, centred: &[i16], code: &mut [u8]) {
        for (c, &v) in code.iter_mut().zip(centred) {
            *c = (v + i16::from(self.zero_point)).clamp(0, 255) as u8;
        }
    }

    /// Rate control: codes `code` with the finest step of [`STEP_LADDER`] whose coded image fits
    /// in `max_bytes` (step byte included), into `out`, which must hold [`max_coded_len`] bytes;
    /// `centred` as in [`Self::encode`]
    /// (a trial needs room for its whole stream before the trailing zeros are dropped). Returns
    /// `(length, step)`; [`Error::DoesNotFit`] when even the coarsest step does not fit.
    pub fn encode_within(
        &self,
        code: &[u8],
        max_bytes: usize,
        centred: &mut [i16],
        out: &mut [u8],
    ) -> Result<(usize, u8), Error> {
        let needed = max_coded_len(self.latent);
        if out.len() < needed {
            return Err(Error::BufferSize {
                expected: needed,
                found: out.len(),
            });
        }
        for step in STEP_LADDER {
            let n = self.encode(code, step, centred, out)?;
            if n <= max_bytes {
                return Ok((n, step));
            }
        }
        Err(Error::DoesNotFit { max_bytes })
    }

    /// Decodes a coded image into `code` (length `latent`; the bin centres of its step) and
    /// returns the step; `centred` (length `latent`) is scratch. Any byte string gives codes or
    /// an error, in work bounded by `latent`.
    pub fn decode(&self, coded: &[u8], centred: &mut [i16], code: &mut [u8]) -> Result<u8, Error> {
        self.check_len(code.len())?;
        self.check_len(centred.len())?;
        let Some((&step, payload)) = coded.split_first() else {
            return Err(Error::CorruptCode);
        };
        if step == 0 || payload.last() == Some(&0) {
            return Err(Error::CorruptCode);
        }
        let bins = Bins::new(self.zero_point, step);
        let (first, last) = (bins.of(0), bins.of(255));
        let mut dec = Decoder::new(payload);
        for (j, dim) in self.dims().enumerate() {
            let Some((before, rest)) = centred.split_at_mut_checked(j) else {
                break;
            };
            let table = dim.table(self.predict_with(&dim, before));
            let v = dec.target().map_err(|range::Corrupt| Error::CorruptCode)?;
            // The last bin whose start is at or below v (the first bin starts at 0).
            let (mut lo_q, mut hi_q) = (first, last);
            while lo_q < hi_q {
                let mid = lo_q + (hi_q - lo_q + 1) / 2;
                if table.below(bins.span(mid).0) <= v {
                    lo_q = mid;
                } else {
                    hi_q = mid - 1;
                }
            }
            let (lo, hi) = bins.span(lo_q);
            dec.consume(table.below(lo), table.below(hi + 1));
            if let Some(slot) = rest.first_mut() {
                *slot = bins.centred(lo_q);
            }
        }
        if payload.len() > dec.span() {
            return Err(Error::CorruptCode);
        }
        self.reconstructed(centred, code);
        Ok(step)
    }

    fn check_len(&self, found: usize) -> Result<(), Error> {
        Error::check_len(self.latent, found)
    }

    /// Each dimension's predictor row, bias and table, in coding order (no per-dimension index
    /// arithmetic or bounds checks in the coder's loop).
    fn dims(&self) -> impl Iterator<Item = Dim<'a>> {
        let mut rest = self.weights;
        self.bias
            .iter()
            .zip(self.cumulative.chunks_exact(SYMBOLS))
            .enumerate()
            .map(move |(j, (&bias, cumulative))| {
                let (row, tail) = rest.split_at(j.min(rest.len()));
                rest = tail;
                Dim {
                    bias,
                    row,
                    cumulative,
                }
            })
    }

    /// The predicted code of a dimension from the centred reconstructions before it.
    #[inline]
    fn predict_with(&self, dim: &Dim<'_>, centred: &[i16]) -> u8 {
        predict(self.zero_point, self.shift, dim.bias, dim.row, centred)
    }
}

/// One latent dimension's part of the entropy model.
struct Dim<'a> {
    bias: i32,
    row: &'a [i16],
    cumulative: &'a [u16],
}

impl<'a> Dim<'a> {
    /// The residual table rotated so that residual 0 falls on `predicted`.
    #[inline]
    fn table(&self, predicted: u8) -> Rotated<'a> {
        Rotated {
            cumulative: self.cumulative,
            offset: (SYMBOLS - usize::from(predicted)) % SYMBOLS,
        }
    }
}

/// One dimension's residual table, rotated so that the residual 0 falls on the predicted code.
struct Rotated<'a> {
    cumulative: &'a [u16],
    offset: usize,
}

impl Rotated<'_> {
    /// `C[i]` with `C[256] = 2^16`.
    #[inline]
    fn at(&self, i: usize) -> u32 {
        self.cumulative.get(i).map_or(TOTAL, |&c| u32::from(c))
    }

    /// `G(x)`: total frequency of the code values below `x` (`0..=256`).
    #[inline]
    fn below(&self, x: usize) -> u32 {
        let o = self.offset;
        if o + x <= SYMBOLS {
            self.at(o + x) - self.at(o)
        } else {
            TOTAL - self.at(o) + self.at(o + x - SYMBOLS)
        }
    }
}

/// The bins of one step around the zero point.
#[derive(Clone, Copy)]
struct Bins {
    zero: i32,
    step: i32,
    half: i32,
}

impl Bins {
    fn new(zero_point: u8, step: u8) -> Self {
        let step = i32::from(step);
        Bins {
            zero: i32::from(zero_point),
            step,
            half: step / 2,
        }
    }

    /// The bin of code value `c` (no division at step 1, the lossless default).
    #[inline]
    fn of(self, c: u8) -> i32 {
        let d = i32::from(c) - self.zero;
        if self.step == 1 {
            d
        } else {
            // step is 2..=255, so the division cannot fail; checked to keep it panic-free.
            (d + self.half).checked_div_euclid(self.step).unwrap_or(d)
        }
    }

    /// First and last code value of bin `q` (clipped to 0..=255).
    #[inline]
    fn span(self, q: i32) -> (usize, usize) {
        let start = self.zero + q * self.step - self.half;
        (
            start.max(0) as usize,
            (start + self.step - 1).min(255) as usize,
        )
    }

    /// The code value bin `q` decodes to, minus the zero point.
    #[inline]
    fn centred(self, q: i32) -> i16 {
        ((self.zero + q * self.step).clamp(0, 255) - self.zero) as i16
    }
}
