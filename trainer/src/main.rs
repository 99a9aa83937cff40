//! `ae`: parse the command line, install the Ctrl-C handler, run, map errors to exit codes.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use trainer::cli::{self, Cli};
use trainer::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    // First Ctrl-C: finish the current batch, save, exit. A second one exits at once.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping after this batch (Ctrl-C again to quit now)");
    });
    match cli::run(cli, interrupt) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Interrupted { .. }) => {
            eprintln!("{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
