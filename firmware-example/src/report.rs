//! Output — over semihosting (QEMU prints it on the host console), or over defmt/RTT on real boards
//! (`defmt` feature; probe-rs decodes it) — and the panic handlers: one that reports, and one
//! (`panic-check`) that makes any reachable panic a link error.

#[cfg(not(feature = "panic-check"))]
pub use printing::*;

#[cfg(feature = "defmt")]
use defmt_rtt as _;
#[cfg(all(feature = "defmt", not(feature = "panic-check")))]
use panic_probe as _;

#[cfg(not(feature = "panic-check"))]
mod printing {
    use core::fmt::Write;

    use heapless::String;

    use crate::{counter, MACS};

    /// Sends one line of text on the board's channel.
    fn emit(text: &str) {
        #[cfg(feature = "defmt")]
        defmt::println!("{=str}", text);
        #[cfg(not(feature = "defmt"))]
        cortex_m_semihosting::hprintln!("{}", text);
    }

    /// One line of text (at most 512 bytes; longer lines are cut).
    pub fn line(args: core::fmt::Arguments<'_>) {
        let mut text: String<512> = String::new();
        let _ = text.write_fmt(args);
        emit(&text);
    }

    /// PSNR of a reconstruction in dB (255 peak), capped at 99.
    pub fn psnr(original: &[u8], reconstruction: &[u8]) -> f32 {
        let se: u32 = original
            .iter()
            .zip(reconstruction)
            .map(|(&a, &b)| u32::from(a.abs_diff(b)).pow(2))
            .sum();
        if se == 0 {
            return 99.0;
        }
        let mse = se as f32 / original.len() as f32;
        10.0 * libm::log10f(255.0 * 255.0 / mse)
    }

    /// The report line of one digit.
    pub fn digit(n: usize, path: &str, code: &[u8], psnr: f32, enc: u32, dec: u32, matches: bool) {
        let mut hex: String<128> = String::new();
        for b in code {
            let _ = write!(hex, "{b:02x}");
        }
        let per_mac = (enc + dec) as f32 / MACS as f32;
        let verdict = if matches {
            "matches host"
        } else {
            "DIFFERS from host"
        };
        line(format_args!(
            "digit {n} {path}: code {hex} | PSNR {psnr:.2} dB | encode {enc} + decode {dec} {} ({per_mac:.2}/MAC) | {verdict}",
            counter::UNIT
        ));
    }
}

/// Ends the program with success or failure: semihosting exit under QEMU; on a probe-rs board,
/// a breakpoint (probe-rs stops with success) or a hard fault (probe-rs reports failure).
pub fn exit(ok: bool) -> ! {
    #[cfg(feature = "defmt")]
    {
        if ok {
            loop {
                cortex_m::asm::bkpt();
            }
        }
        panic_probe::hard_fault()
    }
    #[cfg(not(feature = "defmt"))]
    {
        use cortex_m_semihosting::debug;
        debug::exit(if ok {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        #[allow(clippy::empty_loop)]
        loop {}
    }
}

#[cfg(not(any(feature = "panic-check", feature = "defmt")))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m_semihosting::hprintln!("panic: {}", info);
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[cfg(feature = "panic-check")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        /// Deliberately undefined: referencing it fails the link.
        fn tinyae_a_panic_is_reachable() -> !;
    }
    // SAFETY: never runs; the build fails at link time if this is reachable.
    unsafe { tinyae_a_panic_is_reachable() }
}
