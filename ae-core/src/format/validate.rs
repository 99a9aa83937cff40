//! The value rules a model must satisfy, shared by the parser and the writer so that what one
//! accepts the other produces.

use super::{Dims, QuantLayerRef, Shape};
use crate::Error;

/// Checks the dimensions and returns the weight count of one layer.
pub(crate) fn dims(dims: Dims) -> Result<usize, Error> {
    if dims.input == 0 || dims.latent == 0 {
        return Err(Error::InvalidValue("dimensions must be at least 1"));
    }
    // Two layers of f32 weights must fit in the address space.
    dims.weights_per_layer()
        .filter(|w| w.checked_mul(8).is_some())
        .ok_or(Error::InvalidValue("dimensions too large"))
}

/// The stored shape must cover exactly the model's input.
pub(crate) fn shape(dims: Dims, shape: Shape) -> Result<(), Error> {
    if shape.pixels() == Some(dims.input) {
        Ok(())
    } else {
        Err(Error::InvalidValue(
            "image shape rows * cols must equal the input size",
        ))
    }
}

/// Padding before aligned tensors that start at file offset `tensors_at`: fewer than `align` zero
/// bytes, and the tensors aligned. (Fewer than `align` bytes is the minimal count: any other count
/// that aligns them differs by a multiple of `align`.)
pub(crate) fn padding(pad: &[u8], tensors_at: usize, align: usize) -> Result<(), Error> {
    if !tensors_at.is_multiple_of(align) || pad.len() >= align || pad.iter().any(|&b| b != 0) {
        return Err(Error::InvalidValue(
            "tensor padding must be the fewest zero bytes that align the tensors in the file",
        ));
    }
    Ok(())
}

/// Every int8 accumulator must stay inside i32 for any input whose magnitude is at most
/// `max_input`: `|bias| + max_input * sum |w| < 2^31` per output channel.
pub(crate) fn accumulators(
    layer: &QuantLayerRef<'_>,
    inputs: usize,
    max_input: i64,
) -> Result<(), Error> {
    let biases = layer.bias.iter().map(|b| i32::from_le_bytes(*b));
    accumulator_bounds(layer.weights, biases, inputs, max_input)
}

/// [`accumulators`] on typed tensors, for the writer.
pub(crate) fn accumulator_bounds(
    weights: &[i8],
    biases: impl Iterator<Item = i32>,
    inputs: usize,
    max_input: i64,
) -> Result<(), Error> {
    for (row, bias) in weights.chunks_exact(inputs.max(1)).zip(biases) {
        let sum: i64 = row.iter().map(|&w| i64::from(w).abs()).sum();
        let worst = i64::from(bias).abs() + max_input * sum;
        if worst > i64::from(i32::MAX) {
            return Err(Error::InvalidValue(
                "an int8 accumulator could leave the i32 range",
            ));
        }
    }
    Ok(())
}

pub(crate) fn slope(slope: f32) -> Result<(), Error> {
    if (0.0..=1.0).contains(&slope) {
        Ok(())
    } else {
        Err(Error::InvalidValue("LeakyReLU slope must be in [0, 1]"))
    }
}

/// The int8 latent code's scale (the only scale a file stores: weight scales are folded into the
/// multipliers).
pub(crate) fn latent_scale(s: f32) -> Result<(), Error> {
    if s.is_finite() && s > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue(
            "latent scale must be finite and positive",
        ))
    }
}

pub(crate) fn finite(values: &[f32]) -> Result<(), Error> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::InvalidValue("float weights must be finite"))
    }
}

pub(crate) fn len(tensor: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::TensorLength {
            tensor,
            expected,
            found,
        })
    }
}

/// The two quantized layers of an int8 model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// `input -> latent`, two requantizations per channel (`z >= 0`, `z < 0`).
    Encoder,
    /// `latent -> input`, one requantization per channel.
    Decoder,
}

impl Layer {
    /// Requantizations per output channel.
    pub(crate) const fn branches(self) -> usize {
        match self {
            Layer::Encoder => 2,
            Layer::Decoder => 1,
        }
    }

    /// The layer's tensor names as error messages show them.
    pub(crate) const fn names(self) -> LayerNames {
        match self {
            Layer::Encoder => LayerNames {
                weights: "encoder.weights",
                bias: "encoder.bias",
                multipliers: "encoder.multipliers",
                shifts: "encoder.shifts",
            },
            Layer::Decoder => LayerNames {
                weights: "decoder.weights",
                bias: "decoder.bias",
                multipliers: "decoder.multipliers",
                shifts: "decoder.shifts",
            },
        }
    }
}

/// Tensor names as error messages show them.
pub(crate) struct LayerNames {
    pub weights: &'static str,
    pub bias: &'static str,
    pub multipliers: &'static str,
    pub shifts: &'static str,
}
