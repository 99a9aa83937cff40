//! Picks the hand-written Cortex-M kernels by target name (`cfg(target_feature = "dsp")` and the
//! FPU features are not available on stable Rust):
//! - `ae_core_dsp`: ARMv7E-M (Cortex-M4, M7) and ARMv8-M Mainline (M33, M55), which have the DSP
//!   extension's dual 16-bit multiply-accumulate;
//! - `ae_core_fpu`: those targets' hard-float builds (`eabihf`), with a single-precision FPU;
//! - `ae_core_v6m`: ARMv6-M (Cortex-M0, M0+, M1), Thumb-1 only, no multiply-accumulate;
//! - `ae_core_avx2`, `ae_core_avx512`: the x86-64 kernels for AVX2 and for AVX-512 with VNNI,
//!   compiled when the `std` feature detects the CPU at run time or the target features are
//!   enabled at compile time.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(ae_core_dsp)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_fpu)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_v6m)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_avx2)");
    println!("cargo::rustc-check-cfg=cfg(ae_core_avx512)");
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
    // x86-64 host kernels: compiled when the `std` feature can detect the CPU at run time, or
    // when the target features are known at compile time.
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    let std = std::env::var_os("CARGO_FEATURE_STD").is_some();
    if arch == "x86_64" {
        if std || has("avx2") {
            println!("cargo::rustc-cfg=ae_core_avx2");
        }
        if std || (has("avx512f") && has("avx512bw") && has("avx512vnni")) {
            println!("cargo::rustc-cfg=ae_core_avx512");
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
}
