//! `ae`: parse the command line, install the Ctrl-C handler, run, map errors to exit codes.
//!
//! The command line ([`cli`]) is a module of this binary, not of the `trainer` library, so the
//! library cannot depend on flags or printing.

#![deny(missing_docs, unsafe_code)]

mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use cli::Cli;
use trainer::Error;

fn main() -> ExitCode {
    trainer::fsio::mark_process_start();
    let cli = Cli::parse();
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    let graceful = cli.command.stops_gracefully();
    // Training: the first Ctrl-C finishes the current batch, saves, exits; a second one exits at
    // once. Other commands have no state to save and stop at once (their writes are atomic, a
    // temporary file left behind is removed by the next run).
    let _ = ctrlc::set_handler(move || {
        if !graceful {
            eprintln!("\ninterrupted");
            std::process::exit(130);
        }
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping after this batch (Ctrl-C again to quit now)");
    });
    match cli::run(cli, interrupt) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if matches!(e.lib(), Some(Error::Interrupted { .. })) => {
            eprintln!("{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
