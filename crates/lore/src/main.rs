//! `lore`: the command-line front end. Thin: it parses flags, calls the engine, prints.

mod answer_eval;
mod ask;
mod cache_bench;
mod cache_cmd;
mod cli;
mod commands;
mod progress;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LORE_LOG").unwrap_or_else(|_| {
        // A server logs each request; a command only what goes wrong.
        let serving = matches!(cli.command, cli::Command::Serve(_));
        tracing_subscriber::EnvFilter::new(if cli.global.verbose || serving {
            "info,pdf_extract=error,lopdf=error"
        } else {
            "warn,pdf_extract=error,lopdf=error"
        })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file stays greppable.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
