//! Every bound `ae` puts on what its inputs can make it read or allocate, in one place.
//!
//! Sizes that come from files (headers, lengths) or from options (`--latent`, `--side`) are checked
//! against these before anything is allocated, so no input can make a command take more memory
//! than these numbers allow. They are far above what a tiny autoencoder needs (MNIST: 784 pixels,
//! 64 latent units, 101,200 parameters, 47 million training pixels) and far below what a desktop
//! has. The `--help` texts quote them.

/// Largest `--latent` (code bytes per image).
pub const MAX_LATENT: usize = 4096;
/// Most worker threads (`--threads`).
pub const MAX_THREADS: usize = 256;
/// Largest image side for `ae summary --side`.
pub const MAX_SIDE: usize = 4096;
/// Most trainable parameters a model may have (`2 * input * latent + input + latent`): 16 Mi, so
/// weights, Adam moments and gradients stay well under 1 GiB.
pub const MAX_PARAMS: usize = 1 << 24;
/// Largest model file read (float weights of [`MAX_PARAMS`] parameters plus headers).
pub const MAX_MODEL_BYTES: u64 = 4 * MAX_PARAMS as u64 + (1 << 20);
/// Largest checkpoint read (weights and two Adam moments, plus history).
pub const MAX_CHECKPOINT_BYTES: u64 = 12 * MAX_PARAMS as u64 + (1 << 24);
/// Largest training-history JSON read.
pub const MAX_HISTORY_BYTES: u64 = 1 << 24;
/// Largest code file read (`ae decompress`).
pub const MAX_CODE_FILE_BYTES: u64 = 1 << 28;
/// Largest picture file read (`ae compress` with PNG/PGM inputs).
pub const MAX_PICTURE_BYTES: u64 = 1 << 26;
/// Most memory the image decoder may allocate for one picture.
pub const MAX_PICTURE_ALLOC: u64 = 1 << 28;
/// Most pixels one IDX file may declare (1 GiB; MNIST's training file has 47 million).
pub const MAX_IDX_PIXELS: usize = 1 << 30;
/// Most pixels per image for `ae pca` (64 x 64): its covariance matrix is pixels² doubles.
pub const MAX_PCA_PIXELS: usize = 4096;
/// Most values (pixels x images) `ae pca` puts in its data matrix of doubles (1 GiB).
pub const MAX_PCA_VALUES: usize = 1 << 27;

/// `2 * input * latent + input + latent` when it fits in [`MAX_PARAMS`], computed without overflow.
pub fn param_count(input: usize, latent: usize) -> Option<usize> {
    input
        .checked_mul(latent)?
        .checked_mul(2)?
        .checked_add(input)?
        .checked_add(latent)
        .filter(|&n| n <= MAX_PARAMS)
}

/// Bytes of `images` images of `pixels` pixels each, when within [`MAX_IDX_PIXELS`] (for buffers
/// sized from a file's header, such as a code file's image count).
pub fn image_bytes(images: usize, pixels: usize) -> crate::Result<usize> {
    images
        .checked_mul(pixels)
        .filter(|&n| n <= MAX_IDX_PIXELS)
        .ok_or(crate::Error::ImagesTooLarge {
            images,
            pixels,
            max: MAX_IDX_PIXELS,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_count_is_checked() {
        assert_eq!(param_count(784, 64), Some(101_200));
        assert_eq!(param_count(784, usize::MAX), None);
        assert_eq!(param_count(1 << 32, 1 << 32), None);
        assert_eq!(param_count(784, 100_000), None);
        assert_eq!(image_bytes(10, 784).unwrap(), 7840);
        assert!(image_bytes(u32::MAX as usize, 1 << 20).is_err());
    }
}
