//! Picks the hand-written Cortex-M kernels by target name (`cfg(target_feature = "dsp")` and the
//! FPU features are not available on stable Rust):
//! - `ae_core_dsp`: ARMv7E-M (Cortex-M4, M7) and ARMv8-M Mainline (M33, M55), which have the DSP
//!   extension's dual 16-bit multiply-accumulate;
//! - `ae_core_fpu`: those targets' hard-float builds (`eabihf`), with a single-precision FPU;
//! - `ae_core_v6m`: ARMv6-M (Cortex-M0, M0+, M1), Thumb-1 only, no multiply-accumulate.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(ae_core_dsp)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_fpu)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_v6m)");
    let target = std::env::var("TARGET").unwrap_or_default();
    let dsp = target.starts_with("thumbv7em") || target.starts_with("thumbv8m.main");
    if dsp {
        println!("cargo::rustc-cfg=ae_core_dsp");
        if target.ends_with("eabihf") {
            println!("cargo::rustc-cfg=ae_core_fpu");
        }
    }
    if target.starts_with("thumbv6m") {
        println!("cargo::rustc-cfg=ae_core_v6m");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
