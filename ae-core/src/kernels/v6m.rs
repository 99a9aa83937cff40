//! Cortex-M0/M0+ (ARMv6-M) integer dot products, four output rows per pass.
//!
//! ARMv6-M has no multiply-accumulate and no load with sign extension and an immediate offset,
//! so one MAC costs at least a load (`LDRSB`), a multiply (`MULS`) and an add. What can be shared
//! is everything else: each input is loaded once for four rows, and one index register walks the
//! input and all four weight rows (register-offset loads), so the loop adds one instruction per
//! input and one branch per four inputs: 14 instructions per 4 MACs in the encoder, 15 in the
//! decoder (which centres each code byte on the fly with one `ADD`).
//!
//! Thumb-1 arithmetic and loads only reach the eight low registers, and Rust's inline assembly
//! hands out at most seven of them (r7 is the frame pointer). The loops need eight, so they save
//! r7 on the stack, use it as the product register and restore it before the block ends; the
//! four accumulators live in the high registers r8-r11, which `ADD` can reach. Integer sums are
//! exact, so the results equal the portable loops' whatever the order.

use core::arch::asm;

/// One encoder step: pixel `k` times the four rows' weights `k`, then `k += 1`.
macro_rules! encoder_step {
    () => {
        concat!(
            "ldrb {v}, [{x}, {k}]\n",
            "ldrsb r7, [{p0}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r8, r7\n",
            "ldrsb r7, [{p1}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r9, r7\n",
            "ldrsb r7, [{p2}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r10, r7\n",
            "ldrsb r7, [{p3}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r11, r7\n",
            "adds {k}, #1\n",
        )
    };
}

/// One decoder step: code byte `k` minus the zero point (r12 holds its negation) times the four
/// rows' weights `k`, then `k += 1`.
macro_rules! decoder_step {
    () => {
        concat!(
            "ldrb {v}, [{q}, {k}]\n",
            "add {v}, r12\n",
            "ldrsb r7, [{p0}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r8, r7\n",
            "ldrsb r7, [{p1}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r9, r7\n",
            "ldrsb r7, [{p2}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r10, r7\n",
            "ldrsb r7, [{p3}, {k}]\n",
            "muls r7, {v}, r7\n",
            "add r11, r7\n",
            "adds {k}, #1\n",
        )
    };
}

/// Elements the assembly loops take per pass (one branch per pass).
const UNROLL: usize = 4;

/// Four rows of unsigned pixels times int8 weights over the first `n` elements.
///
/// # Safety
/// `x` and every row pointer must have `n` readable elements; `n` is a non-zero multiple of
/// [`UNROLL`] below `2^31`.
#[inline(always)]
unsafe fn dot4_u8_i8_asm(x: *const u8, rows: [*const i8; 4], n: usize) -> [i32; 4] {
    // The loop indexes every pointer from its end with a negative index that counts up to zero.
    // SAFETY: `n` elements are readable behind each pointer, so each end is within (one past) its
    // allocation.
    let (x, rows) = unsafe { (x.add(n), rows.map(|r| r.add(n))) };
    let k = (n as isize).wrapping_neg();
    let (a0, a1, a2, a3): (i32, i32, i32, i32);
    // SAFETY: the loop reads `x[-n..0]` and `row[-n..0]` relative to the end pointers, which the
    // caller guarantees readable, and stops when `k` reaches zero (`n` is a non-zero multiple of
    // the unrolling, so it does). r7, never an operand, is saved and restored around the block
    // (4 bytes of stack); r8-r11 and the flags are declared clobbered.
    unsafe {
        asm!(
            "push {{r7}}",
            "movs {v}, #0",
            "mov r8, {v}",
            "mov r9, {v}",
            "mov r10, {v}",
            "mov r11, {v}",
            "2:",
            encoder_step!(),
            encoder_step!(),
            encoder_step!(),
            encoder_step!(),
            "bne 2b",
            "mov {p0}, r8",
            "mov {p1}, r9",
            "mov {p2}, r10",
            "mov {p3}, r11",
            "pop {{r7}}",
            k = inout(reg) k => _,
            x = in(reg) x,
            p0 = inout(reg) rows[0] => a0,
            p1 = inout(reg) rows[1] => a1,
            p2 = inout(reg) rows[2] => a2,
            p3 = inout(reg) rows[3] => a3,
            v = out(reg) _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            options(readonly),
        );
    }
    [a0, a1, a2, a3]
}

/// Four rows of centred code bytes (`code[k] - zero_point`) times int8 weights over the first
/// `n` elements.
///
/// # Safety
/// As [`dot4_u8_i8_asm`], with `code` in place of `x`.
#[inline(always)]
unsafe fn dot4_code_i8_asm(
    code: *const u8,
    zero_point: u8,
    rows: [*const i8; 4],
    n: usize,
) -> [i32; 4] {
    // SAFETY: as in `dot4_u8_i8_asm`.
    let (code, rows) = unsafe { (code.add(n), rows.map(|r| r.add(n))) };
    // Six low registers are all taken by pointers and the index, so the negated zero point and
    // the index start out in memory and are loaded inside the block.
    let start: [isize; 2] = [-(zero_point as isize), (n as isize).wrapping_neg()];
    let (a0, a1, a2, a3): (i32, i32, i32, i32);
    // SAFETY: as in `dot4_u8_i8_asm`; the block also reads the two words of `start`, and
    // clobbers r12.
    unsafe {
        asm!(
            "push {{r7}}",
            "ldr {v}, [{k}]",
            "mov r12, {v}",
            "ldr {k}, [{k}, #4]",
            "movs {v}, #0",
            "mov r8, {v}",
            "mov r9, {v}",
            "mov r10, {v}",
            "mov r11, {v}",
            "2:",
            decoder_step!(),
            decoder_step!(),
            decoder_step!(),
            decoder_step!(),
            "bne 2b",
            "mov {p0}, r8",
            "mov {p1}, r9",
            "mov {p2}, r10",
            "mov {p3}, r11",
            "pop {{r7}}",
            k = inout(reg) start.as_ptr() => _,
            q = in(reg) code,
            p0 = inout(reg) rows[0] => a0,
            p1 = inout(reg) rows[1] => a1,
            p2 = inout(reg) rows[2] => a2,
            p3 = inout(reg) rows[3] => a3,
            v = out(reg) _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            options(readonly),
        );
    }
    [a0, a1, a2, a3]
}

/// Length all four rows and the input share, and the part of it the assembly loop takes.
#[inline(always)]
fn lengths(x_len: usize, rows: &[&[i8]; 4]) -> (usize, usize) {
    let n = rows.iter().fold(x_len, |n, r| n.min(r.len()));
    // Below 2^31 the negative start index is exact; longer rows are not a real model's.
    let main = if n < (1 << 31) {
        n / UNROLL * UNROLL
    } else {
        0
    };
    (n, main)
}

/// Four dot products of int8 rows with unsigned pixels, over the shortest length.
#[inline(always)]
pub fn dot4_u8_i8(x: &[u8], rows: [&[i8]; 4]) -> [i32; 4] {
    let (n, main) = lengths(x.len(), &rows);
    let mut acc = if main > 0 {
        // SAFETY: `x` and every row hold at least `n >= main` elements; `main` is a non-zero
        // multiple of UNROLL below 2^31.
        unsafe { dot4_u8_i8_asm(x.as_ptr(), rows.map(<[i8]>::as_ptr), main) }
    } else {
        [0; 4]
    };
    for (a, row) in acc.iter_mut().zip(rows) {
        for (&p, &w) in x
            .get(main..n)
            .unwrap_or(&[])
            .iter()
            .zip(row.get(main..n).unwrap_or(&[]))
        {
            *a = a.wrapping_add(i32::from(p) * i32::from(w));
        }
    }
    acc
}

/// Four dot products of int8 rows with code bytes centred on `zero_point`, over the shortest
/// length.
#[inline(always)]
pub fn dot4_code_i8(code: &[u8], zero_point: u8, rows: [&[i8]; 4]) -> [i32; 4] {
    let (n, main) = lengths(code.len(), &rows);
    let mut acc = if main > 0 {
        // SAFETY: as in `dot4_u8_i8`.
        unsafe { dot4_code_i8_asm(code.as_ptr(), zero_point, rows.map(<[i8]>::as_ptr), main) }
    } else {
        [0; 4]
    };
    let centred = |q: u8| i32::from(q) - i32::from(zero_point);
    for (a, row) in acc.iter_mut().zip(rows) {
        for (&q, &w) in code
            .get(main..n)
            .unwrap_or(&[])
            .iter()
            .zip(row.get(main..n).unwrap_or(&[]))
        {
            *a = a.wrapping_add(centred(q) * i32::from(w));
        }
    }
    acc
}
