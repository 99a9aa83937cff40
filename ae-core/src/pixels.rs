//! Conversions between 8-bit pixels and the `[0, 1]` floats the network works in.
//!
//! The convention is the notebook's: `x = pixel / 255` in, `pixel = round(255 * y)` out.

/// `pixel / 255`, correctly rounded: the float32 the notebook trains on (numpy's `x / 255` in
/// float64, then cast). Multiplying by `1.0 / 255.0` instead is one unit in the last place off for
/// 126 of the 256 grey levels.
#[inline(always)]
pub fn to_unit(pixel: u8) -> f32 {
    f32::from(pixel) / 255.0
}

/// `round(255 * y)`, saturating outside `[0, 1]`; NaN gives 0.
#[inline(always)]
pub fn from_unit(y: f32) -> u8 {
    // `as` saturates and maps NaN to 0, so no input can panic here.
    (y * 255.0 + 0.5) as u8
}

/// Converts a row of pixels to floats; stops at the shorter of the two slices.
pub fn to_unit_slice(pixels: &[u8], out: &mut [f32]) {
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = to_unit(p);
    }
}

/// Converts floats to pixels; stops at the shorter of the two slices.
pub fn from_unit_slice(values: &[f32], out: &mut [u8]) {
    for (o, &y) in out.iter_mut().zip(values) {
        *o = from_unit(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unit_is_the_notebooks_float32_for_every_pixel() {
        for p in 0..=255u8 {
            assert_eq!(to_unit(p), (f64::from(p) / 255.0) as f32, "pixel {p}");
        }
    }

    #[test]
    fn round_trip_is_exact_for_every_pixel() {
        for p in 0..=255u8 {
            assert_eq!(from_unit(to_unit(p)), p);
        }
    }

    #[test]
    fn out_of_range_saturates() {
        assert_eq!(from_unit(-3.0), 0);
        assert_eq!(from_unit(7.0), 255);
        assert_eq!(from_unit(f32::NAN), 0);
        assert_eq!(from_unit(0.5), 128);
    }
}
