//! The `ae` command line: argument definitions (clap) and one module per subcommand.
//!
//! This is the only place that knows flags. It lives in the binary target so that the `trainer`
//! library cannot import it: each handler turns flags into the library's values, calls the library
//! and prints; [`CliError`] turns the library's errors back into messages that name flags.
//! (The top-level integration tests compile these files into their own crate with `#[path]`, to
//! run command lines in-process through the same code.)

mod codec;
mod error;
mod eval;
mod export;
mod pipeline;
mod progress;
mod report;
mod summary;
mod train;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use error::CliError;
use trainer::data::Split;
use trainer::fsio;

/// The result of a handler.
type Result<T, E = CliError> = std::result::Result<T, E>;

/// Train tiny dense autoencoders and export them for microcontrollers.
#[derive(Debug, Parser)]
#[command(name = "ae", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars or progress lines (results are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the autoencoder and write the float model and its history.
    Train(TrainArgs),
    /// Print a Keras-style summary of a model (or of the default architecture).
    Summary(SummaryArgs),
    /// Measure BCE, MSE and PSNR of a model file on a data split.
    ///
    /// With pixels x and reconstructions y in [0, 1] (an int8 model's output pixel / 255): MSE is
    /// the mean of (x - y)^2 over every pixel of every image; PSNR is 10 log10(1 / MSE) of that
    /// pooled MSE (peak 1); mean per-image PSNR averages each image's own 10 log10(1 / MSE_image),
    /// capped at 100 dB for a perfect image; BCE is Keras' binary cross-entropy with y clipped to
    /// [1e-7, 1 - 1e-7], averaged over all pixels. A non-finite reconstruction is an error.
    #[command(long_about)]
    Eval(EvalArgs),
    /// Quantize a float model to int8, calibrated on training images.
    Export(ExportArgs),
    /// The whole job: train on MNIST (downloading it if needed), export int8, evaluate both.
    Pipeline(PipelineArgs),
    /// Compress images (PNG, PGM or IDX) to entropy-coded latent codes with an int8 model.
    Compress(CompressArgs),
    /// Reconstruct images from a code file (PNG/PGM for one image, IDX for a batch).
    Decompress(DecompressArgs),
    /// Write the notebook's figures and numbers for a model: PNGs and report.md.
    Report(ReportArgs),
    /// The PCA baseline: PSNR of the top principal components with 8-bit coefficients.
    Pca(PcaArgs),
}

/// Where the images come from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data directory: either `train/` and `test/` folders of PNG/PGM pictures of one size (read in
    /// name order), or the IDX files `train-images-idx3-ubyte[.gz]` and `t10k-images-idx3-ubyte[.gz]`
    /// (each at most 1,073,741,824 pixels). Without it, MNIST is used from the cache directory and
    /// downloaded when missing.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Fraction of the training file kept aside (from its end) as the validation split.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub val: f64,
    /// Convert colour or 16-bit pictures in picture folders to 8-bit grey (otherwise they are an
    /// error naming the file).
    #[arg(long)]
    pub grayscale: bool,
}

/// Training hyper-parameters (defaults are the notebook's, from [`trainer::train::TrainConfig`]).
#[derive(Debug, Clone, Args)]
pub struct HyperArgs {
    /// Epochs to train (at least 1).
    #[arg(long, default_value_t = trainer::train::TrainConfig::default().epochs)]
    pub epochs: usize,
    /// Latent units (code bytes per image), 1 to 4096; the model may have at most 16,777,216
    /// parameters (2 x pixels x latent + pixels + latent).
    #[arg(long, default_value_t = trainer::train::TrainConfig::default().latent)]
    pub latent: usize,
    /// Images per batch.
    #[arg(long, default_value_t = trainer::train::TrainConfig::default().batch)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = trainer::optim::AdamConfig::default().lr)]
    pub lr: f32,
    /// Seed for initialization and shuffling.
    #[arg(long, default_value_t = trainer::train::TrainConfig::default().seed)]
    pub seed: u64,
    /// Worker threads, at most 256 (the result does not depend on it).
    #[arg(long, default_value_t = trainer::train::DEFAULT_THREADS)]
    pub threads: usize,
    /// Stop as if interrupted after this many steps (for time-boxed runs and tests).
    #[arg(long, hide = true)]
    pub stop_after_steps: Option<u64>,
}

/// `ae train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Hyper-parameters.
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Model file to write; the history goes to `<name>.history.json`, the checkpoint to `<name>.ckpt`.
    /// None of the three is replaced without --force or --resume; only regular files are ever
    /// replaced. A lock file `.<name>.lock` beside it keeps a second `ae` from writing the same
    /// model at the same time.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Continue from the checkpoint next to `--out` (needed whenever that checkpoint exists,
    /// unless --force starts over).
    #[arg(long)]
    pub resume: bool,
    /// Replace `--out`, its history and its checkpoint if they exist (regular files only).
    #[arg(long)]
    pub force: bool,
}

/// `ae summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A model file; without it, the architecture given by `--side` and `--latent` is shown.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Image side length when no model is given (1 to 4096).
    #[arg(long, default_value_t = 28)]
    pub side: usize,
    /// Latent units when no model is given (1 to 4096).
    #[arg(long, default_value_t = trainer::train::TrainConfig::default().latent)]
    pub latent: usize,
}

/// `ae eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model file (float or int8; at most 65 MiB).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Which split to evaluate.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ae export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Float model file to quantize (at most 65 MiB).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Quantize to int8 (the only export there is; required to be explicit).
    #[arg(long, required = true)]
    pub int8: bool,
    /// Output model file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Data source (training images calibrate; test images measure the PSNR change).
    #[command(flatten)]
    pub data: DataArgs,
    /// Replace `--out` if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `ae pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Output directory (`model.tnae`, `model-int8.tnae`, history, metrics, `report/`).
    #[arg(long, default_value = "runs/mnist", value_name = "DIR")]
    pub out: PathBuf,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Hyper-parameters.
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Continue an interrupted run.
    #[arg(long)]
    pub resume: bool,
    /// Replace existing model files in `--out`.
    #[arg(long)]
    pub force: bool,
}

/// `ae compress`.
#[derive(Debug, Args)]
pub struct CompressArgs {
    /// The int8 model.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Images: PNG/PGM files of the model's size, or IDX image files (raw or gzip), recognised by
    /// their content, not their name. Pictures may be at most 64 MiB, IDX files at most
    /// 1,073,741,824 pixels.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The code file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Convert colour images to grey and resize them to the model's size.
    #[arg(long)]
    pub resize: bool,
    /// Byte cap per image (step byte and payload): each image gets the finest quantization step
    /// whose coded size fits; an image that fits at no step is an error naming it.
    #[arg(long, value_name = "N", conflicts_with_all = ["step", "raw"], value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub max_bytes: Option<u32>,
    /// Quantization step of the latent code around its zero point, for every image (1 = lossless,
    /// the default; larger = fewer bytes, lower quality).
    #[arg(long, value_name = "S", conflicts_with = "raw", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub step: Option<u8>,
    /// Store the fixed-size 8-bit codes without entropy coding (the default for models without an
    /// entropy model, e.g. version-1 files).
    #[arg(long)]
    pub raw: bool,
    /// Print bytes in and out and the reconstruction's PSNR.
    #[arg(long)]
    pub stats: bool,
    /// With --stats: print one JSON object (images, bytes_per_image_mean, bytes_per_image_max,
    /// file_bytes, file_bytes_per_image, psnr_db, steps).
    #[arg(long, requires = "stats")]
    pub json: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// Worker threads, 1 to 256 (default: one per core); the output does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

/// `ae decompress`.
#[derive(Debug, Args)]
pub struct DecompressArgs {
    /// The int8 model the codes were made with.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The code file (at most 256 MiB).
    #[arg(value_name = "CODES")]
    pub codes: PathBuf,
    /// Output: `.png`/`.pgm` for a single image, anything else is written as IDX.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// Worker threads, 1 to 256 (default: one per core); the output does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

/// The worker count for `--threads`: the value given, else one per core.
pub(crate) fn thread_count(threads: Option<u16>) -> usize {
    threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    )
}

/// `ae report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Model file (float or int8; at most 65 MiB).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Training history (default: `<model>.history.json`, when it exists).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Images per figure.
    #[arg(long, default_value_t = trainer::report::ReportOptions::default().n)]
    pub n: usize,
    /// Seed for picking images and drawing noise.
    #[arg(long, default_value_t = trainer::report::ReportOptions::default().seed)]
    pub seed: u64,
    /// Standard deviation of the Gaussian noise for the denoising figure.
    #[arg(long, default_value_t = trainer::report::DEFAULT_NOISE)]
    pub noise: f32,
}

/// `ae pca`. Images may have at most 4096 pixels (the covariance is pixels² doubles), and the
/// training set at most 134,217,728 pixels in all.
#[derive(Debug, Args)]
pub struct PcaArgs {
    /// Data source (fits on training images, measures on test images).
    #[command(flatten)]
    pub data: DataArgs,
    /// Components to keep (bytes per image at 8 bits each).
    #[arg(long, default_value_t = 64)]
    pub components: usize,
}

/// `--split`: which part of the data a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// The training images (without the validation tail).
    Train,
    /// The validation tail carved from the training file.
    Val,
    /// The test file.
    Test,
}

impl From<SplitArg> for Split {
    fn from(s: SplitArg) -> Split {
        match s {
            SplitArg::Train => Split::Train,
            SplitArg::Val => Split::Val,
            SplitArg::Test => Split::Test,
        }
    }
}

/// Runs a parsed command line. `interrupt` is set by the Ctrl-C handler.
pub fn run(cli: Cli, interrupt: Arc<AtomicBool>) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a, cli.quiet, interrupt).map(|_| ()),
        Command::Summary(a) => summary::run(&a),
        Command::Eval(a) => eval::run(&a, cli.quiet),
        Command::Export(a) => export::run(&a, cli.quiet),
        Command::Pipeline(a) => pipeline::run(&a, cli.quiet, interrupt),
        Command::Compress(a) => {
            let _lock = fsio::lock_output_file(&a.output)?;
            codec::compress(&a)
        }
        Command::Decompress(a) => {
            let _lock = fsio::lock_output_file(&a.output)?;
            codec::decompress(&a)
        }
        Command::Report(a) => report::run(&a, cli.quiet),
        Command::Pca(a) => pca(&a, cli.quiet),
    }
}

impl Command {
    /// Whether the first Ctrl-C lets this command finish a unit of work and save its state
    /// (training: the current batch, then a checkpoint). Every other command stops at once: it
    /// has nothing to save, and a write it was doing is atomic.
    pub fn stops_gracefully(&self) -> bool {
        matches!(self, Command::Train(_) | Command::Pipeline(_))
    }
}

impl DataArgs {
    /// The splits these flags name (`--data`, else MNIST, downloaded when missing).
    fn load(&self, quiet: bool) -> Result<(PathBuf, trainer::data::Splits)> {
        let dir = trainer::data::resolve_dir(self.data.as_deref(), quiet)?;
        let splits = trainer::data::Splits::load_with(&dir, self.val, self.grayscale)?;
        Ok((dir, splits))
    }
}

fn pca(a: &PcaArgs, quiet: bool) -> Result<()> {
    let (_, splits) = a.data.load(quiet)?;
    let r = trainer::pca::baseline(&splits, a.components)?;
    println!(
        "PCA, {} components: test PSNR {:.2} dB (float coefficients), {:.2} dB at {} bytes per image (8-bit)",
        r.components, r.psnr_db, r.psnr_8bit_db, r.components
    );
    Ok(())
}
