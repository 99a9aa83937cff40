//! `trainer::quantize` against the export rule of ae-core's `FORMAT.md`, read back from the file
//! it writes: per-channel weight scales `max |w| / 127`, the symmetric -127..=127 range, biases in
//! accumulator units, and the latent scale and zero point from the calibration range.

use ae_core::format::{FloatTensors, ModelRef, INPUT_SCALE};
use trainer::data::ImageSet;
use trainer::model::ModelBytes;

const INPUT: usize = 6;
const LATENT: usize = 3;
const SLOPE: f32 = 0.3;

/// A 6 -> 3 float model with awkward rows: encoder row 1 and decoder row 4 are all zero (with
/// non-zero biases), encoder row 2's largest weight is negative.
fn float_model() -> ModelBytes {
    #[rustfmt::skip]
    let ew = [
        0.5, -0.25, 0.125, 0.3, -0.45, 0.05,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.1, -0.8, 0.3, 0.2, -0.05, 0.6,
    ];
    let eb = [0.1, 0.2, -0.3];
    #[rustfmt::skip]
    let dw = [
        1.5, -0.5, 0.25,
        -2.0, 0.75, 1.0,
        0.3, 0.3, -0.3,
        0.01, -0.02, 0.015,
        0.0, 0.0, 0.0,
        -0.7, 1.2, 0.4,
    ];
    let db = [0.5, -0.5, 0.0, 0.25, 1.5, -1.0];
    let t = FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    let shape = ae_core::format::Shape::implied_by(INPUT as u32);
    let mut buf = vec![0u8; ae_core::format::float_file_len(shape, LATENT as u32).unwrap()];
    let n = ae_core::format::write_float(INPUT as u32, LATENT as u32, SLOPE, &t, &mut buf).unwrap();
    ModelBytes::new(&buf[..n])
}

fn calibration() -> ImageSet {
    let pixels: Vec<u8> = (0..10 * INPUT)
        .map(|i| ((i * 53 + 17) % 256) as u8)
        .collect();
    ImageSet::new(pixels, 1, INPUT).unwrap()
}

/// `max |w| / 127` of each `cols`-wide row, the export rule's weight scale (0 for a zero row).
fn row_scales(w: &[f32], cols: usize) -> Vec<f64> {
    w.chunks_exact(cols)
        .map(|r| r.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs())) / 127.0)
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// The quantized file follows `FORMAT.md`'s export rule. Each non-zero row's weight scale,
/// recovered from the stored multipliers, is `max |w| / 127` (to f32 precision) (encoder branch 0 is
/// `input_scale * s_w / latent_scale`, branch 1 that times the slope; the decoder's is
/// `latent_scale * s_w * 128`); every int8 weight is the nearest multiple of it and the row uses
/// +-127 without ever writing -128; biases are the nearest accumulator units. The latent scale
/// and zero point follow from the encoder's output range on the calibration images, computed
/// here, widened to include 0.
#[test]
fn export_follows_the_format_rule() {
    let float_bytes = float_model();
    let ModelRef::Float(f) = float_bytes.parse("f".as_ref()).unwrap() else {
        unreachable!()
    };
    let images = calibration();
    let q_bytes = ModelBytes::new(&trainer::quantize::quantize(&f, &images, false).unwrap());
    let ModelRef::Int8(q) = q_bytes.parse("q".as_ref()).unwrap() else {
        panic!("quantize must write an int8 model")
    };

    // Latent range, computed here from the float encoder.
    let (mut lo, mut hi) = (0.0f32, 0.0f32);
    for img in images.pixels().chunks_exact(INPUT) {
        let x: Vec<f32> = img.iter().map(|&p| f32::from(p) / 255.0).collect();
        let mut h = [0.0f32; LATENT];
        f.encode(&x, &mut h).unwrap();
        for v in h {
            (lo, hi) = (lo.min(v), hi.max(v));
        }
    }
    assert!(lo < 0.0 && hi > 0.0, "the test wants both signs: {lo} {hi}");
    let scale = (hi - lo) / 255.0;
    assert_eq!(q.latent_scale(), scale);
    assert_eq!(
        q.latent_zero_point(),
        (f64::from(-lo) / f64::from(scale)).round() as u8
    );
    let s_h = f64::from(scale);
    let s_in = f64::from(INPUT_SCALE);

    let enc_scales = row_scales(f.encoder_weights(), INPUT);
    let dec_scales = row_scales(f.decoder_weights(), LATENT);
    for (layer, weights, biases, cols, scales, q_layer) in [
        (
            "encoder",
            f.encoder_weights(),
            f.encoder_bias(),
            INPUT,
            &enc_scales,
            q.encoder(),
        ),
        (
            "decoder",
            f.decoder_weights(),
            f.decoder_bias(),
            LATENT,
            &dec_scales,
            q.decoder(),
        ),
    ] {
        assert!(
            !q_layer.weights().contains(&-128),
            "{layer}: -128 is unused"
        );
        for (o, &s_w) in scales.iter().enumerate() {
            let row = &weights[o * cols..(o + 1) * cols];
            let q_row = &q_layer.weights()[o * cols..(o + 1) * cols];
            if s_w == 0.0 {
                assert!(q_row.iter().all(|&w| w == 0), "{layer} row {o}: {q_row:?}");
                continue;
            }
            let (acc_scale, multiplier) = if layer == "encoder" {
                let pos = q_layer.requant(2 * o).unwrap().to_real();
                let neg = q_layer.requant(2 * o + 1).unwrap().to_real();
                assert!(close(neg, pos * f64::from(SLOPE), 1e-6), "{layer} row {o}");
                (s_in * s_w, pos)
            } else {
                let m = q_layer.requant(o).unwrap().to_real();
                (s_h * s_w, m)
            };
            let want = if layer == "encoder" {
                acc_scale / s_h
            } else {
                acc_scale * 128.0
            };
            assert!(
                close(multiplier, want, 1e-6),
                "{layer} row {o}: multiplier {multiplier} vs {want}"
            );
            assert_eq!(
                q_row.iter().map(|w| w.unsigned_abs()).max(),
                Some(127),
                "{layer} row {o} uses the full range: {q_row:?}"
            );
            for (&w, &qw) in row.iter().zip(q_row) {
                let err = (f64::from(qw) * s_w - f64::from(w)).abs();
                assert!(err <= s_w * (0.5 + 1e-6), "{layer} row {o}: {w} -> {qw}");
            }
            let b = q_layer.bias(o).unwrap();
            let err = (f64::from(b) * acc_scale - f64::from(biases[o])).abs();
            assert!(
                err <= acc_scale * (0.5 + 1e-6),
                "{layer} bias {o}: {} -> {b}",
                biases[o]
            );
        }
    }
}

/// An all-zero weight row does not divide by zero: the row stays zero, its bias and
/// multipliers are valid, and the model runs, putting that latent unit's bias (through the
/// LeakyReLU) on the code and the zero decoder row's bias on its pixel.
#[test]
fn all_zero_rows_quantize_and_run() {
    let float_bytes = float_model();
    let ModelRef::Float(f) = float_bytes.parse("f".as_ref()).unwrap() else {
        unreachable!()
    };
    let images = calibration();
    let q_bytes = ModelBytes::new(&trainer::quantize::quantize(&f, &images, true).unwrap());
    let ModelRef::Int8(q) = q_bytes.parse("q".as_ref()).unwrap() else {
        panic!("int8")
    };
    assert!(q.encoder().weights()[INPUT..2 * INPUT]
        .iter()
        .all(|&w| w == 0));
    assert!(q.decoder().weights()[4 * LATENT..5 * LATENT]
        .iter()
        .all(|&w| w == 0));
    let (s_h, zp) = (
        f64::from(q.latent_scale()),
        f64::from(q.latent_zero_point()),
    );
    for img in images.pixels().chunks_exact(INPUT) {
        let mut code = [0u8; LATENT];
        q.encode(img, &mut code).unwrap();
        // Unit 1 sees only its bias 0.2 (positive, so the LeakyReLU passes it).
        let want = (zp + 0.2 / s_h).round().clamp(0.0, 255.0);
        assert!(
            (f64::from(code[1]) - want).abs() <= 1.0,
            "{code:?} vs {want}"
        );
        let mut out = [0u8; INPUT];
        q.decode(&code, &mut [0i16; LATENT], &mut out).unwrap();
        // Pixel 4 sees only its bias 1.5: sigmoid(1.5) = 0.8176 -> 208.
        let want = 255.0 / (1.0 + (-1.5f64).exp());
        assert!((f64::from(out[4]) - want).abs() <= 1.0, "{out:?} vs {want}");
    }
}
