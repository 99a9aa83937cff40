//! Any byte string read as an IDX image file, raw or through gzip, gives images whose pixel count
//! matches their header, or an error: never a panic, a hang or an allocation beyond the bound.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trainer::data::idx;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.idx");
    if let Ok(set) = idx::read_from(path, data) {
        assert_eq!(set.pixels().len(), set.count() * set.rows() * set.cols());
    }
    let gz = flate2::read::MultiGzDecoder::new(data);
    if let Ok(set) = idx::read_from(path, gz) {
        assert_eq!(set.pixels().len(), set.count() * set.rows() * set.cols());
    }
});
