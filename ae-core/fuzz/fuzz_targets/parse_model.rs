//! Any byte string must parse to a model or an error; a model that parses must run.
#![no_main]

use ae_core::format::ModelRef;
use ae_core::Aligned;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = Box::new(Aligned([0u8; 1 << 16]));
    let n = data.len().min(buf.0.len());
    buf.0[..n].copy_from_slice(&data[..n]);
    // Also try with a freshly computed CRC, so mutations reach the body parser.
    for reseal in [false, true] {
        if reseal && n >= 4 {
            let crc = ae_core::format::crc32(&buf.0[..n - 4]);
            buf.0[n - 4..n].copy_from_slice(&crc.to_le_bytes());
        }
        if let Ok(model) = ModelRef::parse(&buf.0[..n]) {
            let (input, latent) = model.dims().as_usize();
            if input * latent > 1 << 20 {
                continue;
            }
            match model {
                ModelRef::Float(m) => {
                    let mut h = vec![0.0; latent];
                    m.encode(&vec![0.5; input], &mut h).unwrap();
                    m.decode(&h, &mut vec![0.0; input]).unwrap();
                }
                ModelRef::Int8(m) => {
                    let mut code = vec![0; latent];
                    m.encode(&vec![128; input], &mut code).unwrap();
                    m.decode(&code, &mut vec![0; latent], &mut vec![0; input]).unwrap();
                    if let Some(e) = m.entropy() {
                        let mut centred = vec![0i16; latent];
                        let mut out = vec![0u8; ae_core::entropy::max_coded_len(latent)];
                        let n = e.encode(&code, 1, &mut centred, &mut out).unwrap();
                        let mut back = vec![0u8; latent];
                        e.decode(&out[..n], &mut centred, &mut back).unwrap();
                        assert_eq!(back, code);
                        // The file's own bytes as a coded image: codes or an error.
                        let _ = e.decode(data, &mut centred, &mut back);
                    }
                }
            }
        }
    }
});
