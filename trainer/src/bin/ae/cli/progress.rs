//! Progress display for `ae train`: a bar per epoch on a terminal, one plain line per epoch
//! otherwise. It watches the library's training loop through [`trainer::train::Observer`]; the
//! loop itself shows nothing, so library callers and tests stay quiet without a flag.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use trainer::train::history::EpochRecord;
use trainer::train::Observer;

/// The terminal progress of a training run (nothing at all when `quiet`).
pub(crate) struct EpochBar {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl EpochBar {
    pub(crate) fn new(quiet: bool) -> Self {
        EpochBar { bar: None, quiet }
    }
}

impl Observer for EpochBar {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.bar = (!self.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(batches as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
            bar
        });
    }

    fn batch_done(&mut self, done: usize, mean_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if done.is_multiple_of(16) {
                bar.set_message(format!("loss {mean_loss:.4}"));
            }
        }
    }

    fn stopped(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }

    fn epoch_done(&mut self, r: &EpochRecord, epochs: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let val = r
                .val_loss
                .map(|v| format!("  val_loss {v:.4}"))
                .unwrap_or_default();
            eprintln!(
                "epoch {:>3}/{}  loss {:.4}{val}  {:.2}s",
                r.epoch, epochs, r.loss, r.seconds
            );
        }
    }
}
