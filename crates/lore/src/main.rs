//! `lore`: the command-line front end. Thin: it parses flags, calls the engine, prints.

mod answer_eval;
mod ask;
mod cache_bench;
mod cache_cmd;
mod cli;
mod commands;
mod keys_cmd;
mod logging;
mod progress;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let serving = matches!(cli.command, cli::Command::Serve(_));
    // Logs need the config (level, format, PII patterns) before anything else runs.
    let (log, patterns) = match commands::log_settings(&cli.global) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let masker = lore_rag::guard::Masker::new(&lore_rag::guard::PiiKind::ALL, &patterns)
        .unwrap_or_else(|_| lore_rag::guard::Masker::all());
    logging::init(&log, serving, cli.global.verbose, masker);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
