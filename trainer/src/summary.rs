//! A Keras-style `model.summary()` table, so a model file can be compared with the notebook's
//! architecture at a glance.

use std::fmt::Write;

/// Groups digits by thousands: `101200` -> `101,200`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table for an `rows x cols` image autoencoder with `latent` units.
pub fn table(rows: usize, cols: usize, latent: usize, slope: f32, kind: &str) -> String {
    let input = rows * cols;
    let enc = input * latent + latent;
    let dec = latent * input + input;
    let layers: [(String, String, usize); 5] = [
        ("flatten (Flatten)".into(), format!("(None, {input})"), 0),
        ("encoder (Dense)".into(), format!("(None, {latent})"), enc),
        (
            format!("leaky_re_lu (LeakyReLU {slope})"),
            format!("(None, {latent})"),
            0,
        ),
        (
            "decoder (Dense, sigmoid)".into(),
            format!("(None, {input})"),
            dec,
        ),
        (
            "reshape (Reshape)".into(),
            format!("(None, {rows}, {cols})"),
            0,
        ),
    ];
    let mut s = String::new();
    let rule = "─".repeat(66);
    let _ = writeln!(s, "Model: \"tinyae\" ({kind})");
    let _ = writeln!(s, "{rule}");
    let _ = writeln!(
        s,
        "{:<34}{:<20}{:>12}",
        "Layer (type)", "Output Shape", "Param #"
    );
    let _ = writeln!(s, "{rule}");
    for (name, shape, params) in &layers {
        let _ = writeln!(s, "{name:<34}{shape:<20}{:>12}", thousands(*params));
    }
    let _ = writeln!(s, "{rule}");
    let _ = writeln!(s, "Total params: {}", thousands(enc + dec));
    let _ = writeln!(s, "Trainable params: {}", thousands(enc + dec));
    let _ = writeln!(s, "Non-trainable params: 0");
    s
}

/// The table for a parsed model file (its shape, latent units, slope and kind).
pub fn model_table(model: &ae_core::format::ModelRef<'_>) -> String {
    let (rows, cols) = crate::model::image_shape(model);
    let slope = match model {
        ae_core::format::ModelRef::Float(m) => m.leaky_slope(),
        ae_core::format::ModelRef::Int8(m) => m.leaky_slope(),
    };
    let latent = model.dims().latent as usize;
    table(rows, cols, latent, slope, &model.kind().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_model_has_101200_parameters() {
        let t = table(28, 28, 64, 0.3, "float");
        assert!(t.contains("Total params: 101,200"), "{t}");
        assert!(t.contains("50,240") && t.contains("50,960") && t.contains("(None, 28, 28)"));
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(999), "999");
    }
}
