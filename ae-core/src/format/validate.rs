//! The value rules a model must satisfy, shared by the parser and the writer so that what one
//! accepts the other produces.

use super::Dims;
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

pub(crate) fn slope(slope: f32) -> Result<(), Error> {
    if (0.0..=1.0).contains(&slope) {
        Ok(())
    } else {
        Err(Error::InvalidValue("LeakyReLU slope must be in [0, 1]"))
    }
}

pub(crate) fn scale(what: &'static str, s: f32) -> Result<(), Error> {
    if s.is_finite() && s > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue(match what {
            "latent scale" => "latent scale must be finite and positive",
            _ => "scales must be finite and positive",
        }))
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

/// Tensor names as error messages show them.
pub(crate) struct LayerNames {
    pub weights: &'static str,
    pub bias: &'static str,
    pub multipliers: &'static str,
    pub shifts: &'static str,
}

impl LayerNames {
    pub(crate) fn of(layer: &str) -> Self {
        if layer == "encoder" {
            LayerNames {
                weights: "encoder.weights",
                bias: "encoder.bias",
                multipliers: "encoder.multipliers",
                shifts: "encoder.shifts",
            }
        } else {
            LayerNames {
                weights: "decoder.weights",
                bias: "decoder.bias",
                multipliers: "decoder.multipliers",
                shifts: "decoder.shifts",
            }
        }
    }
}
