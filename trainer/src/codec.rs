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
//!
//! Writing takes the codes in pieces ([`CodeHead::write_to`]): `ae compress` codes its chunks on
//! several threads, and gathering them into one buffer, then copying that into a second one for
//! the header and checksum, cost about 0.7 ms of page faults and copies on 10,000 images, which
//! only one thread could do, at the end.

use std::io::{IoSlice, Write};

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

/// A code file's fields but its codes: what [`CodeHead::write_to`] puts before the codes it is
/// given in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeHead {
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
    /// How the codes are laid out.
    pub coding: Coding,
}

impl CodeHead {
    /// Writes the code file (version 2) whose codes are `pieces` one after the other: the bytes
    /// [`CodeFile::to_bytes`] gives for their concatenation, without gathering them first.
    /// Returns the file's length. The header's encoding failing (it cannot with postcard's
    /// encoder) is an [`std::io::Error`] holding [`CodeFileError::Encode`].
    pub fn write_to<W: Write + ?Sized>(
        &self,
        pieces: &[&[u8]],
        out: &mut W,
    ) -> std::io::Result<u64> {
        let codes_len: usize = pieces.iter().map(|piece| piece.len()).sum();
        let prefix = self.prefix(codes_len).map_err(std::io::Error::other)?;
        let crc = crc_of(&prefix, pieces);
        let mut slices = Vec::with_capacity(pieces.len() + 2);
        slices.push(IoSlice::new(&prefix));
        slices.extend(pieces.iter().map(|piece| IoSlice::new(piece)));
        slices.push(IoSlice::new(&crc));
        write_all_vectored(out, &mut slices)?;
        Ok((prefix.len() + codes_len + crc.len()) as u64)
    }

    /// What comes before the codes. postcard writes the struct `WireV2` as its fields one after
    /// the other, and its byte slice as a varint length and the bytes: the head, the coding,
    /// then the length of the codes.
    fn prefix(&self, codes_len: usize) -> Result<Vec<u8>, CodeFileError> {
        let mut prefix =
            postcard::to_stdvec(&(self.wire(), self.coding)).map_err(CodeFileError::Encode)?;
        push_varint(&mut prefix, codes_len);
        Ok(prefix)
    }

    /// The fields every version starts with, as this build writes them.
    fn wire(&self) -> WireHead {
        WireHead {
            magic: MAGIC,
            version: VERSION,
            model_sha256: self.model_sha256,
            input: self.input,
            latent: self.latent,
            rows: self.rows,
            cols: self.cols,
            count: self.count,
        }
    }

    /// The code file of these fields and `codes`.
    pub fn with_codes(self, codes: &[u8]) -> CodeFile<'_> {
        CodeFile {
            model_sha256: self.model_sha256,
            input: self.input,
            latent: self.latent,
            rows: self.rows,
            cols: self.cols,
            count: self.count,
            coding: self.coding,
            codes,
        }
    }
}

/// The CRC-32 that ends the file, over everything before it (the same CRC as
/// [`ae_core::format::crc32`], which the reader checks; `crc32fast` takes 457 KB in a few
/// microseconds instead of a quarter of a millisecond).
fn crc_of(prefix: &[u8], pieces: &[&[u8]]) -> [u8; 4] {
    let mut crc = crc32fast::Hasher::new();
    crc.update(prefix);
    for piece in pieces {
        crc.update(piece);
    }
    crc.finalize().to_le_bytes()
}

/// `Write::write_all` for several buffers in few system calls (`write_all_vectored` is not
/// stable yet).
fn write_all_vectored<W: Write + ?Sized>(
    out: &mut W,
    mut slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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

/// Read only: [`CodeHead::write_to`] writes the same bytes field by field.
#[derive(Deserialize)]
struct WireV2<'a> {
    head: WireHead,
    coding: Coding,
    #[serde(borrow)]
    codes: &'a [u8],
}

impl WireHead {
    fn into_head(self, coding: Coding) -> CodeHead {
        CodeHead {
            model_sha256: self.model_sha256,
            input: self.input,
            latent: self.latent,
            rows: self.rows,
            cols: self.cols,
            count: self.count,
            coding,
        }
    }
}

/// SHA-256 of a model file.
pub fn model_id(model_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(model_bytes).into()
}

/// Appends one entropy-coded image with its varint length prefix.
pub fn push_coded(codes: &mut Vec<u8>, coded: &[u8]) {
    push_varint(codes, coded.len());
    codes.extend_from_slice(coded);
}

/// Appends `value` as an LEB128 varint (seven bits a byte, low first), as postcard writes lengths
/// and as the entropy records do.
fn push_varint(bytes: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            break;
        }
        bytes.push(byte | 0x80);
    }
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
    /// Everything but the codes.
    pub fn head(&self) -> CodeHead {
        CodeHead {
            model_sha256: self.model_sha256,
            input: self.input,
            latent: self.latent,
            rows: self.rows,
            cols: self.cols,
            count: self.count,
            coding: self.coding,
        }
    }

    /// Encodes the file (version 2) with its CRC. A failure is an error, never a file holding
    /// only a checksum.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodeFileError> {
        let prefix = self.head().prefix(self.codes.len())?;
        let crc = crc_of(&prefix, &[self.codes]);
        let mut bytes = Vec::with_capacity(prefix.len() + self.codes.len() + crc.len());
        bytes.extend_from_slice(&prefix);
        bytes.extend_from_slice(self.codes);
        bytes.extend_from_slice(&crc);
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
                w.head.into_head(Coding::Raw).with_codes(w.codes)
            }
            VERSION => {
                let w: WireV2<'a> = take_all(body)?;
                w.head.into_head(w.coding).with_codes(w.codes)
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

    /// The version-2 bytes as postcard writes the whole struct, and the CRC the parser checks:
    /// an encoder written apart from [`CodeHead::write_to`], to compare it with.
    fn postcard_reference(head: &CodeHead, codes: &[u8]) -> Vec<u8> {
        #[derive(Serialize)]
        struct Reference<'a> {
            head: WireHead,
            coding: Coding,
            #[serde(serialize_with = "as_bytes")]
            codes: &'a [u8],
        }
        fn as_bytes<S: serde::Serializer>(b: &&[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b)
        }
        let mut bytes = postcard::to_stdvec(&Reference {
            head: head.wire(),
            coding: head.coding,
            codes,
        })
        .unwrap();
        let crc = ae_core::format::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Takes at most `step` bytes a call, and fails every third call with `Interrupted`.
    struct Trickle {
        bytes: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        /// Like a real `writev`: across several buffers, stopping anywhere.
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let mut taken = 0;
            for buf in bufs {
                let n = buf.len().min(self.step - taken);
                self.bytes.extend_from_slice(&buf[..n]);
                taken += n;
                if taken == self.step {
                    break;
                }
            }
            Ok(taken)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn codes_at_the_varint_edges_are_written_as_postcard_writes_them() {
        let head = CodeHead {
            model_sha256: [9; 32],
            input: 6,
            latent: 2,
            rows: 2,
            cols: 3,
            count: 300,
            coding: Coding::Raw,
        };
        for len in [0, 1, 127, 128, 16_383, 16_384] {
            let codes: Vec<u8> = (0..len).map(|k| (k % 251) as u8).collect();
            let (first, rest) = codes.split_at(len / 3);
            let mut out = Vec::new();
            head.write_to(&[first, &[], rest], &mut out).unwrap();
            assert!(out == postcard_reference(&head, &codes), "{len} code bytes");
        }
    }

    #[test]
    fn a_writer_that_fails_fails_the_write() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let head = CodeFile::parse(&sample(&[1, 2])).unwrap().head();
        let e = head.write_to(&[&[1, 2]], &mut Full).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = head.write_to(&[&[1, 2]], &mut Closed).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WriteZero);
    }

    proptest! {
        #[test]
        fn codes_written_in_pieces_are_the_file_of_their_concatenation(
            codes in proptest::collection::vec(any::<u8>(), 0..20_000),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            entropy in any::<bool>(),
            count in any::<u32>(),
            step in 1usize..5_000,
        ) {
            // Lengths on both sides of the varint's one-, two- and three-byte forms come up.
            let head = CodeHead {
                model_sha256: [5; 32],
                input: 784,
                latent: 64,
                rows: 28,
                cols: 28,
                count,
                coding: if entropy { Coding::Entropy } else { Coding::Raw },
            };
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(codes.len() + 1)).collect();
            at.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for &to in at.iter().chain([codes.len()].iter()) {
                pieces.push(&codes[from..to]);
                from = to;
            }
            let expected = postcard_reference(&head, &codes);
            let mut out = Trickle { bytes: Vec::new(), step, calls: 0 };
            let len = head.write_to(&pieces, &mut out).unwrap();
            prop_assert_eq!(len, expected.len() as u64);
            prop_assert!(out.bytes == expected, "bytes differ from the reference encoding");
            prop_assert!(head.with_codes(&codes).to_bytes().unwrap() == expected);
        }

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
