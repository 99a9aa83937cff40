//! A 32-bit range coder with 16-bit probabilities, over caller-provided byte buffers.
//!
//! Written by hand because the coders in crates (e.g. `constriction`) need a heap, and a board
//! codes one image into a fixed buffer. The encoder propagates carries into the bytes it has
//! already written instead of LZMA's cache byte, so there is no leading zero byte; it finishes with
//! the shortest value inside the final interval and drops trailing zero bytes, which the decoder
//! reads back as the zeros it pads with. `FORMAT.md` (*Range coder*) is the normative description.

/// Probabilities are counts out of `2^PROB_BITS`.
pub const PROB_BITS: u32 = 16;
const TOP: u32 = 1 << 24;

/// The encoder ran out of room in its output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// Codes intervals into `out`.
pub struct Encoder<'a> {
    out: &'a mut [u8],
    len: usize,
    low: u32,
    range: u32,
    overflow: bool,
}

impl<'a> Encoder<'a> {
    /// An encoder writing into `out`.
    pub fn new(out: &'a mut [u8]) -> Self {
        Encoder {
            out,
            len: 0,
            low: 0,
            range: u32::MAX,
            overflow: false,
        }
    }

    /// Codes the interval `[start, end)` out of `2^16` (`start < end <= 2^16`).
    #[inline]
    pub fn encode(&mut self, start: u32, end: u32) {
        debug_assert!(start < end && end <= 1 << PROB_BITS);
        let t = self.range >> PROB_BITS;
        // t < 2^16 and start < 2^16: the product fits, and a wrap of the sum is the carry.
        let (low, carry) = self.low.overflowing_add(t * start);
        self.low = low;
        if carry {
            self.carry();
        }
        self.range = t * (end - start);
        while self.range < TOP {
            self.put((self.low >> 24) as u8);
            self.low <<= 8;
            self.range <<= 8;
        }
    }

    /// Writes the shortest tail that pins the final interval and returns the payload length, or
    /// [`Overflow`] when the payload did not fit the buffer.
    pub fn finish(mut self) -> Result<usize, Overflow> {
        let low = u64::from(self.low);
        let end = low + u64::from(self.range);
        // The value in [low, end) with the most trailing zero bits (k = 0 always qualifies).
        let mut value = low;
        for k in (0..=32u32).rev() {
            let mask = (1u64 << k) - 1;
            let v = (low + mask) & !mask;
            if v < end {
                value = v;
                break;
            }
        }
        if value >> 32 != 0 {
            self.carry();
        }
        for byte in (value as u32).to_be_bytes() {
            self.put(byte);
        }
        if self.overflow {
            return Err(Overflow);
        }
        while self.len > 0 && self.out.get(self.len - 1) == Some(&0) {
            self.len -= 1;
        }
        Ok(self.len)
    }

    /// Adds 1 to the bytes written so far, read as one big-endian number.
    fn carry(&mut self) {
        // The coded number is below 1, so a carry never runs past the first byte.
        let written = self.len.min(self.out.len());
        for byte in self.out[..written].iter_mut().rev() {
            *byte = byte.wrapping_add(1);
            if *byte != 0 {
                break;
            }
        }
    }

    fn put(&mut self, byte: u8) {
        match self.out.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }
}

/// The payload is corrupt (a value outside every interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Decodes intervals from a payload padded with zero bytes.
pub struct Decoder<'a> {
    src: &'a [u8],
    pos: usize,
    code: u32,
    range: u32,
    scale: u32,
}

impl<'a> Decoder<'a> {
    /// A decoder reading `src`.
    pub fn new(src: &'a [u8]) -> Self {
        let mut d = Decoder {
            src,
            pos: 0,
            code: 0,
            range: u32::MAX,
            scale: 0,
        };
        for _ in 0..4 {
            d.code = (d.code << 8) | u32::from(d.next_byte());
        }
        d
    }

    /// The next value in `0..2^16` whose interval the caller must find and pass to [`Self::consume`].
    #[inline]
    pub fn target(&mut self) -> Result<u32, Corrupt> {
        self.scale = self.range >> PROB_BITS;
        // `range >= 2^24` keeps `scale >= 256`; the checked division says so to the compiler.
        match self.code.checked_div(self.scale) {
            Some(v) if v < 1 << PROB_BITS => Ok(v),
            _ => Err(Corrupt),
        }
    }

    /// Removes the interval `[start, end)` that contains the last [`Self::target`].
    #[inline]
    pub fn consume(&mut self, start: u32, end: u32) {
        self.code -= self.scale * start;
        self.range = self.scale * (end - start);
        while self.range < TOP {
            self.code = (self.code << 8) | u32::from(self.next_byte());
            self.range <<= 8;
        }
    }

    /// Bytes the coded stream spans (the 4 initial ones and every one shifted in), which is the
    /// payload's length before its trailing zeros were dropped.
    pub fn span(&self) -> usize {
        self.pos
    }

    fn next_byte(&mut self) -> u8 {
        let b = self.src.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }
}
