//! Any byte string fed to the entropy decoder gives codes or an error (never a panic, a hang or an
//! out-of-bounds read), and codes that decode re-encode at their step to the same codes.
#![no_main]

use ae_core::format::ModelRef;
use ae_core::Aligned;
use libfuzzer_sys::fuzz_target;

/// A 2x3 -> 3 model with an entropy model (the golden test file).
static MODEL: &Aligned<[u8]> =
    &Aligned(*include_bytes!("../../tests/golden/small-int8-entropy-2x3.v2.tnae"));

fuzz_target!(|data: &[u8]| {
    let Ok(ModelRef::Int8(m)) = ModelRef::parse(&MODEL.0) else {
        panic!("the golden model must load")
    };
    let Some(e) = m.entropy() else {
        panic!("the golden model has an entropy model")
    };
    let mut centred = [0i16; 3];
    let mut code = [0u8; 3];
    if let Ok(step) = e.decode(data, &mut centred, &mut code) {
        let mut out = [0u8; 64];
        let n = e.encode(&code, step, &mut centred, &mut out).unwrap();
        let mut again = [0u8; 3];
        assert_eq!(e.decode(&out[..n], &mut centred, &mut again), Ok(step));
        assert_eq!(again, code);
        assert!(n <= data.len());
    }
});
