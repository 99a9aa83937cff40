//! Enables the Cortex-M DSP kernels on targets that have the DSP extension (ARMv7E-M: Cortex-M4
//! and M7; ARMv8-M Mainline with DSP: M33, M55). `cfg(target_feature = "dsp")` is not available
//! on stable Rust, so the target name decides.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(ae_core_dsp)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") || target.starts_with("thumbv8m.main") {
        println!("cargo::rustc-cfg=ae_core_dsp");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
