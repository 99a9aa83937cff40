//! Full-size MNIST-layout sets (60,000 + 10,000 uncompressed 28x28 images with their labels), read
//! through the `mnist` crate.
//!
//! The crate reads exactly this layout and panics on anything else, so every header and file
//! length is checked here first; a directory that is not exactly this layout (the MNIST subset,
//! `.gz`-only directories, other sizes) is left to [`super::idx`].

use std::path::Path;

use super::idx::IMAGES_MAGIC;
use super::{ImageSet, TEST_IMAGES, TRAIN_IMAGES};
use crate::error::{Error, Result};

const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
const LABELS_MAGIC: u32 = 0x0000_0801;
const SIDE: u32 = 28;

/// `true` when `path` is a raw IDX file with exactly this header and length.
fn has_layout(path: &Path, magic: u32, dims: &[u32]) -> Result<bool> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(false);
    };
    if !meta.is_file() {
        return Ok(false);
    }
    let header_len = 4 + 4 * dims.len() as u64;
    let body: u64 = dims.iter().map(|&d| u64::from(d)).product();
    if meta.len() != header_len + body {
        return Ok(false);
    }
    let bytes = {
        use std::io::Read;
        let mut head = vec![0u8; header_len as usize];
        let (mut f, _) = crate::fsio::open_input(path)?;
        f.read_exact(&mut head).map_err(Error::io(path))?;
        head
    };
    let expected: Vec<u8> = std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect();
    Ok(bytes == expected)
}

/// The training and test images of `dir` through the `mnist` crate, when `dir` holds the standard
/// uncompressed layout; `None` otherwise.
pub fn try_load(dir: &Path) -> Result<Option<(ImageSet, ImageSet)>> {
    let Some(base) = dir.to_str() else {
        return Ok(None);
    };
    let layout = [
        (TRAIN_IMAGES, IMAGES_MAGIC, vec![60_000, SIDE, SIDE]),
        (TEST_IMAGES, IMAGES_MAGIC, vec![10_000, SIDE, SIDE]),
        (TRAIN_LABELS, LABELS_MAGIC, vec![60_000]),
        (TEST_LABELS, LABELS_MAGIC, vec![10_000]),
    ];
    for (name, magic, dims) in &layout {
        if !has_layout(&dir.join(name), *magic, dims)? {
            return Ok(None);
        }
    }
    let m = mnist::MnistBuilder::new()
        .base_path(base)
        .training_set_length(60_000)
        .test_set_length(10_000)
        .finalize();
    let side = SIDE as usize;
    Ok(Some((
        ImageSet::new(m.trn_img, side, side)?,
        ImageSet::new(m.tst_img, side, side)?,
    )))
}
