//! Counting the work an inference call does.
//!
//! Under QEMU with `-icount shift=0` every instruction advances virtual time by 1 ns, and SysTick
//! (clocked from the core clock) ticks every 40 ns on mps2-an386 and every 62.5 ns on the micro:bit
//! model: ticks times that period is an exact instruction count. QEMU models no pipeline, so these
//! are instructions, never board time. On a real Cortex-M4 the DWT cycle counter gives cycles.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DWT, SYST};

/// What the counter counts.
pub const UNIT: &str = if cfg!(feature = "dwt") {
    "cycles"
} else {
    "instructions"
};

/// Virtual nanoseconds (= instructions under `-icount shift=0`) per SysTick tick, times 2.
const HALF_NS_PER_TICK: u32 = if cfg!(feature = "board-qemu-microbit") {
    125
} else {
    80
};

/// A free-running counter (owns SysTick so nothing else reconfigures it).
pub struct Counter {
    _syst: SYST,
}

impl Counter {
    /// Starts SysTick (24-bit, core clock) or the DWT cycle counter.
    #[allow(unused_variables)]
    pub fn new(mut syst: SYST, dcb: &mut cortex_m::peripheral::DCB, dwt: &mut DWT) -> Self {
        #[cfg(feature = "dwt")]
        {
            dcb.enable_trace();
            dwt.enable_cycle_counter();
        }
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(0x00FF_FFFF);
        syst.clear_current();
        syst.enable_counter();
        Counter { _syst: syst }
    }

    #[cfg(feature = "dwt")]
    fn now(&self) -> u32 {
        DWT::cycle_count()
    }

    #[cfg(not(feature = "dwt"))]
    fn now(&self) -> u32 {
        SYST::get_current()
    }

    /// Runs `f` and returns how many units it took.
    #[inline(never)]
    pub fn measure(&mut self, f: impl FnOnce()) -> u32 {
        let start = self.now();
        f();
        let end = self.now();
        if cfg!(feature = "dwt") {
            end.wrapping_sub(start)
        } else {
            // SysTick counts down and wraps at 2^24 ticks (0.67 s of virtual time at 25 MHz).
            let ticks = start.wrapping_sub(end) & 0x00FF_FFFF;
            ticks * HALF_NS_PER_TICK / 2
        }
    }
}
