//! Cortex-M4/M7 (ARMv7E-M) integer dot products on the DSP extension's dual 16-bit
//! multiply-accumulate, `SMLAD`: two int8 weights and two inputs per instruction.
//!
//! Four int8 weights are loaded as one word and split with `SXTB16` into two registers of two
//! sign-extended halves: bytes (0, 2) and, rotated, bytes (1, 3). Pixels are split the same way
//! with `UXTB16`; centred codes are stored pre-paired in that order (see
//! [`pair_codes_for_smlad`]). Two rows share every input load. Integer sums are exact, so the
//! result equals the portable loop's whatever the order.

use core::arch::asm;

/// Two rows of `u8` pixels times int8 weights over the first `8 * blocks` elements.
///
/// # Safety
/// `x`, `w0` and `w1` must each hold at least `8 * blocks` elements, and `blocks > 0`.
#[inline(always)]
unsafe fn dot2_u8_i8_blocks(
    x: *const u8,
    w0: *const i8,
    w1: *const i8,
    blocks: usize,
) -> (i32, i32) {
    let (mut a0, mut a1) = (0i32, 0i32);
    // SAFETY: the caller guarantees 8 * blocks readable bytes behind each pointer; the loop reads
    // exactly that many, post-incrementing the pointers, and touches no other memory or flags
    // beyond those declared.
    unsafe {
        asm!(
            "2:",
            "ldr {v}, [{x}], #4",
            "uxtb16 {x02}, {v}",
            "uxtb16 {x13}, {v}, ror #8",
            "ldr {t}, [{w0}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a0}, {x02}, {v}, {a0}",
            "smlad {a0}, {x13}, {t}, {a0}",
            "ldr {t}, [{w1}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a1}, {x02}, {v}, {a1}",
            "smlad {a1}, {x13}, {t}, {a1}",
            "ldr {v}, [{x}], #4",
            "uxtb16 {x02}, {v}",
            "uxtb16 {x13}, {v}, ror #8",
            "ldr {t}, [{w0}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a0}, {x02}, {v}, {a0}",
            "smlad {a0}, {x13}, {t}, {a0}",
            "ldr {t}, [{w1}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a1}, {x02}, {v}, {a1}",
            "smlad {a1}, {x13}, {t}, {a1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            x = inout(reg) x => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            n = inout(reg) blocks => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            v = out(reg) _,
            t = out(reg) _,
            x02 = out(reg) _,
            x13 = out(reg) _,
            options(nostack, readonly),
        );
    }
    (a0, a1)
}

/// Two rows of paired centred codes times int8 weights over the first `8 * blocks` weights.
///
/// # Safety
/// `pairs` must hold `4 * blocks` words and `w0`, `w1` at least `8 * blocks` bytes; `blocks > 0`.
#[inline(always)]
unsafe fn dot2_pairs_i8_blocks(
    pairs: *const u32,
    w0: *const i8,
    w1: *const i8,
    blocks: usize,
) -> (i32, i32) {
    let (mut a0, mut a1) = (0i32, 0i32);
    // SAFETY: as in `dot2_u8_i8_blocks`, every read stays within the lengths the caller promises.
    unsafe {
        asm!(
            "2:",
            "ldr {p02}, [{p}], #4",
            "ldr {p13}, [{p}], #4",
            "ldr {t}, [{w0}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a0}, {p02}, {v}, {a0}",
            "smlad {a0}, {p13}, {t}, {a0}",
            "ldr {t}, [{w1}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a1}, {p02}, {v}, {a1}",
            "smlad {a1}, {p13}, {t}, {a1}",
            "ldr {p02}, [{p}], #4",
            "ldr {p13}, [{p}], #4",
            "ldr {t}, [{w0}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a0}, {p02}, {v}, {a0}",
            "smlad {a0}, {p13}, {t}, {a0}",
            "ldr {t}, [{w1}], #4",
            "sxtb16 {v}, {t}",
            "sxtb16 {t}, {t}, ror #8",
            "smlad {a1}, {p02}, {v}, {a1}",
            "smlad {a1}, {p13}, {t}, {a1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            p = inout(reg) pairs => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            n = inout(reg) blocks => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            v = out(reg) _,
            t = out(reg) _,
            p02 = out(reg) _,
            p13 = out(reg) _,
            options(nostack, readonly),
        );
    }
    (a0, a1)
}

/// `sum x[k] * w[k]` for `k >= from`, the plain way.
#[inline(always)]
fn tail<X: Copy + Into<i32>>(x: &[X], w: &[i8], from: usize) -> i32 {
    let (x, w) = (x.get(from..).unwrap_or(&[]), w.get(from..).unwrap_or(&[]));
    x.iter().zip(w).fold(0i32, |acc, (&a, &b)| {
        acc.wrapping_add(a.into() * i32::from(b))
    })
}

/// Two dot products of int8 rows with pixels.
#[inline(always)]
pub fn dot2_u8_i8(x: &[u8], w0: &[i8], w1: &[i8]) -> (i32, i32) {
    let blocks = x.len().min(w0.len()).min(w1.len()) / 8;
    let (mut a0, mut a1) = if blocks > 0 {
        // SAFETY: all three slices hold at least 8 * blocks elements.
        unsafe { dot2_u8_i8_blocks(x.as_ptr(), w0.as_ptr(), w1.as_ptr(), blocks) }
    } else {
        (0, 0)
    };
    a0 = a0.wrapping_add(tail(x, w0, 8 * blocks));
    a1 = a1.wrapping_add(tail(x, w1, 8 * blocks));
    (a0, a1)
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

/// Two dot products of int8 rows with codes prepared by [`pair_codes_for_smlad`] (whose
/// leftover elements, past the last group of 8, are in natural order).
#[inline(always)]
pub fn dot2_paired_i16_i8(paired: &[i16], w0: &[i8], w1: &[i8]) -> (i32, i32) {
    let n = paired.len().min(w0.len()).min(w1.len());
    let blocks = n / 8;
    // Word reads need 4-byte alignment; an odd scratch address takes the plain path.
    let aligned = paired.as_ptr().align_offset(4) == 0;
    let (mut a0, mut a1, done) = if blocks > 0 && aligned {
        // SAFETY: `paired` holds 8 * blocks halves = 4 * blocks words at an aligned address, and
        // both weight rows hold at least 8 * blocks bytes.
        let (a0, a1) = unsafe {
            dot2_pairs_i8_blocks(paired.as_ptr().cast(), w0.as_ptr(), w1.as_ptr(), blocks)
        };
        (a0, a1, 8 * blocks)
    } else {
        (0, 0, 0)
    };
    // Elements not covered above: undo the pairing order for whole groups of four.
    let natural = |k: usize| -> usize {
        if k < n / 4 * 4 {
            let base = k / 4 * 4;
            base + [0, 2, 1, 3][k % 4]
        } else {
            k
        }
    };
    for k in done..n {
        let c = i32::from(paired.get(natural(k)).copied().unwrap_or(0));
        a0 = a0.wrapping_add(c * i32::from(w0.get(k).copied().unwrap_or(0)));
        a1 = a1.wrapping_add(c * i32::from(w1.get(k).copied().unwrap_or(0)));
    }
    (a0, a1)
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
