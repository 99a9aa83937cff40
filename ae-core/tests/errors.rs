//! Every error variant, reached the way a user would reach it.

mod common;

use ae_core::format::{self, ModelKind, ModelRef, FORMAT_VERSION};
use ae_core::requant::Requant;
use ae_core::{Error, FloatModel, Int8Model};

/// CRC-32/ISO-HDLC (the zip/PNG CRC that `FORMAT.md` names), written here bit by bit so the
/// tests do not trust the crate's table-driven one: reflected polynomial 0xEDB88320, initial value
/// and final xor 0xFFFFFFFF.
fn reference_crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc ^ 0xFFFF_FFFF
}

/// The CRC a file stores: its last 4 bytes, little-endian.
fn stored_crc(file: &[u8]) -> u32 {
    u32::from_le_bytes(file[file.len() - 4..].try_into().unwrap())
}

/// Rewrites the trailing CRC (computed by [`reference_crc32`]) so a deliberately edited body gets
/// past the checksum.
fn fix_crc(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = reference_crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

/// The reference CRC is the standard one: the catalogue's check value, and the crate agrees.
#[test]
fn reference_crc_matches_the_standard_check_value_and_the_crate() {
    assert_eq!(reference_crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(reference_crc32(b""), 0);
    assert_eq!(format::crc32(b"123456789"), 0xCBF4_3926);
    // A written file stores the reference CRC of its body.
    let (b, n) = float_file();
    assert_eq!(stored_crc(&b.0[..n]), reference_crc32(&b.0[..n - 4]));
    let (b, n) = int8_file();
    assert_eq!(stored_crc(&b.0[..n]), reference_crc32(&b.0[..n - 4]));
}

fn float_file() -> (common::Buf, usize) {
    let mut b = common::buf();
    let n = common::tiny_float(&mut b);
    (b, n)
}

fn int8_file() -> (common::Buf, usize) {
    let mut b = common::buf();
    let n = common::tiny_int8(&mut b);
    (b, n)
}

#[test]
fn bad_magic() {
    assert_eq!(
        ModelRef::parse(b"PK\x03\x04rest").unwrap_err(),
        Error::BadMagic
    );
    assert_eq!(ModelRef::parse(b"X").unwrap_err(), Error::BadMagic);
}

#[test]
fn truncated() {
    assert_eq!(ModelRef::parse(b"").unwrap_err(), Error::Truncated);
    assert_eq!(ModelRef::parse(b"TN").unwrap_err(), Error::Truncated);
    assert_eq!(
        ModelRef::parse(b"TNAE\0\0\0").unwrap_err(),
        Error::Truncated
    );
    // A body cut short but carrying a valid CRC (a writer bug, not line noise).
    let (mut b, n) = int8_file();
    let cut = n - 10;
    let crc = reference_crc32(&b.0[..cut]);
    b.0[cut..cut + 4].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        ModelRef::parse(&b.0[..cut + 4]).unwrap_err(),
        Error::Truncated
    );
}

/// A flipped body bit is `ChecksumMismatch` carrying the CRC read from the file's last 4 bytes
/// and the CRC of the edited body (both checked against the bitwise reference), and its message
/// names both in hex; a lost last byte is the same error with the shifted values.
#[test]
fn checksum_mismatch_names_both_values() {
    let (mut b, n) = float_file();
    let original = stored_crc(&b.0[..n]);
    b.0[20] ^= 0x40;
    let file = &b.0[..n];
    let (want_stored, want_computed) = (stored_crc(file), reference_crc32(&file[..n - 4]));
    assert_eq!(want_stored, original, "the edit left the stored CRC alone");
    assert_ne!(
        want_stored, want_computed,
        "the edit changed the body's CRC"
    );
    let e = ModelRef::parse(file).unwrap_err();
    assert_eq!(
        e,
        Error::ChecksumMismatch {
            stored: want_stored,
            computed: want_computed
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "model file checksum mismatch (stored {want_stored:#010x}, computed \
             {want_computed:#010x}): the file is corrupted"
        )
    );
    // A lost byte at the end is also a checksum failure, not a crash: the "stored" CRC is now
    // the last 4 bytes of what is left.
    let cut = &b.0[..n - 1];
    assert_eq!(
        ModelRef::parse(cut).unwrap_err(),
        Error::ChecksumMismatch {
            stored: stored_crc(cut),
            computed: reference_crc32(&cut[..cut.len() - 4])
        }
    );
}

#[test]
fn unsupported_version() {
    let (mut b, n) = float_file();
    assert_eq!(
        b.0[4], FORMAT_VERSION as u8,
        "version varint follows the magic"
    );
    b.0[4] = 3;
    fix_crc(&mut b.0[..n]);
    assert_eq!(
        ModelRef::parse(&b.0[..n]).unwrap_err(),
        Error::UnsupportedVersion(3)
    );
}

#[test]
fn dims_mismatch_and_wrong_kind() {
    let (b, n) = float_file();
    assert_eq!(
        FloatModel::<784, 64>::from_bytes(&b.0[..n]).unwrap_err(),
        Error::DimsMismatch {
            expected: (784, 64),
            found: (2, 1)
        }
    );
    assert_eq!(
        Int8Model::<2, 1>::from_bytes(&b.0[..n]).unwrap_err(),
        Error::WrongKind {
            expected: ModelKind::Int8,
            found: ModelKind::Float
        }
    );
    let (b, n) = int8_file();
    assert_eq!(
        FloatModel::<2, 1>::from_bytes(&b.0[..n]).unwrap_err(),
        Error::WrongKind {
            expected: ModelKind::Float,
            found: ModelKind::Int8
        }
    );
}

#[test]
fn malformed_and_trailing_bytes() {
    let (mut b, n) = float_file();
    // Byte 5.. holds the dims varints, then the shape varints, the slope (4 bytes) and the
    // entropy option tag; the params enum tag follows.
    let tag = 5 + 2 + 2 + 4 + 1;
    assert_eq!(b.0[tag], 0, "float variant tag");
    b.0[tag] = 9;
    fix_crc(&mut b.0[..n]);
    assert_eq!(ModelRef::parse(&b.0[..n]).unwrap_err(), Error::Malformed);

    let (mut b, n) = int8_file();
    // Insert one junk byte before the CRC.
    b.0[n - 4] = 0xAA;
    fix_crc(&mut b.0[..n + 1]);
    assert_eq!(
        ModelRef::parse(&b.0[..n + 1]).unwrap_err(),
        Error::TrailingBytes
    );
}

#[test]
fn tensor_length_from_writer_and_parser() {
    let mut out = [0u8; 256];
    let t = format::FloatTensors {
        encoder_weights: &[0.5],
        encoder_bias: &[0.0],
        decoder_weights: &[4.0, -2.0],
        decoder_bias: &[-2.0, 1.0],
    };
    assert_eq!(
        format::write_float(2, 1, 0.3, &t, &mut out).unwrap_err(),
        Error::TensorLength {
            tensor: "encoder_weights",
            expected: 8,
            found: 4
        }
    );
    // Parser: claim a larger latent dimension than the tensors hold.
    let (mut b, n) = float_file();
    b.0[6] = 3;
    fix_crc(&mut b.0[..n]);
    // A 2 -> 3 model needs (2 * 6 + 2 + 3) * 4 = 68 bytes of f32s; the file holds 2 -> 1's 28.
    assert_eq!(
        ModelRef::parse(&b.0[..n]).unwrap_err(),
        Error::TensorLength {
            tensor: "float tensors",
            expected: 68,
            found: 28
        }
    );
}

#[test]
fn invalid_values() {
    // NaN weight.
    let mut out = common::buf();
    let t = format::FloatTensors {
        encoder_weights: &[f32::NAN, 0.5],
        encoder_bias: &[0.0],
        decoder_weights: &[4.0, -2.0],
        decoder_bias: &[-2.0, 1.0],
    };
    assert_eq!(
        format::write_float(2, 1, 0.3, &t, &mut out.0).unwrap_err(),
        Error::InvalidValue("float weights must be finite")
    );
    // Slope outside [0, 1], and zero dimensions.
    let ok = format::FloatTensors {
        encoder_weights: &[0.5, 0.5],
        ..t
    };
    assert_eq!(
        format::write_float(2, 1, -0.1, &ok, &mut out.0).unwrap_err(),
        Error::InvalidValue("LeakyReLU slope must be in [0, 1]")
    );
    assert_eq!(
        format::write_float(0, 1, 0.3, &ok, &mut out.0).unwrap_err(),
        Error::InvalidValue("dimensions must be at least 1")
    );

    // Zero and NaN scales, edited into a valid int8 file.
    let (b, n) = int8_file();
    let bytes = &b.0[..n];
    let scale_at = bytes
        .windows(4)
        .position(|w| w == 0.05f32.to_le_bytes())
        .unwrap();
    for bad in [0.0f32, f32::NAN, -1.0, f32::INFINITY] {
        let mut copy = b;
        copy.0[scale_at..scale_at + 4].copy_from_slice(&bad.to_le_bytes());
        fix_crc(&mut copy.0[..n]);
        assert_eq!(
            ModelRef::parse(&copy.0[..n]).unwrap_err(),
            Error::InvalidValue("latent scale must be finite and positive"),
            "latent scale {bad}"
        );
    }
    // A multiplier below 2^30 (not normalized): the last decoder multiplier precedes the shifts.
    let mult_at = n - 4 - 2 - 1 - 4; // before the shifts and their length byte
    let mut copy = b;
    copy.0[mult_at..mult_at + 4].copy_from_slice(&5i32.to_le_bytes());
    fix_crc(&mut copy.0[..n]);
    assert_eq!(
        ModelRef::parse(&copy.0[..n]).unwrap_err(),
        Error::InvalidValue("requantization multiplier must be 0 or in [2^30, 2^31)")
    );
    // A shift of zero.
    let one = Requant::from_real(1.0).unwrap();
    let shift_at = n - 4 - 2; // decoder shifts are the last two body bytes
    assert_eq!(bytes[shift_at], one.shift);
    let mut copy = b;
    copy.0[shift_at] = 0;
    fix_crc(&mut copy.0[..n]);
    assert_eq!(
        ModelRef::parse(&copy.0[..n]).unwrap_err(),
        Error::InvalidValue("requantization shift must be in 1..=62")
    );
}

#[test]
fn misaligned_float_weights() {
    let (b, n) = float_file();
    let mut shifted = common::buf();
    shifted.0[1..n + 1].copy_from_slice(&b.0[..n]);
    assert_eq!(
        FloatModel::<2, 1>::from_bytes(&shifted.0[1..n + 1]).unwrap_err(),
        Error::Misaligned
    );
    // int8 models have no alignment needs.
    let (b, n) = int8_file();
    shifted.0[1..n + 1].copy_from_slice(&b.0[..n]);
    assert!(Int8Model::<2, 1>::from_bytes(&shifted.0[1..n + 1]).is_ok());
}

#[test]
fn buffer_size_when_writing() {
    let mut small = [0u8; 10];
    let mut b = common::buf();
    let n = common::tiny_int8(&mut b);
    let m = ModelRef::parse(&b.0[..n]).unwrap();
    assert_eq!(m.kind(), ModelKind::Int8);
    let t = format::FloatTensors {
        encoder_weights: &[0.5, 0.5],
        encoder_bias: &[0.0],
        decoder_weights: &[4.0, -2.0],
        decoder_bias: &[-2.0, 1.0],
    };
    // The buffer must hold the whole file, which is exactly as long as the tiny float model's.
    let (_, float_len) = float_file();
    assert_eq!(
        format::write_float(2, 1, 0.3, &t, &mut small).unwrap_err(),
        Error::BufferSize {
            expected: float_len,
            found: 10
        }
    );
}

/// Every error's message says what went wrong and carries the values the variant holds.
#[test]
fn every_error_displays_a_sentence() {
    let cases: [(Error, &str); 13] = [
        (Error::Truncated, "model file is truncated"),
        (
            Error::ChecksumMismatch {
                stored: 1,
                computed: 0xDEAD_BEEF,
            },
            "model file checksum mismatch (stored 0x00000001, computed 0xdeadbeef): the file is \
             corrupted",
        ),
        (Error::BadMagic, "not a tinyae model file (bad magic bytes)"),
        (
            Error::DimsMismatch {
                expected: (784, 64),
                found: (2, 1),
            },
            "model is 2->1 but 784->64 was expected",
        ),
        (
            Error::WrongKind {
                expected: ModelKind::Float,
                found: ModelKind::Int8,
            },
            "model is int8 but a float model was expected",
        ),
        (Error::Malformed, "model file body is malformed"),
        (
            Error::TrailingBytes,
            "model file has unexpected bytes after its body",
        ),
        (
            Error::TensorLength {
                tensor: "x",
                expected: 1,
                found: 2,
            },
            "tensor `x` has 2 bytes, the model's dimensions need 1",
        ),
        (Error::InvalidValue("y"), "invalid model parameter: y"),
        (
            Error::Misaligned,
            "float weights are not 4-byte aligned in memory (wrap the bytes in ae_core::Aligned)",
        ),
        (
            Error::DoesNotFit { max_bytes: 7 },
            "the coded image does not fit in 7 bytes",
        ),
        (Error::CorruptCode, "the coded image is corrupt"),
        (
            Error::BufferSize {
                expected: 3,
                found: 4,
            },
            "buffer has length 4, 3 is needed",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.to_string(), want, "{e:?}");
        let _: &dyn core::error::Error = &e;
    }
    assert_eq!(
        Error::UnsupportedVersion(9).to_string(),
        format!("unsupported model format version 9 (this build reads version {FORMAT_VERSION})")
    );
}

/// Re-seals `bytes` with a fresh CRC and parses it from a 16-byte aligned buffer placed `shift`
/// bytes into the alignment.
fn parse_resealed(mut bytes: Vec<u8>, shift: usize) -> Result<(), Error> {
    fix_crc(&mut bytes);
    let mut b = common::buf();
    b.0[shift..shift + bytes.len()].copy_from_slice(&bytes);
    ModelRef::parse(&b.0[shift..shift + bytes.len()]).map(|_| ())
}

/// Issue 13, item 12: the padding rule is enforced (too many or non-zero pad bytes are invalid),
/// and a misaligned buffer is reported as such, not blamed on the file.
#[test]
fn padding_must_be_minimal_zero_bytes() {
    let (b, n) = float_file();
    let good = b.0[..n].to_vec();
    assert_eq!(parse_resealed(good.clone(), 0), Ok(()));
    // The pad's length prefix follows the params tag (byte 14); the tiny file has some padding.
    let pad_at = 15;
    let pad_len = usize::from(good[pad_at]);
    assert!(pad_len > 0 && pad_len < 16, "{pad_len}");
    // 16 more zero bytes keep the tensors aligned but are not the fewest.
    let mut long = good.clone();
    long[pad_at] += 16;
    long.splice(pad_at + 1..pad_at + 1, [0u8; 16]);
    assert_eq!(
        parse_resealed(long, 0),
        Err(Error::InvalidValue(
            "tensor padding must be the fewest zero bytes that align the tensors in the file"
        ))
    );
    // A non-zero pad byte.
    let mut dirty = good.clone();
    dirty[pad_at + 1] = 7;
    assert_eq!(
        parse_resealed(dirty, 0),
        Err(Error::InvalidValue(
            "tensor padding must be the fewest zero bytes that align the tensors in the file"
        ))
    );
    // No padding: the tensors are not aligned in the file.
    let mut none = good.clone();
    none[pad_at] = 0;
    none.drain(pad_at + 1..pad_at + 1 + pad_len);
    assert_eq!(
        parse_resealed(none, 0),
        Err(Error::InvalidValue(
            "tensor padding must be the fewest zero bytes that align the tensors in the file"
        ))
    );
    // The right file in a misaligned buffer: the caller's problem, and named as such.
    assert_eq!(parse_resealed(good, 2), Err(Error::Misaligned));
}

/// Issue 13, item 13: an overlong varint (the same value in more bytes) is refused, so one model
/// has exactly one encoding.
#[test]
fn overlong_varints_are_malformed() {
    let (b, n) = float_file();
    let mut bytes = b.0[..n].to_vec();
    // dims.input = 2 at byte 5, written as 0x82 0x00.
    assert_eq!(bytes[5], 2);
    bytes[5] = 0x82;
    bytes.insert(6, 0x00);
    assert_eq!(parse_resealed(bytes, 0), Err(Error::Malformed));
}

/// Issue 13, item 11: a file whose int8 accumulator could leave i32 is refused by the reader and
/// never written by the writer.
#[test]
fn accumulators_that_can_overflow_i32_are_refused() {
    use ae_core::format::{Int8Tensors, QuantLayerTensors};
    let rq = |m: f64| ae_core::requant::Requant::from_real(m).unwrap();
    let (pos, neg, one) = (rq(0.5), rq(0.25), rq(1.0));
    let model = |enc_bias: i32| {
        let t = Int8Tensors {
            latent_scale: 0.05,
            latent_zero_point: 10,
            encoder: QuantLayerTensors {
                weights: &[127, -128],
                bias: &[enc_bias],
                multipliers: &[pos.multiplier, neg.multiplier],
                shifts: &[pos.shift, neg.shift],
            },
            decoder: QuantLayerTensors {
                weights: &[2, -3],
                bias: &[5, 0],
                multipliers: &[one.multiplier; 2],
                shifts: &[one.shift; 2],
            },
        };
        let mut out = common::buf();
        format::write_int8(2, 1, 0.3, &t, &mut out.0).map(|n| out.0[..n].to_vec())
    };
    // Worst case |bias| + 255 * (127 + 128) must stay within i32::MAX.
    let limit = i32::MAX - 255 * 255;
    let ok = model(limit).unwrap();
    assert_eq!(parse_resealed(ok.clone(), 0), Ok(()));
    let overflow = Error::InvalidValue("an int8 accumulator could leave the i32 range");
    assert_eq!(model(limit + 1).unwrap_err(), overflow);
    // The same overflow planted in a CRC-valid file: the bias is the 4 bytes holding `limit`.
    let at = ok
        .windows(4)
        .position(|w| w == limit.to_le_bytes())
        .unwrap();
    let mut bad = ok;
    bad[at..at + 4].copy_from_slice(&(limit + 1).to_le_bytes());
    assert_eq!(parse_resealed(bad, 0), Err(overflow));
}
