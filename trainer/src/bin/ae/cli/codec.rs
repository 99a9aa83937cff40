//! `ae compress` and `ae decompress`: images to 8-bit latent codes and back, through an int8 model.
//!
//! Reading the inputs, choosing the rate from the flags and naming each image in errors is
//! command-line work and lives here; the code file itself is [`trainer::codec`].

use std::path::{Path, PathBuf};

use ae_core::format::{Int8Ref, ModelRef};
use ae_core::prepared::PreparedInt8;
use trainer::codec::{model_id, push_coded, CodeFile, CodeHead, Coding};
use trainer::data::{idx, picture, ImageSet};
use trainer::error::ImagesFor;
use trainer::eval::psnr;
use trainer::fsio;
use trainer::model::ModelBytes;
use trainer::Error;
use trainer::{batch, pipeline};

use super::{CliError, CompressArgs, DecompressArgs, Result};

fn int8_model<'a>(bytes: &'a ModelBytes, path: &Path) -> Result<Int8Ref<'a>> {
    match bytes.parse(path)? {
        ModelRef::Int8(m) => Ok(m),
        ModelRef::Float(_) => Err(Error::NotInt8(path.to_path_buf()).into()),
    }
}

fn is_picture(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(ext.as_str(), "png" | "pgm" | "pnm")
}

/// Images read from the inputs, and which input each run of them came from (for error messages).
struct Inputs {
    set: ImageSet,
    sources: Vec<(PathBuf, usize)>,
}

impl Inputs {
    /// Images read so far (`set` holds them only for `--stats`).
    fn count(&self) -> usize {
        self.sources.iter().map(|s| s.1).sum()
    }

    /// Records the inputs a chunk came from (`continues`: its first input is the one the
    /// previous chunk ended in).
    fn add_sources(&mut self, sources: &[(PathBuf, usize)], continues: bool) {
        for (k, (path, count)) in sources.iter().enumerate() {
            match self.sources.last_mut() {
                Some(last) if k == 0 && continues => last.1 += count,
                _ => self.sources.push((path.clone(), *count)),
            }
        }
    }

    /// Names image `index`: its file, and its position there when the file holds several.
    fn name(&self, index: usize) -> String {
        let mut first = 0;
        for (path, count) in &self.sources {
            if index < first + count {
                return if *count == 1 {
                    path.display().to_string()
                } else {
                    format!("{} image {}", path.display(), index - first)
                };
            }
            first += count;
        }
        format!("image {index}")
    }
}

/// Images handed from the reading side to the coding side, and the inputs they came from
/// (`continues`: the first input is the one the previous chunk ended in).
struct Chunk {
    pixels: Vec<u8>,
    sources: Vec<(PathBuf, usize)>,
    continues: bool,
}

/// Chunks the reader may be ahead of the coders, at least. Few: a reader further ahead codes
/// a chunk itself, so more would only fault in more buffers (each about 200 KiB).
const READ_AHEAD: usize = 4;

/// Reads the inputs in chunks of about [`batch::CHUNK_IMAGES`] images and hands each to `take`
/// (which returns `false` to stop early). An IDX file is unzipped and read a chunk at a time,
/// so that coding can start on the first images while the rest are still being read.
fn read_chunks(
    inputs: &[PathBuf],
    rows: usize,
    cols: usize,
    resize: bool,
    spares: &pipeline::Spares<Vec<u8>>,
    mut take: impl FnMut(Chunk) -> Result<bool>,
) -> Result<()> {
    let per_chunk = batch::CHUNK_IMAGES;
    let mut pending = Chunk {
        pixels: Vec::new(),
        sources: Vec::new(),
        continues: false,
    };
    let flush = |pending: &mut Chunk, take: &mut dyn FnMut(Chunk) -> Result<bool>| {
        if pending.sources.is_empty() {
            return Ok(true);
        }
        let chunk = std::mem::replace(
            pending,
            Chunk {
                pixels: Vec::new(),
                sources: Vec::new(),
                continues: false,
            },
        );
        take(chunk)
    };
    for path in inputs {
        if picture::kind_of(path)? == picture::InputKind::Picture {
            pending
                .pixels
                .extend(picture::read_picture(path, rows, cols, resize)?);
            pending.sources.push((path.clone(), 1));
            if pending.sources.len() >= per_chunk && !flush(&mut pending, &mut take)? {
                return Ok(());
            }
            continue;
        }
        if !flush(&mut pending, &mut take)? {
            return Ok(());
        }
        let mut stream = idx::open_images(path)?;
        if (stream.rows(), stream.cols()) != (rows, cols) {
            return Err(Error::InputShape {
                path: path.clone(),
                rows: stream.rows(),
                cols: stream.cols(),
                model_rows: rows,
                model_cols: cols,
            }
            .into());
        }
        let mut continues = false;
        let mut pixels = spares.take();
        while stream.next_images_into(per_chunk, &mut pixels)? {
            let n = pixels.len() / (rows * cols).max(1);
            let chunk = Chunk {
                pixels,
                sources: vec![(path.clone(), n)],
                continues,
            };
            if !take(chunk)? {
                return Ok(());
            }
            continues = true;
            pixels = spares.take();
        }
    }
    flush(&mut pending, &mut take)?;
    Ok(())
}

/// How `compress` codes each image.
#[derive(Clone, Copy)]
enum Rate {
    Raw,
    Step(u8),
    MaxBytes(usize),
}

fn rate_of(a: &CompressArgs, model: &Int8Ref<'_>) -> Result<Rate> {
    let rate = match (a.raw, a.step, a.max_bytes) {
        (true, _, _) => Rate::Raw,
        (_, _, Some(n)) => Rate::MaxBytes(n as usize),
        (_, Some(s), None) => Rate::Step(s),
        (false, None, None) if model.entropy().is_some() => Rate::Step(1),
        (false, None, None) => Rate::Raw,
    };
    if !matches!(rate, Rate::Raw) && model.entropy().is_none() {
        return Err(Error::NoEntropyModel(a.model.clone()).into());
    }
    Ok(rate)
}

/// What `compress` has coded: the code file's `coding`, its codes in the chunks they were coded
/// in (written one after the other, never gathered), the images for `--stats`, and where each
/// image came from (to name it in errors).
struct Coded {
    coding: Coding,
    pieces: Vec<Vec<u8>>,
    inputs: Inputs,
}

/// One chunk, coded: where its images came from, the images themselves when `--stats` needs
/// them, and their codes as the code file stores them.
struct CodedChunk {
    sources: Vec<(PathBuf, usize)>,
    continues: bool,
    pixels: Option<Vec<u8>>,
    codes: Vec<u8>,
}

/// Why coding stopped: a failure already in the command's terms (an input that could not be
/// read, a model that refused a buffer), or one image that could not be coded (named once the
/// chunks before it are known).
enum ChunkFailure {
    Cli(CliError),
    Image {
        sources: Vec<(PathBuf, usize)>,
        continues: bool,
        index: usize,
        source: ae_core::Error,
    },
}

/// Codes the images of one chunk as `rate` says, on this thread; the bytes do not depend on
/// the chunking.
fn code_chunk(
    model: &Int8Ref<'_>,
    prepared: &PreparedInt8<'_>,
    rate: Rate,
    keep_images: bool,
    chunk: Chunk,
    spares: &pipeline::Spares<Vec<u8>>,
) -> std::result::Result<CodedChunk, ChunkFailure> {
    let (input, latent) = model.dims().as_usize();
    let images = chunk.pixels.len() / input.max(1);
    let mut codes = vec![0u8; images * latent];
    prepared
        .encode_batch(images, &chunk.pixels, &mut codes)
        .map_err(|source| ChunkFailure::Cli(Error::ModelRun { source }.into()))?;
    let rate = match rate {
        Rate::Raw => None,
        Rate::Step(step) => Some(batch::Rate::Step(step)),
        Rate::MaxBytes(cap) => Some(batch::Rate::MaxBytes(cap)),
    };
    let codes = match (model.entropy(), rate) {
        (Some(entropy), Some(rate)) => {
            let coded = batch::entropy_code(&entropy, &codes, latent, rate).map_err(|failure| {
                ChunkFailure::Image {
                    sources: chunk.sources.clone(),
                    continues: chunk.continues,
                    index: failure.index,
                    source: failure.source,
                }
            })?;
            let mut framed = Vec::with_capacity(coded.iter().map(|c| c.len() + 2).sum());
            for image in &coded {
                push_coded(&mut framed, image);
            }
            framed
        }
        _ => codes,
    };
    let pixels = if keep_images {
        Some(chunk.pixels)
    } else {
        spares.give(chunk.pixels);
        None
    };
    Ok(CodedChunk {
        sources: chunk.sources,
        continues: chunk.continues,
        pixels,
        codes,
    })
}

/// Reads and codes every input on `threads` threads: this one reads (and unzips) the inputs
/// while the others code the chunks it has read (`trainer::pipeline`); the code file is the
/// same bytes whatever the thread count.
fn code_inputs(
    a: &CompressArgs,
    model: &Int8Ref<'_>,
    prepared: &PreparedInt8<'_>,
    rate: Rate,
    shape: (usize, usize),
    threads: usize,
) -> Result<Coded> {
    let (rows, cols) = shape;
    let spares = pipeline::Spares::default();
    let done = pipeline::read_and_process(
        threads,
        READ_AHEAD.max(2 * threads),
        |feed| {
            read_chunks(&a.inputs, rows, cols, a.resize, &spares, |chunk| {
                Ok(feed(chunk))
            })
            .map_err(ChunkFailure::Cli)
        },
        |chunk| code_chunk(model, prepared, rate, a.stats, chunk, &spares),
    );
    let mut coded = Coded {
        coding: match rate {
            Rate::Raw => Coding::Raw,
            Rate::Step(_) | Rate::MaxBytes(_) => Coding::Entropy,
        },
        pieces: Vec::with_capacity(done.outputs.len()),
        inputs: Inputs {
            set: ImageSet::empty(rows, cols),
            sources: Vec::new(),
        },
    };
    for chunk in done.outputs {
        coded.inputs.add_sources(&chunk.sources, chunk.continues);
        coded.pieces.push(chunk.codes);
        if let Some(pixels) = chunk.pixels {
            coded
                .inputs
                .set
                .append(ImageSet::new(pixels, rows, cols)?)?;
        }
    }
    match done.failure {
        None => {}
        Some(ChunkFailure::Cli(e)) => return Err(e),
        Some(ChunkFailure::Image {
            sources,
            continues,
            index,
            source,
        }) => {
            let first = coded.inputs.count();
            coded.inputs.add_sources(&sources, continues);
            let name = coded.inputs.name(first + index);
            return Err(match source {
                ae_core::Error::DoesNotFit { max_bytes } => CliError::Usage(format!(
                    "{name} does not fit in {max_bytes} bytes even at the coarsest step (255); \
                     raise --max-bytes"
                )),
                source => CliError::Image { name, source },
            });
        }
    }
    if coded.inputs.count() == 0 {
        return Err(Error::NoImages(ImagesFor::Coding).into());
    }
    Ok(coded)
}

/// Turns every image of a parsed code file back into 8-bit codes (bin centres for coarse steps);
/// returns the codes and the step of each image (1 for raw codes).
fn decode_all(model: &Int8Ref<'_>, file: &CodeFile<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
    let latent = model.dims().latent as usize;
    let count = file.count as usize;
    trainer::limits::image_bytes(count, latent)?;
    match file.coding {
        Coding::Raw => {
            let mut codes = Vec::with_capacity(count * latent);
            for image in file.images() {
                codes.extend_from_slice(image);
            }
            Ok((codes, vec![1; count]))
        }
        Coding::Entropy => {
            let entropy = model.entropy().ok_or(CliError::CodesNeedEntropy)?;
            let coded: Vec<&[u8]> = file.images().collect();
            batch::entropy_decode_all(&entropy, &coded, latent).map_err(|failure| CliError::Image {
                name: format!("image {}", failure.index),
                source: failure.source,
            })
        }
    }
}

pub(crate) fn compress(a: &CompressArgs) -> Result<()> {
    fsio::refuse_overwrite(&a.output, a.force)?;
    let bytes = ModelBytes::load(&a.model)?;
    let model = int8_model(&bytes, &a.model)?;
    let rate = rate_of(a, &model)?;
    let (input, latent) = model.dims().as_usize();
    let (rows, cols) = trainer::model::image_shape(&ModelRef::Int8(model));
    let threads = super::thread_count(a.threads);
    let prepared = PreparedInt8::new(model);
    let Coded {
        coding,
        pieces,
        inputs,
    } = code_inputs(a, &model, &prepared, rate, (rows, cols), threads)?;
    let count = u32::try_from(inputs.count())
        .map_err(|_| CliError::Usage("more than 2^32 images in one code file".into()))?;
    let head = CodeHead {
        model_sha256: model_id(bytes.bytes()),
        input: input as u32,
        latent: latent as u32,
        rows: rows as u32,
        cols: cols as u32,
        count,
        coding,
    };
    let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    let mut file_bytes = 0;
    fsio::write_atomic_with(&a.output, |out| {
        file_bytes = head.write_to(&pieces, out)?;
        Ok(())
    })?;
    if a.stats {
        let codes = pieces.concat();
        let file = head.with_codes(&codes);
        let pool = batch::pool(threads).map_err(Error::Threads)?;
        pool.install(|| print_stats(&model, &prepared, &inputs.set, &file, file_bytes, a.json))?;
    }
    Ok(())
}

/// Reads the code file back as `decompress` would and reports sizes and quality.
fn print_stats(
    model: &Int8Ref<'_>,
    prepared: &PreparedInt8<'_>,
    set: &ImageSet,
    file: &CodeFile<'_>,
    file_bytes: u64,
    json: bool,
) -> Result<()> {
    let input = model.dims().input as usize;
    let (codes, steps) = decode_all(model, file)?;
    let pixels = batch::decode_all(prepared, &codes, set.count())
        .map_err(|source| Error::ModelRun { source })?;
    let mut se = 0.0f64;
    for (img, back) in set.images().zip(pixels.chunks_exact(input.max(1))) {
        se += trainer::eval::squared_error_u8(img, back);
    }
    let mse = se / (255.0 * 255.0 * (set.count() * input) as f64);
    let sizes: Vec<usize> = file.images().map(<[u8]>::len).collect();
    let mean = sizes.iter().sum::<usize>() as f64 / set.count() as f64;
    let max = sizes.iter().copied().max().unwrap_or(0);
    let mut histogram = std::collections::BTreeMap::new();
    for s in steps {
        *histogram.entry(s).or_insert(0usize) += 1;
    }
    let psnr_db = psnr(mse);
    if !psnr_db.is_finite() {
        return Err(Error::NonFinite {
            what: "reconstruction error",
        }
        .into());
    }
    if json {
        let value = serde_json::json!({
            "images": set.count(),
            "bytes_per_image_mean": mean,
            "bytes_per_image_max": max,
            "file_bytes": file_bytes,
            "file_bytes_per_image": file_bytes as f64 / set.count() as f64,
            "psnr_db": psnr_db,
            "steps": histogram.iter().map(|(s, n)| (s.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
        });
        println!("{value}");
    } else {
        let steps: Vec<String> = histogram.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!(
            "{} images: {} bytes of pixels -> {file_bytes} bytes ({:.2}:1); per image {mean:.2} bytes mean, {max} max (steps {}); PSNR {psnr_db:.2} dB",
            set.count(),
            set.pixels().len(),
            set.pixels().len() as f64 / file_bytes as f64,
            steps.join(", "),
        );
    }
    Ok(())
}

pub(crate) fn decompress(a: &DecompressArgs) -> Result<()> {
    fsio::refuse_overwrite(&a.output, a.force)?;
    let bytes = ModelBytes::load(&a.model)?;
    let model = int8_model(&bytes, &a.model)?;
    let raw = fsio::read_bounded(
        &a.codes,
        "a code file",
        trainer::limits::MAX_CODE_FILE_BYTES,
    )?;
    let bad = |source| Error::CodeFile {
        path: a.codes.clone(),
        source,
    };
    let file = CodeFile::parse(&raw).map_err(bad)?;
    file.check_model(&model_id(bytes.bytes())).map_err(bad)?;
    let (input, latent) = model.dims().as_usize();
    if (file.input as usize, file.latent as usize) != (input, latent) {
        return Err(CliError::CodesDims {
            codes_input: file.input,
            codes_latent: file.latent,
            input,
            latent,
        });
    }
    let (rows, cols) = (file.rows as usize, file.cols as usize);
    trainer::limits::image_bytes(file.count as usize, input)?;
    let pool = batch::pool(super::thread_count(a.threads)).map_err(Error::Threads)?;
    let pixels = pool.install(|| {
        let (codes, _) = decode_all(&model, &file).map_err(|e| CliError::InFile {
            path: a.codes.clone(),
            source: Box::new(e),
        })?;
        batch::decode_all(&PreparedInt8::new(model), &codes, file.count as usize)
            .map_err(|source| CliError::from(Error::ModelRun { source }))
    })?;
    let set = ImageSet::new(pixels, rows, cols)?;
    if is_picture(&a.output) {
        if set.count() != 1 {
            return Err(CliError::Usage(format!(
                "{} images cannot go into one picture: name an IDX output (e.g. out.idx)",
                set.count()
            )));
        }
        let img = image::GrayImage::from_raw(cols as u32, rows as u32, set.into_pixels())
            .ok_or(Error::ShapeTooLarge { rows, cols })?;
        let format = image::ImageFormat::from_path(&a.output).unwrap_or(image::ImageFormat::Png);
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, format)
            .map_err(|source| Error::PictureEncode {
                path: a.output.clone(),
                source,
            })?;
        Ok(fsio::write_atomic(&a.output, buf.get_ref())?)
    } else {
        Ok(fsio::write_atomic(&a.output, &idx::encode(&set))?)
    }
}
