//! Stack high-water mark: paint the free stack with a pattern, run, see how much was overwritten.

/// Pattern written into unused stack.
const PAINT: u32 = 0xDEAD_BEEF;
/// Words left unpainted below the current stack pointer (this function's own frame and margin).
const MARGIN_WORDS: usize = 16;

extern "C" {
    /// End of `.bss` / start of the free RAM below the stack (cortex-m-rt's `link.x`).
    static mut __sheap: u32;
}

/// Runs `f` and returns the most stack it used below the caller's stack pointer, in bytes.
#[inline(never)]
pub fn measure(f: impl FnOnce()) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = core::ptr::addr_of_mut!(__sheap) as usize;
    let top = sp - MARGIN_WORDS * 4;
    let words = (top - bottom) / 4;
    let base = bottom as *mut u32;
    for i in 0..words {
        // SAFETY: [bottom, top) is free RAM between the statics and the live stack; nothing
        // else uses it while this runs (no heap, no interrupts touching it).
        unsafe { base.add(i).write_volatile(PAINT) };
    }
    f();
    let mut lowest_touched = words;
    for i in 0..words {
        // SAFETY: as above, reading back the painted region.
        if unsafe { base.add(i).read_volatile() } != PAINT {
            lowest_touched = i;
            break;
        }
    }
    (words - lowest_touched) * 4 + MARGIN_WORDS * 4
}
