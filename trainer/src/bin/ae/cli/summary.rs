//! `ae summary`: the Keras-style table of a model file, or of the architecture the flags describe.

use trainer::error::Setting;
use trainer::limits::{MAX_LATENT, MAX_SIDE};
use trainer::model::ModelBytes;
use trainer::Error;

use super::{Result, SummaryArgs};

/// `--side` and `--latent` within their bounds and a model of that size within the parameter
/// bound, so the table's products cannot overflow.
fn check_architecture(side: usize, latent: usize) -> Result<()> {
    for (setting, value, max) in [
        (Setting::Side, side, MAX_SIDE),
        (Setting::Latent, latent, MAX_LATENT),
    ] {
        if value == 0 {
            return Err(Error::InvalidSetting {
                setting,
                value: value.to_string(),
                expected: "at least 1",
            }
            .into());
        }
        if value > max {
            return Err(Error::OutOfRange {
                setting,
                value,
                max,
            }
            .into());
        }
    }
    Ok(trainer::train::check_size(side * side, latent)?)
}

pub(crate) fn run(a: &SummaryArgs) -> Result<()> {
    let text = match &a.model {
        Some(path) => {
            let bytes = ModelBytes::load(path)?;
            let model = bytes.parse(path)?;
            let mut t = trainer::summary::model_table(&model);
            let (rows, cols) = trainer::model::image_shape(&model);
            t.push_str(&format!(
                "Image shape: {rows} x {cols}\nFile: {} ({} bytes)\n",
                path.display(),
                bytes.bytes().len()
            ));
            t
        }
        None => {
            check_architecture(a.side, a.latent)?;
            trainer::summary::table(
                a.side,
                a.side,
                a.latent,
                trainer::train::DEFAULT_SLOPE,
                "float",
            )
        }
    };
    print!("{text}");
    Ok(())
}
