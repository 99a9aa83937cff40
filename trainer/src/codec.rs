//! The code file: what `ae compress` writes and `ae decompress` reads.
//!
//! ```text
//! CodeFile v2 { magic "TNAC", version u16, model_sha256 [u8; 32], input u32, latent u32,
//!               rows u32, cols u32, count u32, coding: enum { Raw, Entropy }, codes: bytes }
//!   ‖ CRC-32 (LE)
//! ```
//! postcard-encoded like the model file; `ae-core/FORMAT.md` (*Code files*) is the specification.
//! `Raw` holds `count * latent` code bytes; `Entropy` holds per image a varint length and the
//! coded image (step byte and range-coded payload). The SHA-256 of the model file that made the
//! codes lets `decompress` refuse a different model instead of producing garbage. A batch is one
//! file. Version 1 files (always raw, no `coding` field) still parse.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// First four bytes of every code file.
pub const MAGIC: [u8; 4] = *b"TNAC";
/// The version this build writes (it also reads version 1).
pub const VERSION: u16 = 2;

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
    /// The file could not be encoded (nothing is written then).
    #[error("cannot encode the code file: {0}")]
    Encode(#[source] postcard::Error),
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

/// How the per-image codes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Coding {
    /// `latent` raw code bytes per image.
    Raw,
    /// Per image: a varint length, then the entropy-coded image (step byte and payload).
    Entropy,
}

/// A parsed, validated code file, borrowing its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFile<'a> {
    /// SHA-256 of the model file.
    pub model_sha256: [u8; 32],
    /// Pixels per image.
    pub input: u32,
    /// Latent dimensions per image.
    pub latent: u32,
    /// Image height.
    pub rows: u32,
    /// Image width.
    pub cols: u32,
    /// Images.
    pub count: u32,
    /// How `codes` is laid out.
    pub coding: Coding,
    /// The codes, laid out as `coding` says (validated against `count`).
    pub codes: &'a [u8],
}

/// The fields every version starts with. postcard writes a nested struct inline, so the wire bytes
/// are those of the flat field list in the module docs.
#[derive(Serialize, Deserialize)]
struct WireHead {
    magic: [u8; 4],
    version: u16,
    model_sha256: [u8; 32],
    input: u32,
    latent: u32,
    rows: u32,
    cols: u32,
    count: u32,
}

#[derive(Serialize, Deserialize)]
struct WireV1<'a> {
    head: WireHead,
    #[serde(borrow)]
    codes: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct WireV2<'a> {
    head: WireHead,
    coding: Coding,
    #[serde(borrow, serialize_with = "serialize_bytes")]
    codes: &'a [u8],
}

/// Writes `bytes` in one piece. Postcard stores a byte slice and a sequence of `u8` the same
/// way (a varint length, then the bytes), but serde hands a `&[u8]` over as a sequence, one
/// element call per byte: about 2 ms for the codes of 10,000 images.
fn serialize_bytes<S: serde::Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

impl WireHead {
    fn into_file(self, coding: Coding, codes: &[u8]) -> CodeFile<'_> {
        CodeFile {
            model_sha256: self.model_sha256,
            input: self.input,
            latent: self.latent,
            rows: self.rows,
            cols: self.cols,
            count: self.count,
            coding,
            codes,
        }
    }
}

/// SHA-256 of a model file.
pub fn model_id(model_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(model_bytes).into()
}

/// Appends one entropy-coded image with its varint length prefix.
pub fn push_coded(codes: &mut Vec<u8>, coded: &[u8]) {
    let mut len = coded.len();
    loop {
        let byte = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            codes.push(byte);
            break;
        }
        codes.push(byte | 0x80);
    }
    codes.extend_from_slice(coded);
}

/// Splits off one varint-prefixed record; `None` when it is cut off or its prefix is malformed.
fn take_record(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len = 0usize;
    for (i, &b) in bytes.iter().enumerate().take(4) {
        len |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            // Canonical only: no superfluous zero continuation groups.
            if i > 0 && b == 0 {
                return None;
            }
            let rest = &bytes[i + 1..];
            return (rest.len() >= len).then(|| rest.split_at(len));
        }
    }
    None
}

impl<'a> CodeFile<'a> {
    /// Encodes the file (version 2) with its CRC. A failure is an error, never a file holding
    /// only a checksum.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodeFileError> {
        let wire = WireV2 {
            head: WireHead {
                magic: MAGIC,
                version: VERSION,
                model_sha256: self.model_sha256,
                input: self.input,
                latent: self.latent,
                rows: self.rows,
                cols: self.cols,
                count: self.count,
            },
            coding: self.coding,
            codes: self.codes,
        };
        // Room for the header (at most 100 bytes), the codes and the CRC, so that the codes are
        // copied once.
        let room = Vec::with_capacity(self.codes.len() + 128);
        let mut bytes = postcard::to_extend(&wire, room).map_err(CodeFileError::Encode)?;
        let crc = ae_core::format::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        Ok(bytes)
    }

    /// The per-image codes: `latent` raw bytes, or one coded image (step byte and payload).
    pub fn images(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let latent = self.latent as usize;
        let (coding, mut rest, count) = (self.coding, self.codes, self.count);
        (0..count).map_while(move |_| {
            let (image, tail) = match coding {
                Coding::Raw => rest.split_at_checked(latent)?,
                Coding::Entropy => take_record(rest)?,
            };
            rest = tail;
            Some(image)
        })
    }

    /// Parses and checks a code file (version 1 or 2); never panics.
    ///
    /// The framing (magic, length, CRC-32 over everything before it) follows the model file's,
    /// but ae-core exposes only [`ae_core::format::crc32`], not its framing check (that lives in
    /// ae-core's private `format::parse`), so the few lines of it are here. Should ae-core export
    /// a `split_framed(bytes, magic)`, this should call it.
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
        let file = match head.1 {
            1 => {
                let w: WireV1<'a> = take_all(body)?;
                w.head.into_file(Coding::Raw, w.codes)
            }
            VERSION => {
                let w: WireV2<'a> = take_all(body)?;
                w.head.into_file(w.coding, w.codes)
            }
            other => return Err(CodeFileError::Version(other)),
        };
        file.check_layout()?;
        Ok(file)
    }

    fn check_layout(&self) -> Result<(), CodeFileError> {
        if u64::from(self.rows) * u64::from(self.cols) != u64::from(self.input) || self.latent == 0
        {
            return Err(CodeFileError::Malformed);
        }
        match self.coding {
            Coding::Raw => {
                let expected = u64::from(self.count) * u64::from(self.latent);
                if expected != self.codes.len() as u64 {
                    return Err(CodeFileError::Length {
                        expected,
                        found: self.codes.len() as u64,
                    });
                }
            }
            Coding::Entropy => {
                let longest = ae_core::entropy::max_coded_len(self.latent as usize);
                let mut rest = self.codes;
                for _ in 0..self.count {
                    let (image, tail) = take_record(rest).ok_or(CodeFileError::Malformed)?;
                    if image.is_empty() || image.len() > longest {
                        return Err(CodeFileError::Malformed);
                    }
                    rest = tail;
                }
                if !rest.is_empty() {
                    return Err(CodeFileError::Malformed);
                }
            }
        }
        Ok(())
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

fn take_all<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, CodeFileError> {
    let (value, rest) = postcard::take_from_bytes(body).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => CodeFileError::Truncated,
        _ => CodeFileError::Malformed,
    })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(CodeFileError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(codes: &[u8]) -> Vec<u8> {
        CodeFile {
            model_sha256: [7; 32],
            input: 6,
            latent: 2,
            rows: 2,
            cols: 3,
            count: (codes.len() / 2) as u32,
            coding: Coding::Raw,
            codes,
        }
        .to_bytes()
        .unwrap()
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
        let mut v3 = bytes.clone();
        v3[4] = 3;
        let n = v3.len() - 4;
        let crc = ae_core::format::crc32(&v3[..n]);
        v3[n..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(CodeFile::parse(&v3), Err(CodeFileError::Version(3)));
    }

    #[test]
    fn entropy_records_round_trip_and_are_checked() {
        let mut codes = Vec::new();
        push_coded(&mut codes, &[1, 9, 9]);
        push_coded(&mut codes, &[2]);
        push_coded(&mut codes, &[1; 200]);
        let file = CodeFile {
            model_sha256: [1; 32],
            input: 6,
            latent: 100,
            rows: 2,
            cols: 3,
            count: 3,
            coding: Coding::Entropy,
            codes: &codes,
        };
        let bytes = file.to_bytes().unwrap();
        let back = CodeFile::parse(&bytes).unwrap();
        let images: Vec<&[u8]> = back.images().collect();
        assert_eq!(images, vec![&[1u8, 9, 9][..], &[2][..], &[1; 200][..]]);
        // One image too few or too many is malformed, not a short read.
        for count in [2, 4] {
            let bad = CodeFile {
                count,
                ..file.clone()
            }
            .to_bytes()
            .unwrap();
            assert_eq!(CodeFile::parse(&bad), Err(CodeFileError::Malformed));
        }
        // A record longer than any coded image of this latent size is refused.
        let bad = CodeFile {
            latent: 2,
            ..file.clone()
        }
        .to_bytes()
        .unwrap();
        assert_eq!(CodeFile::parse(&bad), Err(CodeFileError::Malformed));
    }

    #[test]
    fn version_1_files_still_parse() {
        let v1 = WireV1 {
            head: WireHead {
                magic: MAGIC,
                version: 1,
                model_sha256: [3; 32],
                input: 4,
                latent: 2,
                rows: 2,
                cols: 2,
                count: 2,
            },
            codes: &[1, 2, 3, 4],
        };
        let mut bytes = postcard::to_stdvec(&v1).unwrap();
        let crc = ae_core::format::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let f = CodeFile::parse(&bytes).unwrap();
        assert_eq!(f.coding, Coding::Raw);
        assert_eq!(
            f.images().collect::<Vec<_>>(),
            vec![&[1u8, 2][..], &[3, 4][..]]
        );
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
