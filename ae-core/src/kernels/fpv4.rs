//! Cortex-M4F/M7 (FPv4-SP and later) float dot product in the lane order of
//! [`dot_f32_rows`](super::dot_f32_rows).
//!
//! The portable dot product keeps [`LANES`](super::LANES) = 16 partial sums; on a Cortex-M4 that
//! is all its 32 single-precision registers for one row, and LLVM, given four rows at once,
//! spills them to the stack (7 instructions per MAC). Here the sixteen sums live in s16-s31 for
//! the whole row, inputs and weights stream through s0-s15 eight at a time with `VLDMIA` (one
//! instruction per eight values), and `VMLA.F32` does each multiply-add. `VMLA` is not fused: it
//! rounds the product, then the sum, exactly like `acc += x * w` (ARMv7-M ARM, A7.7.230), so every
//! lane gets the same bits as the portable code, and the lanes are then added in the same pairwise
//! order. 22 instructions per 16 MACs.

use core::arch::asm;

/// Sixteen zeros, loaded into the accumulators with one instruction.
static ZEROS: [f32; 16] = [0.0; 16];

/// The lane sums of `x[..16 * chunks]` times `w[..16 * chunks]`, reduced pairwise
/// (`acc[l] += acc[l + 8]`, then `+ 4`, `+ 2`, `+ 1`), as [`super::dot_f32_rows`] forms them.
///
/// # Safety
/// `x` and `w` must be 4-byte aligned and hold `16 * chunks` floats; `chunks > 0`.
#[inline(always)]
unsafe fn lanes16(x: *const f32, w: *const f32, chunks: usize) -> f32 {
    let sum: u32;
    // SAFETY: the loop reads `16 * chunks` floats behind each pointer (the caller's promise),
    // post-incrementing them, and stops when `chunks` reaches zero (it is non-zero). It writes
    // only the declared registers (s0-s31 and `sum`, which receives s16 as bits because stable Rust
    // cannot name a float register operand here; the compiler saves the callee-saved s16-s31 around it)
    // and the flags.
    unsafe {
        asm!(
            "vldmia {z}, {{s16-s31}}",
            "2:",
            "vldmia {x}!, {{s0-s7}}",
            "vldmia {w}!, {{s8-s15}}",
            "vmla.f32 s16, s0, s8",
            "vmla.f32 s17, s1, s9",
            "vmla.f32 s18, s2, s10",
            "vmla.f32 s19, s3, s11",
            "vmla.f32 s20, s4, s12",
            "vmla.f32 s21, s5, s13",
            "vmla.f32 s22, s6, s14",
            "vmla.f32 s23, s7, s15",
            "vldmia {x}!, {{s0-s7}}",
            "vldmia {w}!, {{s8-s15}}",
            "vmla.f32 s24, s0, s8",
            "vmla.f32 s25, s1, s9",
            "vmla.f32 s26, s2, s10",
            "vmla.f32 s27, s3, s11",
            "vmla.f32 s28, s4, s12",
            "vmla.f32 s29, s5, s13",
            "vmla.f32 s30, s6, s14",
            "vmla.f32 s31, s7, s15",
            "subs {n}, {n}, #1",
            "bne 2b",
            "vadd.f32 s16, s16, s24",
            "vadd.f32 s17, s17, s25",
            "vadd.f32 s18, s18, s26",
            "vadd.f32 s19, s19, s27",
            "vadd.f32 s20, s20, s28",
            "vadd.f32 s21, s21, s29",
            "vadd.f32 s22, s22, s30",
            "vadd.f32 s23, s23, s31",
            "vadd.f32 s16, s16, s20",
            "vadd.f32 s17, s17, s21",
            "vadd.f32 s18, s18, s22",
            "vadd.f32 s19, s19, s23",
            "vadd.f32 s16, s16, s18",
            "vadd.f32 s17, s17, s19",
            "vadd.f32 s16, s16, s17",
            "vmov {sum}, s16",
            sum = lateout(reg) sum,
            z = in(reg) ZEROS.as_ptr(),
            x = inout(reg) x => _,
            w = inout(reg) w => _,
            n = inout(reg) chunks => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(readonly, nostack),
        );
    }
    f32::from_bits(sum)
}

/// `sum x[k] * w[k]` over the shorter slice, bit for bit as `dot_f32_rows([w], x)[0]`.
#[inline(always)]
pub fn dot_f32(x: &[f32], w: &[f32]) -> f32 {
    let n = x.len().min(w.len());
    let chunks = n / super::LANES;
    let lanes = if chunks > 0 {
        // SAFETY: both slices hold n >= 16 * chunks floats, and `&[f32]` is 4-byte aligned.
        unsafe { lanes16(x.as_ptr(), w.as_ptr(), chunks) }
    } else {
        0.0
    };
    let done = chunks * super::LANES;
    let (x_tail, w_tail) = (x.get(done..n).unwrap_or(&[]), w.get(done..n).unwrap_or(&[]));
    let mut tail = 0.0f32;
    for (&a, &b) in x_tail.iter().zip(w_tail) {
        tail += a * b;
    }
    lanes + tail
}
