//! Known-answer tests: tiny models whose outputs were worked out by hand.

mod common;

use ae_core::{FloatModel, Int8Model};
use nalgebra::{SVector, SVectorView, SVectorViewMut};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn float_path_matches_hand_computation() {
    let mut buf = common::buf();
    let len = common::tiny_float(&mut buf);
    let m = FloatModel::<2, 1>::from_bytes(&buf.0[..len]).unwrap();
    let cases: [([f32; 2], f64); 3] = [
        ([1.0, 1.0], 1.0),    // z = 1 -> h = 1
        ([0.0, -1.0], -0.15), // z = -0.5 -> h = 0.3 * -0.5
        ([0.25, 0.75], 0.5),  // z = 0.5
    ];
    for (x, h_want) in cases {
        let h = m.encode(&SVector::from(x));
        assert!(
            (f64::from(h[0]) - h_want).abs() < 1e-7,
            "{x:?}: h = {}",
            h[0]
        );
        let y = m.decode(&h);
        let want = [sigmoid(4.0 * h_want - 2.0), sigmoid(-2.0 * h_want + 1.0)];
        for (got, want) in y.iter().zip(want) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-6,
                "{x:?}: y = {y:?}, want {want}"
            );
        }
    }
}

#[test]
fn float_views_and_owned_vectors_give_the_same_bits() {
    let mut buf = common::buf();
    let len = common::random_float(6, 3, 7, &mut buf.0);
    let m = FloatModel::<6, 3>::from_bytes(&buf.0[..len]).unwrap();
    // Two images side by side in one slice, each read through a view.
    let batch = [
        0.0f32, 0.2, 0.4, 0.6, 0.8, 1.0, 0.9, 0.1, 0.5, 0.3, 0.7, 0.0,
    ];
    let mut codes = [0.0f32; 6];
    for (x, h) in batch.chunks_exact(6).zip(codes.chunks_exact_mut(3)) {
        m.encode_to(
            &SVectorView::<f32, 6>::from_slice(x),
            &mut SVectorViewMut::<f32, 3>::from_slice(h),
        );
    }
    for (x, h) in batch.chunks_exact(6).zip(codes.chunks_exact(3)) {
        let owned = m.encode(&SVector::<f32, 6>::from_column_slice(x));
        assert_eq!(owned.as_slice(), h);
        let y = m.decode(&owned);
        let mut y_view = [0.0f32; 6];
        m.decode_to(
            &SVectorView::<f32, 3>::from_slice(h),
            &mut SVectorViewMut::<f32, 6>::from_slice(&mut y_view),
        );
        assert_eq!(y.as_slice(), &y_view);
        // And the run-time-sized view on slices.
        let (mut h2, mut y2) = ([0.0f32; 3], [0.0f32; 6]);
        m.untyped().encode(x, &mut h2).unwrap();
        m.untyped().decode(&h2, &mut y2).unwrap();
        assert_eq!((&h2[..], &y2), (h, &y_view));
    }
}

#[test]
fn float_pixels_round_to_nearest_grey_level() {
    let mut buf = common::buf();
    let len = common::tiny_float(&mut buf);
    let m = FloatModel::<2, 1>::from_bytes(&buf.0[..len]).unwrap();
    let (mut scratch, mut h, mut out) = (SVector::zeros(), SVector::zeros(), [0u8; 2]);
    m.encode_pixels(&[255, 255], &mut scratch, &mut h);
    m.decode_pixels(&h, &mut scratch, &mut out);
    // sigmoid(2) * 255 = 224.60, sigmoid(-1) * 255 = 68.58
    assert_eq!(out, [225, 69]);
}

#[test]
fn int8_path_matches_hand_computation() {
    let mut buf = common::buf();
    let len = common::tiny_int8(&mut buf);
    let m = Int8Model::<2, 1>::from_bytes(&buf.0[..len]).unwrap();
    // acc = 100 + 64 p0 - 32 p1; code = clamp(10 + round(acc * (acc >= 0 ? 0.5 : 0.25)))
    // decoder: acc_i = b_i + w_i (code - 10); pixel = TABLE[1024 + acc_i]
    let cases: [([u8; 2], u8, [u8; 2]); 3] = [
        ([3, 4], 92, [201, 33]),   // acc 164 -> 82 + 10; accs 169, -246
        ([0, 10], 0, [120, 142]),  // acc -220 -> -55 + 10, clamped; accs -15, 30
        ([255, 0], 255, [250, 1]), // acc 16420 -> clamped; accs 495, -735
    ];
    for (pixels, code_want, out_want) in cases {
        let mut code = [0u8; 1];
        m.encode(&pixels, &mut code);
        assert_eq!(code, [code_want], "{pixels:?}");
        let mut out = [0u8; 2];
        m.decode(&code, &mut out);
        assert_eq!(out, out_want, "{pixels:?}");
    }
}

#[test]
fn untyped_views_check_buffer_lengths() {
    let mut buf = common::buf();
    let len = common::tiny_int8(&mut buf);
    let ae_core::format::ModelRef::Int8(m) =
        ae_core::format::ModelRef::parse(&buf.0[..len]).unwrap()
    else {
        panic!("expected int8")
    };
    let err = m.encode(&[1, 2, 3], &mut [0u8; 1]).unwrap_err();
    assert_eq!(
        err,
        ae_core::Error::BufferSize {
            expected: 2,
            found: 3
        }
    );
    let mut code = [0u8; 1];
    m.encode(&[3, 4], &mut code).unwrap();
    let mut out = [0u8; 2];
    m.decode(&code, &mut [0i16; 1], &mut out).unwrap();
    assert_eq!(out, [201, 33]);
    assert_eq!(m.dequantize(92), 0.05 * 82.0);
}
