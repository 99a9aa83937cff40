//! Runs hot element-wise loops with AVX2 when the CPU has it.
//!
//! The loops are written once as plain Rust; [`multiversion!`](crate::multiversion) compiles a
//! second copy with AVX2 enabled (no FMA, so every operation rounds exactly as in the portable
//! copy) and picks it at run time. Results are bit-identical either way; only speed changes.
//!
//! This is the only `unsafe` in the trainer (which is otherwise `#![deny(unsafe_code)]`): the
//! macro allows it on the one call it generates, right after the CPU check that makes it sound.

/// Defines `pub fn $name(...)` that dispatches to an AVX2 copy of `$body` when available.
#[macro_export]
#[doc(hidden)]
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[inline]
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? { portable($($arg),*) }
                if std::is_x86_feature_detected!("avx2") {
                    // The trainer's one exception to `#![deny(unsafe_code)]`: calling a
                    // `#[target_feature]` function is unsafe, and sound only on a CPU that has
                    // the feature.
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU was just checked to support AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            portable($($arg),*)
        }
    };
}
