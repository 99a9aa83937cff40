//! Entropy coding: exact round trips, rate control's promise, and total decoding of any bytes.
//! (An independent implementation from `FORMAT.md` checks the bytes in `entropy_reference.rs`.)

mod common;

use ae_core::entropy::{max_coded_len, EntropyRef, STEP_LADDER};
use ae_core::format::ModelRef;
use ae_core::Error;
use proptest::prelude::*;

fn with_model<R>(f: impl FnOnce(&EntropyRef<'_>) -> R) -> R {
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    let ModelRef::Int8(m) = ModelRef::parse(&b.0[..n]).unwrap() else {
        panic!("not int8")
    };
    f(&m.entropy().expect("entropy model"))
}

proptest! {
    #[test]
    fn coded_images_decode_to_the_bin_centres(code in prop::array::uniform3(any::<u8>()), step in 1u8..=255) {
        with_model(|e| {
            let mut out = [0u8; 64];
            let mut centred = [0i16; 3];
            let n = e.encode(&code, step, &mut centred, &mut out).unwrap();
            let mut recon = [0u8; 3];
            e.reconstructed(&centred, &mut recon);
            prop_assert!(n <= max_coded_len(3));
            prop_assert_eq!(out[0], step);
            let mut back = [0u8; 3];
            prop_assert_eq!(e.decode(&out[..n], &mut [0; 3], &mut back).unwrap(), step);
            prop_assert_eq!(back, recon);
            for (&c, &r) in code.iter().zip(&recon) {
                // A bin centre lies within half a step of every code in the bin.
                prop_assert!(i32::from(c).abs_diff(i32::from(r)) <= u32::from(step) / 2 + 1);
            }
            if step == 1 {
                prop_assert_eq!(back, code);
            }
            Ok(())
        })?;
    }

    #[test]
    fn rate_control_keeps_the_cap_and_picks_the_finest_step(code in prop::array::uniform3(any::<u8>()), cap in 1usize..12) {
        with_model(|e| {
            let mut out = [0u8; 64];
            let mut centred = [0i16; 3];
            match e.encode_within(&code, cap, &mut centred, &mut out) {
                Ok((n, step)) => {
                    prop_assert!(n <= cap);
                    let finer = STEP_LADDER.iter().take_while(|&&s| s != step);
                    for &s in finer {
                        let mut big = [0u8; 64];
                        let len = e.encode(&code, s, &mut centred, &mut big).unwrap();
                        prop_assert!(len > cap, "step {} fits in {} <= {}", s, len, cap);
                    }
                }
                Err(Error::DoesNotFit { max_bytes }) => prop_assert_eq!(max_bytes, cap),
                Err(e) => prop_assert!(false, "unexpected {:?}", e),
            }
            Ok(())
        })?;
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        with_model(|e| {
            let mut code = [0u8; 3];
            match e.decode(&bytes, &mut [0; 3], &mut code) {
                Ok(step) => {
                    // Decoded codes are bin centres of that step: coding them again at that step
                    // gives them back (the encoder's payload may be shorter: it picks the value
                    // with the most trailing zero bits, a decoder accepts any in the interval).
                    let mut out = [0u8; 64];
                    let mut centred = [0i16; 3];
                    let n = e.encode(&code, step, &mut centred, &mut out).unwrap();
                    let mut recon = [0u8; 3];
                    e.reconstructed(&centred, &mut recon);
                    prop_assert_eq!(recon, code);
                    prop_assert!(n <= bytes.len());
                    let mut again = [0u8; 3];
                    prop_assert_eq!(e.decode(&out[..n], &mut [0; 3], &mut again), Ok(step));
                    prop_assert_eq!(again, code);
                }
                Err(err) => prop_assert_eq!(err, Error::CorruptCode),
            }
            Ok(())
        })?;
    }
}

#[test]
fn non_canonical_payloads_are_rejected() {
    with_model(|e| {
        let mut out = [0u8; 64];
        let mut centred = [0i16; 3];
        let n = e.encode(&[90, 140, 3], 1, &mut centred, &mut out).unwrap();
        let mut code = [0u8; 3];
        assert!(e.decode(&out[..n], &mut centred, &mut code).is_ok());
        let mut padded = out[..n].to_vec();
        padded.push(0);
        assert_eq!(
            e.decode(&padded, &mut centred, &mut code),
            Err(Error::CorruptCode)
        );
        padded.pop();
        padded.extend_from_slice(&[1; 8]);
        assert_eq!(
            e.decode(&padded, &mut centred, &mut code),
            Err(Error::CorruptCode)
        );
        assert_eq!(
            e.decode(&[], &mut centred, &mut code),
            Err(Error::CorruptCode)
        );
        assert_eq!(
            e.decode(&[0, 5], &mut centred, &mut code),
            Err(Error::CorruptCode)
        );
        assert!(matches!(
            e.decode(&out[..n], &mut centred, &mut [0u8; 2]),
            Err(Error::BufferSize { .. })
        ));
    });
}

#[test]
fn likely_codes_cost_fewer_bytes() {
    with_model(|e| {
        let mut out = [0u8; 64];
        let mut centred = [0i16; 3];
        // The predictor says dimension 1 follows dimension 0 shifted by +10 and dimension 2 is
        // their difference around 100 - 5: codes that follow it are cheap, others are not.
        let cheap = e
            .encode(&[100, 110, 95], 1, &mut centred, &mut out)
            .unwrap();
        let dear = e
            .encode(&[100, 230, 20], 1, &mut centred, &mut out)
            .unwrap();
        assert!(cheap < dear, "{cheap} vs {dear}");
        assert!(cheap <= 2, "{cheap}");
    });
}
