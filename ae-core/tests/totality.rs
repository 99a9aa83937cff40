//! Loading is total: every byte string gives a model or an error, never a panic, and a model that
//! loads runs without panicking. Mutations re-seal the CRC so they reach the body parser.

mod common;

use ae_core::format::{self, ModelRef};
use ae_core::Aligned;
use proptest::prelude::*;

fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= 4 {
        let n = bytes.len() - 4;
        let crc = format::crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Parses `bytes` from an aligned copy and, when it loads, runs it once.
fn parse_and_run(bytes: &[u8]) {
    let mut buf = Box::new(Aligned([0u8; 8192]));
    let n = bytes.len().min(buf.0.len());
    buf.0[..n].copy_from_slice(&bytes[..n]);
    if let Ok(model) = ModelRef::parse(&buf.0[..n]) {
        let (input, latent) = model.dims().as_usize();
        match model {
            ModelRef::Float(m) => {
                let x = vec![0.5f32; input];
                let mut h = vec![0.0f32; latent];
                m.encode(&x, &mut h).unwrap();
                let mut y = vec![0.0f32; input];
                m.decode(&h, &mut y).unwrap();
            }
            ModelRef::Int8(m) => {
                let x = vec![200u8; input];
                let mut code = vec![0u8; latent];
                m.encode(&x, &mut code).unwrap();
                let mut out = vec![0u8; input];
                m.decode(&code, &mut vec![0i16; latent], &mut out).unwrap();
            }
        }
    }
}

fn valid_files() -> Vec<Vec<u8>> {
    let mut a = common::buf();
    let n = common::tiny_float(&mut a);
    let mut b = common::buf();
    let m = common::tiny_int8(&mut b);
    let shape = ae_core::format::Shape::implied_by(6);
    let mut c = vec![0u8; ae_core::format::float_file_len(shape, 3).unwrap()];
    let k = common::random_float(6, 3, 11, &mut c);
    vec![a.0[..n].to_vec(), b.0[..m].to_vec(), c[..k].to_vec()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_and_run(&bytes);
        let mut with_magic = b"TNAE".to_vec();
        with_magic.extend_from_slice(&bytes);
        reseal(&mut with_magic);
        parse_and_run(&with_magic);
    }

    #[test]
    fn mutated_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
        extend in proptest::collection::vec(any::<u8>(), 0..8),
        seal in any::<bool>(),
    ) {
        let mut bytes = valid_files().swap_remove(which);
        for (at, value) in edits {
            let i = at % bytes.len();
            bytes[i] = value;
        }
        if cut % 3 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        bytes.extend_from_slice(&extend);
        if seal {
            reseal(&mut bytes);
        }
        parse_and_run(&bytes);
    }

    #[test]
    fn unsealed_edits_are_always_rejected(
        which in 0usize..3,
        at in any::<usize>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = valid_files().swap_remove(which);
        let i = at % bytes.len();
        bytes[i] ^= flip;
        let mut buf = Box::new(Aligned([0u8; 8192]));
        buf.0[..bytes.len()].copy_from_slice(&bytes);
        prop_assert!(ModelRef::parse(&buf.0[..bytes.len()]).is_err());
    }
}
