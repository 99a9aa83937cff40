//! Single-image inference latency of ae-core on the host, one thread, 784 -> 64 -> 784.
//!
//! Run with `cargo bench --bench inference`. Groups: the float path, the int8 path, a plain
//! triple-loop float baseline for contrast, a 1,000-image batch for throughput, and the memory
//! floor: one read of each model file, the least any single-image inference has to do (the
//! weights do not fit the L1 cache, so every image streams them from L2).

use std::hint::black_box;

use ae_core::nalgebra::SVector;
use ae_core::{Mnist, MnistInt8, MNIST_LATENT as L, MNIST_PIXELS as N};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use trainer::data::ImageSet;
use trainer::model::{ModelBytes, Params};

/// A random (Glorot) float model and its int8 export calibrated on random images; the weights'
/// values do not change the work done.
fn models() -> (ModelBytes, ModelBytes, Vec<[u8; N]>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let params = Params::glorot(N, L, 0.3, &mut rng);
    let float = ModelBytes::new(&params.to_model_file().unwrap());
    let images: Vec<[u8; N]> = (0..1000)
        .map(|_| std::array::from_fn(|_| rng.random()))
        .collect();
    let calib = ImageSet::new(images.iter().flatten().copied().collect(), 28, 28).unwrap();
    let ae_core::format::ModelRef::Float(f) = float.parse("bench".as_ref()).unwrap() else {
        unreachable!()
    };
    let int8 = ModelBytes::new(&trainer::quantize::quantize(&f, &calib, false).unwrap());
    (float, int8, images)
}

/// The textbook loops over the same weights, with no attention to vectorization.
#[allow(clippy::needless_range_loop)]
fn naive_float(m: &Mnist<'_>, x: &SVector<f32, N>, out: &mut SVector<f32, N>) {
    let r = m.untyped();
    let (ew, eb) = (r.encoder_weights(), r.encoder_bias());
    let (dw, db) = (r.decoder_weights(), r.decoder_bias());
    let mut h = [0.0f32; L];
    for j in 0..L {
        let mut z = eb[j];
        for i in 0..N {
            z += ew[j * N + i] * x[i];
        }
        h[j] = if z >= 0.0 { z } else { 0.3 * z };
    }
    for i in 0..N {
        let mut z = db[i];
        for j in 0..L {
            z += dw[i * L + j] * h[j];
        }
        out[i] = 1.0 / (1.0 + (-z).exp());
    }
}

/// Touches every byte once: wrapping sums of 8-byte words in eight independent lanes, which the
/// compiler turns into vector loads and adds (so it measures the memory, not an add chain).
fn read_all(bytes: &[u8]) -> u64 {
    let (lines, _) = bytes.as_chunks::<64>();
    let mut acc = [0u64; 8];
    for line in lines {
        for (a, w) in acc.iter_mut().zip(line.as_chunks::<8>().0) {
            *a = a.wrapping_add(u64::from_le_bytes(*w));
        }
    }
    acc.iter().fold(0, |s, a| s.wrapping_add(*a))
}

/// Twelve independent chains, six multiplying by `m` and six adding it, `rounds` times each: the
/// float ceiling of a core's vector units with no memory traffic, in whatever vector `V` the
/// caller's `mul` and `add` take.
#[inline(always)]
fn float_chains<V: Copy>(
    rounds: usize,
    start: V,
    m: V,
    mul: impl Fn(V, V) -> V,
    add: impl Fn(V, V) -> V,
) -> [V; 12] {
    let mut acc = [start; 12];
    for _ in 0..rounds {
        for a in &mut acc[..6] {
            *a = mul(*a, m);
        }
        for a in &mut acc[6..] {
            *a = add(*a, m);
        }
    }
    acc
}

/// The float arithmetic's ceiling on this core: 6,272 independent 512-bit multiplies and 6,272
/// adds, the vector operations one image's encode+decode needs (100,352 MACs in 16 lanes, as
/// multiply then add), in twelve independent chains with no memory traffic (the loop runs 6,276
/// of each: 1,046 rounds of six). `None` without AVX-512.
#[cfg(target_arch = "x86_64")]
fn float_peak() -> Option<impl Fn() -> f32> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f")]
    fn run() -> f32 {
        let acc = float_chains(
            1046,
            _mm512_set1_ps(black_box(1.0)),
            _mm512_set1_ps(black_box(1.000_000_1)),
            |a, b| _mm512_mul_ps(a, b),
            |a, b| _mm512_add_ps(a, b),
        );
        acc.iter().fold(0.0, |s, &a| s + _mm512_reduce_add_ps(a))
    }
    // SAFETY: `run` is called only when the CPU has AVX-512F, checked here.
    std::arch::is_x86_feature_detected!("avx512f").then_some(|| unsafe { run() })
}

/// [`float_peak`] on 256-bit vectors (AVX2): the 12,544 multiplies and 12,544 adds that the
/// AVX2 kernels of a CPU without AVX-512 (AMD Zen 3) run for one image (the loop runs 12,552 of
/// each: 2,092 rounds of six). `None` without AVX2.
#[cfg(target_arch = "x86_64")]
fn float_peak_avx2() -> Option<impl Fn() -> f32> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx2")]
    fn run() -> f32 {
        let acc = float_chains(
            2092,
            _mm256_set1_ps(black_box(1.0)),
            _mm256_set1_ps(black_box(1.000_000_1)),
            |a, b| _mm256_mul_ps(a, b),
            |a, b| _mm256_add_ps(a, b),
        );
        let mut lanes = [0.0f32; 8];
        let sum = acc
            .iter()
            .fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
        // SAFETY: `lanes` holds eight floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    }
    // SAFETY: `run` is called only when the CPU has AVX2, checked here.
    std::arch::is_x86_feature_detected!("avx2").then_some(|| unsafe { run() })
}

/// The int8 arithmetic's ceiling: the 1,568 `vpdpbusd` (64 multiply-adds each) that one image's
/// encode+decode needs (100,352 MACs), in twelve independent chains with no memory traffic.
/// `None` without AVX-512 VNNI.
#[cfg(target_arch = "x86_64")]
fn int8_peak() -> Option<impl Fn() -> i32> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn run() -> i32 {
        let a = _mm512_set1_epi8(black_box(3));
        let b = _mm512_set1_epi8(black_box(-5));
        let mut acc = [_mm512_set1_epi32(black_box(1)); 12];
        // 1,572: 131 rounds of twelve.
        for _ in 0..131 {
            for s in &mut acc {
                *s = _mm512_dpbusd_epi32(*s, a, b);
            }
        }
        acc.iter()
            .fold(0i32, |s, &v| s.wrapping_add(_mm512_reduce_add_epi32(v)))
    }
    // SAFETY: `run` is called only when the CPU has AVX-512F and VNNI, checked here.
    (std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vnni"))
    .then_some(|| unsafe { run() })
}

fn bench(c: &mut Criterion) {
    let (float_bytes, int8_bytes, images) = models();
    let float = Mnist::from_bytes(float_bytes.bytes()).unwrap();
    let int8 = MnistInt8::from_bytes(int8_bytes.bytes()).unwrap();
    let x = SVector::<f32, N>::from_fn(|i, _| ae_core::pixels::to_unit(images[0][i]));
    let mut h = float.encode(&x);
    let mut y = SVector::<f32, N>::zeros();

    let mut g = c.benchmark_group("float");
    g.bench_function("encode", |b| {
        b.iter(|| float.encode_to(black_box(&x), &mut h))
    });
    g.bench_function("decode", |b| {
        b.iter(|| float.decode_to(black_box(&h), &mut y))
    });
    g.bench_function("encode+decode", |b| {
        b.iter(|| {
            float.encode_to(black_box(&x), &mut h);
            float.decode_to(&h, &mut y);
        })
    });
    g.finish();

    let mut code = [0u8; L];
    let mut pixels = [0u8; N];
    int8.encode(&images[0], &mut code);
    let mut g = c.benchmark_group("int8");
    g.bench_function("encode", |b| {
        b.iter(|| int8.encode(black_box(&images[0]), &mut code))
    });
    g.bench_function("decode", |b| {
        b.iter(|| int8.decode(black_box(&code), &mut pixels))
    });
    g.bench_function("encode+decode", |b| {
        b.iter(|| {
            int8.encode(black_box(&images[0]), &mut code);
            int8.decode(&code, &mut pixels);
        })
    });
    g.finish();

    // The models prepared for this CPU (aligned weights, instruction set chosen once): what a
    // host decoding boards' codes or compressing a data set uses.
    let pf = ae_core::prepared::PreparedFloat::new(*float.untyped());
    let pi = ae_core::prepared::PreparedInt8::new(*int8.untyped());
    eprintln!(
        "instruction set: {}",
        ae_core::kernels::Isa::detect().name()
    );
    let mut g = c.benchmark_group("prepared");
    g.bench_function("float encode+decode", |b| {
        b.iter(|| {
            pf.encode(black_box(x.as_slice()), h.as_mut_slice())
                .unwrap();
            pf.decode(h.as_slice(), y.as_mut_slice()).unwrap();
        })
    });
    g.bench_function("int8 encode", |b| {
        b.iter(|| pi.encode(black_box(&images[0]), &mut code).unwrap())
    });
    g.bench_function("int8 decode", |b| {
        b.iter(|| pi.decode(black_box(&code), &mut pixels).unwrap())
    });
    g.bench_function("float encode", |b| {
        b.iter(|| {
            pf.encode(black_box(x.as_slice()), h.as_mut_slice())
                .unwrap()
        })
    });
    g.bench_function("float decode", |b| {
        b.iter(|| {
            pf.decode(black_box(h.as_slice()), y.as_mut_slice())
                .unwrap()
        })
    });
    g.bench_function("int8 encode+decode", |b| {
        b.iter(|| {
            pi.encode(black_box(&images[0]), &mut code).unwrap();
            pi.decode(&code, &mut pixels).unwrap();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("prepared-batch");
    g.throughput(Throughput::Elements(images.len() as u64));
    let flat: Vec<u8> = images.iter().flatten().copied().collect();
    let mut codes = vec![0u8; images.len() * L];
    let mut back = vec![0u8; images.len() * N];
    g.bench_function("int8 encode+decode x1000", |b| {
        b.iter(|| {
            pi.encode_batch(images.len(), black_box(&flat), &mut codes)
                .unwrap();
            pi.decode_batch(images.len(), &codes, &mut back).unwrap();
        })
    });
    let xs: Vec<f32> = flat.iter().map(|&p| ae_core::pixels::to_unit(p)).collect();
    let mut hs = vec![0.0f32; images.len() * L];
    let mut ys = vec![0.0f32; images.len() * N];
    g.bench_function("float encode x1000", |b| {
        b.iter(|| {
            pf.encode_batch(images.len(), black_box(&xs), &mut hs)
                .unwrap()
        })
    });
    g.bench_function("float decode x1000", |b| {
        b.iter(|| {
            pf.decode_batch(images.len(), black_box(&hs), &mut ys)
                .unwrap()
        })
    });
    g.bench_function("float encode+decode x1000", |b| {
        b.iter(|| {
            pf.encode_batch(images.len(), black_box(&xs), &mut hs)
                .unwrap();
            pf.decode_batch(images.len(), &hs, &mut ys).unwrap();
        })
    });
    g.finish();

    // The AVX2 kernels on a CPU that has more (AVX-512): what a CPU without AVX-512 runs, such
    // as AMD Zen 3, measured here beside the rest.
    let avx2 = ae_core::kernels::Isa::available().find(|isa| isa.name() == "avx2");
    if let Some(isa) = avx2.filter(|isa| *isa != ae_core::kernels::Isa::detect()) {
        let pf = ae_core::prepared::PreparedFloat::with_isa(*float.untyped(), isa);
        let pi = ae_core::prepared::PreparedInt8::with_isa(*int8.untyped(), isa);
        let mut g = c.benchmark_group("avx2");
        g.bench_function("float encode+decode", |b| {
            b.iter(|| {
                pf.encode(black_box(x.as_slice()), h.as_mut_slice())
                    .unwrap();
                pf.decode(h.as_slice(), y.as_mut_slice()).unwrap();
            })
        });
        g.bench_function("int8 encode+decode", |b| {
            b.iter(|| {
                pi.encode(black_box(&images[0]), &mut code).unwrap();
                pi.decode(&code, &mut pixels).unwrap();
            })
        });
        g.throughput(Throughput::Elements(images.len() as u64));
        g.bench_function("int8 encode+decode x1000", |b| {
            b.iter(|| {
                pi.encode_batch(images.len(), black_box(&flat), &mut codes)
                    .unwrap();
                pi.decode_batch(images.len(), &codes, &mut back).unwrap();
            })
        });
        g.bench_function("float encode x1000", |b| {
            b.iter(|| {
                pf.encode_batch(images.len(), black_box(&xs), &mut hs)
                    .unwrap()
            })
        });
        g.bench_function("float decode x1000", |b| {
            b.iter(|| {
                pf.decode_batch(images.len(), black_box(&hs), &mut ys)
                    .unwrap()
            })
        });
        g.finish();
    }

    let mut g = c.benchmark_group("baseline");
    g.bench_function("naive-float encode+decode", |b| {
        b.iter(|| naive_float(&float, black_box(&x), &mut y))
    });
    g.finish();

    let mut g = c.benchmark_group("floor");
    g.bench_function("read float model (404 KB)", |b| {
        b.iter(|| read_all(black_box(float_bytes.bytes())))
    });
    #[cfg(target_arch = "x86_64")]
    if let Some(peak) = float_peak() {
        g.bench_function("float arithmetic of one image, no memory (AVX-512)", |b| {
            b.iter(&peak)
        });
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(peak) = float_peak_avx2() {
        g.bench_function("float arithmetic of one image, no memory (AVX2)", |b| {
            b.iter(&peak)
        });
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(peak) = int8_peak() {
        g.bench_function(
            "int8 arithmetic of one image, no memory (AVX-512 VNNI)",
            |b| b.iter(&peak),
        );
    }
    g.bench_function("read int8 model (108 KB)", |b| {
        b.iter(|| read_all(black_box(int8_bytes.bytes())))
    });
    g.finish();

    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(images.len() as u64));
    g.bench_function("int8 encode+decode x1000", |b| {
        b.iter(|| {
            for img in &images {
                int8.encode(black_box(img), &mut code);
                int8.decode(&code, &mut pixels);
            }
        })
    });
    g.bench_function("float encode+decode x1000", |b| {
        let xs: Vec<SVector<f32, N>> = images
            .iter()
            .map(|img| SVector::from_fn(|i, _| ae_core::pixels::to_unit(img[i])))
            .collect();
        b.iter(|| {
            for x in &xs {
                float.encode_to(black_box(x), &mut h);
                float.decode_to(&h, &mut y);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
