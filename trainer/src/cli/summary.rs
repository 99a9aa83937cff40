//! `ae summary`.

use super::SummaryArgs;
use crate::error::{Error, Result};
use crate::limits::{MAX_LATENT, MAX_SIDE};
use crate::model::ModelBytes;

/// `--side` and `--latent` within their bounds and a model of that size within the parameter
/// bound, so the table's products cannot overflow.
fn check_architecture(side: usize, latent: usize) -> Result<()> {
    for (option, value, max) in [("--side", side, MAX_SIDE), ("--latent", latent, MAX_LATENT)] {
        if value == 0 {
            return Err(Error::InvalidOption(format!("{option} must be at least 1")));
        }
        if value > max {
            return Err(Error::OutOfRange { option, value, max });
        }
    }
    crate::train::check_size(side * side, latent)
}

pub(crate) fn run(a: &SummaryArgs) -> Result<()> {
    let text = match &a.model {
        Some(path) => {
            let bytes = ModelBytes::load(path)?;
            let model = bytes.parse(path)?;
            let latent = model.dims().latent as usize;
            let shape = model.shape();
            let (rows, cols) = (shape.rows as usize, shape.cols as usize);
            let slope = match &model {
                ae_core::format::ModelRef::Float(m) => m.leaky_slope,
                ae_core::format::ModelRef::Int8(m) => m.leaky_slope,
            };
            let mut t = crate::summary::table(rows, cols, latent, slope, &model.kind().to_string());
            t.push_str(&format!(
                "Image shape: {rows} x {cols}\nFile: {} ({} bytes)\n",
                path.display(),
                bytes.bytes().len()
            ));
            t
        }
        None => {
            check_architecture(a.side, a.latent)?;
            crate::summary::table(a.side, a.side, a.latent, 0.3, "float")
        }
    };
    print!("{text}");
    Ok(())
}
