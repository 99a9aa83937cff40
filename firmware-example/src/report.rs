//! Output over semihosting (the host's console under QEMU or a debug probe), and the panic
//! handlers: one that reports, and one (`panic-check`) that makes any reachable panic a link error.

#[cfg(not(feature = "panic-check"))]
pub use printing::*;

#[cfg(not(feature = "panic-check"))]
mod printing {
    use core::fmt::Write;

    use cortex_m_semihosting::hprintln;
    use heapless::String;

    use crate::{counter, MACS};

    /// One line of text.
    pub fn line(args: core::fmt::Arguments<'_>) {
        hprintln!("{}", args);
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
        hprintln!(
            "digit {} {}: code {} | PSNR {:.2} dB | encode {} + decode {} {} ({:.2}/MAC) | {}",
            n,
            path,
            hex,
            psnr,
            enc,
            dec,
            counter::UNIT,
            per_mac,
            if matches {
                "matches host"
            } else {
                "DIFFERS from host"
            }
        );
    }
}

#[cfg(not(feature = "panic-check"))]
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
