//! Progress display: a bar per epoch on a terminal, one plain line per epoch otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::history::EpochRecord;

pub(crate) struct EpochBar {
    bar: Option<ProgressBar>,
    quiet: bool,
    epochs: usize,
}

impl EpochBar {
    pub(crate) fn new(quiet: bool, epoch: usize, epochs: usize, batches: usize) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(batches as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
            bar
        });
        EpochBar { bar, quiet, epochs }
    }

    pub(crate) fn batch_done(&self, done: usize, mean_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if done.is_multiple_of(16) {
                bar.set_message(format!("loss {mean_loss:.4}"));
            }
        }
    }

    pub(crate) fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }

    pub(crate) fn finish(&self, r: &EpochRecord) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let val = r
                .val_loss
                .map(|v| format!("  val_loss {v:.4}"))
                .unwrap_or_default();
            eprintln!(
                "epoch {:>3}/{}  loss {:.4}{val}  {:.2}s",
                r.epoch, self.epochs, r.loss, r.seconds
            );
        }
    }
}
