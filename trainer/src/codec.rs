//! The code file: what `ae compress` writes and `ae decompress` reads.
//!
//! ```text
//! CodeFile { magic "TNAC", version u16, model_sha256 [u8; 32], input u32, latent u32,
//!            rows u32, cols u32, count u32, codes: bytes (count * latent) }  ‖  CRC-32 (LE)
//! ```
//! postcard-encoded like the model file. The SHA-256 of the model file that made the codes lets
//! `decompress` refuse a different model instead of producing garbage. A batch is one file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// First four bytes of every code file.
pub const MAGIC: [u8; 4] = *b"TNAC";
/// The version this build writes and reads.
pub const VERSION: u16 = 1;

/// Everything that can be wrong with a code file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeFileError {
    /// Not a code file.
    #[error("not a tinyae code file (bad magic bytes)")]
    BadMagic,
    /// Too short to hold a header and checksum.
    #[error("code file is truncated")]
    Truncated,
    /// Damaged.
    #[error("code file checksum mismatch: the file is corrupted")]
    Checksum,
    /// From a newer or older tinyae.
    #[error("unsupported code file version {0}")]
    Version(u16),
    /// The body does not decode.
    #[error("code file body is malformed")]
    Malformed,
    /// Header and payload disagree.
    #[error("code file holds {found} code bytes but its header declares {expected}")]
    Length {
        /// From the header.
        expected: u64,
        /// Present.
        found: u64,
    },
    /// Made with another model.
    #[error(
        "these codes were made with a different model (model SHA-256 {expected}, given {found})"
    )]
    WrongModel {
        /// Hash recorded in the file.
        expected: String,
        /// Hash of the model given.
        found: String,
    },
}

/// A parsed code file, borrowing its codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFile<'a> {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// Always [`VERSION`].
    pub version: u16,
    /// SHA-256 of the model file.
    pub model_sha256: [u8; 32],
    /// Pixels per image.
    pub input: u32,
    /// Code bytes per image.
    pub latent: u32,
    /// Image height.
    pub rows: u32,
    /// Image width.
    pub cols: u32,
    /// Images.
    pub count: u32,
    /// `count * latent` bytes.
    #[serde(borrow)]
    pub codes: &'a [u8],
}

/// SHA-256 of a model file.
pub fn model_id(model_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(model_bytes).into()
}

impl<'a> CodeFile<'a> {
    /// Encodes the file with its CRC.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = postcard::to_stdvec(self).unwrap_or_default();
        let crc = ae_core::format::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses and checks a code file; never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodeFileError> {
        let n = bytes.len().min(4);
        if bytes[..n] != MAGIC[..n] {
            return Err(CodeFileError::BadMagic);
        }
        if bytes.len() < 8 {
            return Err(CodeFileError::Truncated);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if ae_core::format::crc32(body).to_le_bytes() != crc {
            return Err(CodeFileError::Checksum);
        }
        let (head, _) = postcard::take_from_bytes::<([u8; 4], u16)>(body)
            .map_err(|_| CodeFileError::Truncated)?;
        if head.1 != VERSION {
            return Err(CodeFileError::Version(head.1));
        }
        let (file, rest): (CodeFile<'a>, _) =
            postcard::take_from_bytes(body).map_err(|e| match e {
                postcard::Error::DeserializeUnexpectedEnd => CodeFileError::Truncated,
                _ => CodeFileError::Malformed,
            })?;
        if !rest.is_empty() {
            return Err(CodeFileError::Malformed);
        }
        let expected = u64::from(file.count) * u64::from(file.latent);
        if expected != file.codes.len() as u64 {
            return Err(CodeFileError::Length {
                expected,
                found: file.codes.len() as u64,
            });
        }
        if u64::from(file.rows) * u64::from(file.cols) != u64::from(file.input) || file.latent == 0
        {
            return Err(CodeFileError::Malformed);
        }
        Ok(file)
    }

    /// Fails unless the file was made with the model whose bytes hash to `model_sha256`.
    pub fn check_model(&self, model_sha256: &[u8; 32]) -> Result<(), CodeFileError> {
        if &self.model_sha256 == model_sha256 {
            Ok(())
        } else {
            Err(CodeFileError::WrongModel {
                expected: hex::encode(self.model_sha256),
                found: hex::encode(model_sha256),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(codes: &[u8]) -> Vec<u8> {
        CodeFile {
            magic: MAGIC,
            version: VERSION,
            model_sha256: [7; 32],
            input: 6,
            latent: 2,
            rows: 2,
            cols: 3,
            count: (codes.len() / 2) as u32,
            codes,
        }
        .to_bytes()
    }

    #[test]
    fn round_trip_and_typed_errors() {
        let bytes = sample(&[1, 2, 3, 4]);
        let f = CodeFile::parse(&bytes).unwrap();
        assert_eq!((f.count, f.codes), (2, &[1u8, 2, 3, 4][..]));
        assert!(f.check_model(&[7; 32]).is_ok());
        assert!(matches!(
            f.check_model(&[8; 32]),
            Err(CodeFileError::WrongModel { .. })
        ));
        assert_eq!(CodeFile::parse(b"PK"), Err(CodeFileError::BadMagic));
        assert_eq!(CodeFile::parse(b"TNAC"), Err(CodeFileError::Truncated));
        let mut bad = bytes.clone();
        bad[10] ^= 1;
        assert_eq!(CodeFile::parse(&bad), Err(CodeFileError::Checksum));
        let mut v2 = bytes.clone();
        v2[4] = 2;
        let n = v2.len() - 4;
        let crc = ae_core::format::crc32(&v2[..n]);
        v2[n..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(CodeFile::parse(&v2), Err(CodeFileError::Version(2)));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200), seal in any::<bool>()) {
            let mut b = b"TNAC".to_vec();
            b.extend_from_slice(&bytes);
            if seal && b.len() >= 8 {
                let n = b.len() - 4;
                let crc = ae_core::format::crc32(&b[..n]);
                b[n..].copy_from_slice(&crc.to_le_bytes());
            }
            let _ = CodeFile::parse(&b);
            let _ = CodeFile::parse(&bytes);
        }

        #[test]
        fn resealed_mutations_parse_or_fail_cleanly(at in 0usize..200, v in any::<u8>(), cut in 0usize..200) {
            let mut b = sample(&[9; 20]);
            let i = at % b.len();
            b[i] = v;
            b.truncate(cut.max(8).min(b.len()));
            let n = b.len() - 4;
            let crc = ae_core::format::crc32(&b[..n]);
            b[n..].copy_from_slice(&crc.to_le_bytes());
            if let Ok(f) = CodeFile::parse(&b) {
                prop_assert_eq!(f.codes.len() as u64, u64::from(f.count) * u64::from(f.latent));
            }
        }
    }
}
