//! Any byte string read as an `ae compress` picture input gives a 4x4 grey image or an error:
//! never a panic, a hang or an allocation beyond the decoder's limit.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trainer::data::picture;

fuzz_target!(|data: &[u8]| {
    for resize in [false, true] {
        if let Ok(pixels) =
            picture::decode_picture(Path::new("fuzz.png"), data.to_vec(), 4, 4, resize)
        {
            assert_eq!(pixels.len(), 16);
        }
    }
});
