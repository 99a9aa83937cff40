//! `ae summary`.

use super::SummaryArgs;
use crate::error::Result;
use crate::model::ModelBytes;

pub(crate) fn run(a: &SummaryArgs) -> Result<()> {
    let text = match &a.model {
        Some(path) => {
            let bytes = ModelBytes::load(path)?;
            let model = bytes.parse(path)?;
            let (input, latent) = model.dims().as_usize();
            let side = (input as f64).sqrt().round() as usize;
            let (rows, cols) = if side * side == input {
                (side, side)
            } else {
                (1, input)
            };
            let slope = match &model {
                ae_core::format::ModelRef::Float(m) => m.leaky_slope,
                ae_core::format::ModelRef::Int8(m) => m.leaky_slope,
            };
            let mut t = crate::summary::table(rows, cols, latent, slope, &model.kind().to_string());
            t.push_str(&format!(
                "File: {} ({} bytes)\n",
                path.display(),
                bytes.bytes().len()
            ));
            t
        }
        None => crate::summary::table(a.side, a.side, a.latent, 0.3, "float"),
    };
    print!("{text}");
    Ok(())
}
