//! Any byte string given to `ae decompress` as a code file parses and decodes to images, or is
//! refused with an error: never a panic, a hang or an out-of-bounds read.
#![no_main]

use ae_core::format::ModelRef;
use ae_core::Aligned;
use libfuzzer_sys::fuzz_target;
use trainer::codec::{CodeFile, Coding};

/// A 2x3 -> 3 int8 model with an entropy model (ae-core's golden test file).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../../ae-core/tests/golden/small-int8-entropy-2x3.v2.tnae"
));

fuzz_target!(|data: &[u8]| {
    // Also with a fresh CRC, so mutations reach the body parser.
    let mut sealed = data.to_vec();
    if sealed.len() >= 8 {
        let n = sealed.len() - 4;
        let crc = ae_core::format::crc32(&sealed[..n]);
        sealed[n..].copy_from_slice(&crc.to_le_bytes());
    }
    let Ok(ModelRef::Int8(model)) = ModelRef::parse(&MODEL.0) else {
        panic!("the golden model must load")
    };
    let entropy = model
        .entropy()
        .expect("the golden model has an entropy model");
    for bytes in [data, &sealed[..]] {
        let Ok(file) = CodeFile::parse(bytes) else {
            continue;
        };
        assert!(file.images().count() == file.count as usize);
        if file.latent != 3 {
            continue;
        }
        let (mut centred, mut code, mut pixels) = ([0i16; 3], [0u8; 3], [0u8; 6]);
        for image in file.images() {
            match file.coding {
                Coding::Raw => code.copy_from_slice(image),
                Coding::Entropy => {
                    if entropy.decode(image, &mut centred, &mut code).is_err() {
                        continue;
                    }
                }
            }
            model.decode(&code, &mut centred, &mut pixels).unwrap();
        }
    }
});
