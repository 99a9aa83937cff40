//! Cortex-M4/M7 (ARMv7E-M) integer dot products on the DSP extension's dual 16-bit
//! multiply-accumulate, `SMLAD`: two int8 weights and two inputs per instruction.
//!
//! Four int8 weights are loaded as one word and split with `SXTB16` into two registers of two
//! sign-extended halves: bytes (0, 2) and, rotated, bytes (1, 3). Pixels are split the same way
//! with `UXTB16`; centred codes are stored pre-paired in that order (see
//! [`pair_codes_for_smlad`]) and four of them arrive with one `LDRD`. Four output rows share
//! every input load and split, so four inputs cost 3 instructions (pixels) or 1 (codes) plus 5
//! per row: 23 or 21 instructions per 16 MACs, against 26 or 24 with two rows. The weight split
//! (2 `SXTB16` per 4 weights) is the floor this instruction set leaves; CMSIS-NN pays it too.
//! Integer sums are exact, so the result equals the portable loop's whatever the order.

use core::arch::asm;

/// One row's step of a four-row pass: four weights at `$addr` (sign-extended in pairs by
/// `SXTB16`) times the input pairs in `{x02}`/`{x13}`, into accumulator `$acc`.
macro_rules! row_step {
    ($addr:literal, $acc:literal) => {
        concat!(
            "ldr {t}, ",
            $addr,
            "\n",
            "sxtb16 {v}, {t}\n",
            "sxtb16 {t}, {t}, ror #8\n",
            "smlad {",
            $acc,
            "}, {x02}, {v}, {",
            $acc,
            "}\n",
            "smlad {",
            $acc,
            "}, {x13}, {t}, {",
            $acc,
            "}\n",
        )
    };
}

/// The four rows' steps for one group of four inputs. Rows 1 and 3 are read at `+stride` from
/// the pointers of rows 0 and 2 before those advance.
macro_rules! four_rows {
    () => {
        concat!(
            row_step!("[{w}, {s}]", "a1"),
            row_step!("[{w}], #4", "a0"),
            row_step!("[{w2}, {s}]", "a3"),
            row_step!("[{w2}], #4", "a2"),
        )
    };
}

/// Four pixels, split by `UXTB16` into the pairs (0, 2) and (1, 3).
macro_rules! pixel_group {
    () => {
        concat!(
            "ldr {v}, [{x}], #4\n",
            "uxtb16 {x02}, {v}\n",
            "uxtb16 {x13}, {v}, ror #8\n",
        )
    };
}

/// Four centred codes, stored pre-paired ([`pair_codes_for_smlad`]): two words, one load.
macro_rules! code_group {
    () => {
        "ldrd {x02}, {x13}, [{x}], #8\n"
    };
}

/// Generates a four-row kernel over `8 * blocks` inputs: rows at `w`, `w + stride`, `w + 2 *
/// stride`, `w + 3 * stride`, two groups of four inputs per pass, `$group` loading the inputs.
/// With `unrolled 4`, four groups per pass over `16 * blocks` inputs (one branch per 64 MACs).
macro_rules! four_row_kernel {
    ($(#[$meta:meta])* $name:ident, $x:ty, $group:ident) => {
        four_row_kernel!($(#[$meta])* $name, $x, $group, [$group!(), four_rows!(), $group!(), four_rows!()]);
    };
    ($(#[$meta:meta])* $name:ident, $x:ty, $group:ident, unrolled 4) => {
        four_row_kernel!($(#[$meta])* $name, $x, $group, [
            $group!(), four_rows!(), $group!(), four_rows!(),
            $group!(), four_rows!(), $group!(), four_rows!()
        ]);
    };
    ($(#[$meta:meta])* $name:ident, $x:ty, $group:ident, [$($body:expr),*]) => {
        $(#[$meta])*
        #[inline(always)]
        unsafe fn $name(x: *const $x, w: *const i8, stride: usize, blocks: usize) -> [i32; 4] {
            let mut acc = [0i32; 4];
            let w2 = w.wrapping_add(2 * stride);
            // SAFETY: the caller guarantees the reads (see the function's contract). The loop
            // post-increments `x`, `w` and `w2` and counts `blocks` down to zero. Only the
            // declared registers and the flags are written.
            unsafe {
                asm!(
                    "2:",
                    $($body,)*
                    "subs {n}, {n}, #1",
                    "bne 2b",
                    x = inout(reg) x => _,
                    w = inout(reg) w => _,
                    w2 = inout(reg) w2 => _,
                    s = in(reg) stride,
                    n = inout(reg) blocks => _,
                    a0 = inout(reg) acc[0],
                    a1 = inout(reg) acc[1],
                    a2 = inout(reg) acc[2],
                    a3 = inout(reg) acc[3],
                    x02 = out(reg) _,
                    x13 = out(reg) _,
                    v = out(reg) _,
                    t = out(reg) _,
                    options(readonly, nostack),
                );
            }
            acc
        }
    };
}

four_row_kernel!(
    /// Four rows of `u8` pixels times int8 weights over the first `8 * blocks` elements.
    ///
    /// # Safety
    /// `x` must hold `8 * blocks` bytes, each of the four rows `8 * blocks` bytes from
    /// `w + r * stride`; `blocks > 0`.
    dot4_u8_i8_blocks,
    u8,
    pixel_group
);

four_row_kernel!(
    /// Four rows of paired centred codes times int8 weights over the first `8 * blocks` weights.
    ///
    /// # Safety
    /// `x` must be 4-byte aligned and hold `8 * blocks` halves, each of the four rows `8 *
    /// blocks` bytes from `w + r * stride`; `blocks > 0`.
    dot4_pairs_i8_blocks,
    i16,
    code_group
);

four_row_kernel!(
    /// [`dot4_pairs_i8_blocks`] over `16 * blocks` weights, four groups per pass.
    ///
    /// # Safety
    /// As [`dot4_pairs_i8_blocks`], with `16 * blocks` in place of `8 * blocks`.
    dot4_pairs_i8_blocks16,
    i16,
    code_group,
    unrolled 4
);

/// `sum x[k] * w[k]` for `k` in `from..to`, the plain way.
#[inline(always)]
fn tail<X: Copy + Into<i32>>(x: &[X], w: &[i8], from: usize, to: usize) -> i32 {
    let (x, w) = (
        x.get(from..to).unwrap_or(&[]),
        w.get(from..to).unwrap_or(&[]),
    );
    x.iter().zip(w).fold(0i32, |acc, (&a, &b)| {
        acc.wrapping_add(a.into() * i32::from(b))
    })
}

/// Four consecutive rows of `row_len` weights each, if `block` holds them.
#[inline(always)]
fn four_rows(block: &[i8], row_len: usize) -> Option<[&[i8]; 4]> {
    let rows = block.get(..4 * row_len)?;
    let (r0, rest) = rows.split_at(row_len);
    let (r1, rest) = rest.split_at(row_len);
    let (r2, r3) = rest.split_at(row_len);
    Some([r0, r1, r2, r3])
}

/// Dot products of pixels with the four rows of `block` (`4 * x.len()` weights, row-major).
#[inline(always)]
pub fn dot4_u8_i8(x: &[u8], block: &[i8]) -> [i32; 4] {
    let n = x.len();
    if n.is_multiple_of(8) && n > 0 && block.len() >= 4 * n {
        // SAFETY: `x` holds n = 8 * (n / 8) pixels and `block` four rows of n weights at stride n.
        unsafe { dot4_u8_i8_blocks(x.as_ptr(), block.as_ptr(), n, n / 8) }
    } else {
        dot4_u8_i8_uneven(x, block)
    }
}

/// [`dot4_u8_i8`] for rows whose length is not a multiple of 8: the assembly over the whole
/// blocks, then the rest one by one. Kept out of line so the common case stays small.
#[inline(never)]
#[cold]
fn dot4_u8_i8_uneven(x: &[u8], block: &[i8]) -> [i32; 4] {
    let n = x.len();
    let Some(rows) = four_rows(block, n) else {
        return [0; 4];
    };
    let blocks = n / 8;
    let mut acc = if blocks > 0 {
        // SAFETY: `x` holds n >= 8 * blocks pixels and `block` four rows of n weights at stride n.
        unsafe { dot4_u8_i8_blocks(x.as_ptr(), block.as_ptr(), n, blocks) }
    } else {
        [0; 4]
    };
    for (a, row) in acc.iter_mut().zip(rows) {
        *a = a.wrapping_add(tail(x, row, 8 * blocks, n));
    }
    acc
}

/// Reorders centred codes within each group of four to `c0, c2, c1, c3`, so that read as words
/// they give the half-word pairs `(c0, c2)` and `(c1, c3)` that match `SXTB16`'s split of four
/// weights. Only whole groups of four are reordered.
#[inline(always)]
pub fn pair_codes_for_smlad(centred: &mut [i16]) {
    for group in centred.as_chunks_mut::<4>().0 {
        group.swap(1, 2);
    }
}

/// Dot products of codes prepared by [`pair_codes_for_smlad`] (whose leftover elements, past
/// the last group of 4, are in natural order) with the four rows of `block`.
#[inline(always)]
pub fn dot4_paired_i16_i8(paired: &[i16], block: &[i8]) -> [i32; 4] {
    let n = paired.len();
    // Double-word reads need 4-byte alignment.
    let aligned = paired.as_ptr().align_offset(4) == 0;
    if n.is_multiple_of(16) && n > 0 && aligned && block.len() >= 4 * n {
        // SAFETY: `paired` is aligned and holds n = 16 * (n / 16) halves; `block` holds four rows
        // of n weights at stride n.
        unsafe { dot4_pairs_i8_blocks16(paired.as_ptr(), block.as_ptr(), n, n / 16) }
    } else if n.is_multiple_of(8) && n > 0 && aligned && block.len() >= 4 * n {
        // SAFETY: as above, with n = 8 * (n / 8).
        unsafe { dot4_pairs_i8_blocks(paired.as_ptr(), block.as_ptr(), n, n / 8) }
    } else {
        dot4_paired_uneven(paired, block)
    }
}

/// [`dot4_paired_i16_i8`] for other lengths or a misaligned scratch: the assembly over the
/// whole blocks where it can run, then the rest one by one, out of line.
#[inline(never)]
#[cold]
fn dot4_paired_uneven(paired: &[i16], block: &[i8]) -> [i32; 4] {
    let n = paired.len();
    let Some(rows) = four_rows(block, n) else {
        return [0; 4];
    };
    let blocks = n / 8;
    let aligned = paired.as_ptr().align_offset(4) == 0;
    let (mut acc, done) = if blocks > 0 && aligned {
        // SAFETY: `paired` is aligned and holds n >= 8 * blocks halves; `block` holds four rows
        // of n weights at stride n.
        let acc = unsafe { dot4_pairs_i8_blocks(paired.as_ptr(), block.as_ptr(), n, blocks) };
        (acc, 8 * blocks)
    } else {
        ([0; 4], 0)
    };
    for (a, row) in acc.iter_mut().zip(rows) {
        *a = a.wrapping_add(paired_tail(paired, row, done));
    }
    acc
}

/// One dot product of codes prepared by [`pair_codes_for_smlad`] with one row (the rows a layer
/// has left over after its groups of four), the plain way.
#[inline(always)]
pub fn dot_paired_i16_i8(paired: &[i16], row: &[i8]) -> i32 {
    paired_tail(paired, row, 0)
}

/// `sum c[k] * row[k]` for `k >= from`, reading the codes through the pairing order.
#[inline(always)]
fn paired_tail(paired: &[i16], row: &[i8], from: usize) -> i32 {
    let n = paired.len().min(row.len());
    // Whole groups of four are stored as c0, c2, c1, c3; the rest in natural order.
    let natural = |k: usize| -> usize {
        if k < paired.len() / 4 * 4 {
            k / 4 * 4 + [0, 2, 1, 3][k % 4]
        } else {
            k
        }
    };
    (from..n).fold(0i32, |acc, k| {
        let c = i32::from(paired.get(natural(k)).copied().unwrap_or(0));
        acc.wrapping_add(c * i32::from(row.get(k).copied().unwrap_or(0)))
    })
}

/// Writes `pixels` into `paired` as 16-bit values in [`pair_codes_for_smlad`] order, so that the
/// encoder can read four of them with one `LDRD` instead of splitting each word with two
/// `UXTB16` for every group of rows; returns the part of `paired` written (`pixels.len()`
/// values), or `None` if `paired` is too short.
#[inline(always)]
pub fn pair_pixels_for_smlad<'p>(
    pixels: &[u8],
    paired: &'p mut [core::mem::MaybeUninit<i16>],
) -> Option<&'p [i16]> {
    let n = pixels.len();
    let out = paired.get_mut(..n)?;
    let groups = n / 4;
    if groups > 0 {
        // SAFETY: `pixels` holds 4 * groups bytes and `out` 4 * groups halves (8 * groups bytes,
        // 2-byte aligned; `STRD`-free: two `STR` per group, which ARMv7-M allows unaligned). The
        // loop writes exactly those halves and reads exactly those bytes.
        unsafe {
            asm!(
                "2:",
                "ldr {v}, [{x}], #4",
                "uxtb16 {a}, {v}",
                "uxtb16 {b}, {v}, ror #8",
                "str {a}, [{d}], #4",
                "str {b}, [{d}], #4",
                "subs {n}, {n}, #1",
                "bne 2b",
                x = inout(reg) pixels.as_ptr() => _,
                d = inout(reg) out.as_mut_ptr() => _,
                n = inout(reg) groups => _,
                v = out(reg) _,
                a = out(reg) _,
                b = out(reg) _,
                options(nostack),
            );
        }
    }
    for (d, &p) in out.iter_mut().zip(pixels).skip(4 * groups) {
        d.write(i16::from(p));
    }
    // SAFETY: every one of the `n` elements was written above (the groups by the loop, the rest
    // by the `for`), and `MaybeUninit<i16>` has the layout of `i16`.
    Some(unsafe { &*(out as *const [core::mem::MaybeUninit<i16>] as *const [i16]) })
}

/// `sum a[k] * x[k]` of two `i16` slices over the shorter length, two products per `SMLAD`.
///
/// Words are loaded with `LDR`, which ARMv7-M allows at any 2-byte alignment (the entropy
/// predictor's rows start at any even offset), as CMSIS-NN's `arm_nn_read_q15x2` does.
pub fn dot_i16_i16(a: &[i16], x: &[i16]) -> i32 {
    let n = a.len().min(x.len());
    let blocks = n / 8;
    let mut acc = 0i32;
    if blocks > 0 {
        // SAFETY: both slices hold at least `8 * blocks` elements (16 * blocks bytes); the loop
        // reads exactly that many bytes behind each pointer, post-incrementing them, with `LDR`,
        // which tolerates 2-byte alignment on ARMv7E-M. It writes only the declared registers
        // and the flags.
        unsafe {
            asm!(
                "2:",
                "ldr {p}, [{a}], #4",
                "ldr {q}, [{x}], #4",
                "smlad {acc}, {p}, {q}, {acc}",
                "ldr {p}, [{a}], #4",
                "ldr {q}, [{x}], #4",
                "smlad {acc}, {p}, {q}, {acc}",
                "ldr {p}, [{a}], #4",
                "ldr {q}, [{x}], #4",
                "smlad {acc}, {p}, {q}, {acc}",
                "ldr {p}, [{a}], #4",
                "ldr {q}, [{x}], #4",
                "smlad {acc}, {p}, {q}, {acc}",
                "subs {n}, {n}, #1",
                "bne 2b",
                a = inout(reg) a.as_ptr() => _,
                x = inout(reg) x.as_ptr() => _,
                n = inout(reg) blocks => _,
                acc = inout(reg) acc,
                p = out(reg) _,
                q = out(reg) _,
                options(nostack, readonly),
            );
        }
    }
    let done = 8 * blocks;
    let (a_tail, x_tail) = (a.get(done..n).unwrap_or(&[]), x.get(done..n).unwrap_or(&[]));
    acc + a_tail
        .iter()
        .zip(x_tail)
        .map(|(&w, &v)| i32::from(w) * i32::from(v))
        .sum::<i32>()
}
