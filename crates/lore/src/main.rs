//! `lore`: the command-line front end. Thin: it parses flags, resolves the settings once
//! ([`context`]), calls the engine, prints.

mod answer_eval;
mod ask;
mod cache_bench;
mod cache_cmd;
mod cli;
mod commands;
mod context;
mod experiments_cmd;
mod jobs_cmd;
mod keys_cmd;
mod logging;
mod memory_cmd;
mod progress;
mod route_cmd;
mod serve;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{BenchCommand, Cli, Command, ConfigCommand, EvalCommand};
use crate::context::Ctx;

fn main() -> ExitCode {
    let (cli, ctx) = match context::parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let serving = matches!(cli.command, Command::Serve(_));
    // Logs need the settings (level, format, PII patterns) before anything else runs.
    let settings = ctx.settings();
    let masker =
        lore_rag::guard::Masker::new(&lore_rag::guard::PiiKind::ALL, &settings.guard.patterns)
            .unwrap_or_else(|_| lore_rag::guard::Masker::all());
    let explicit = ctx.resolved.origin("log.level") != lore_settings::Origin::Default;
    logging::init(&settings.log, explicit, serving, ctx.verbose, masker);
    match run(cli, &ctx) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Dispatches a command to its module.
fn run(cli: Cli, g: &Ctx) -> Result<ExitCode> {
    match cli.command {
        Command::Ingest(a) => commands::ingest(g, a),
        Command::Search(a) => commands::search(g, a),
        Command::Ask(a) => ask::ask(g, a),
        Command::Collections(c) => commands::collections(g, c),
        Command::Documents(c) => commands::documents(g, c),
        Command::Jobs(c) => jobs_cmd::run(g, c),
        Command::Config(ConfigCommand::Show) => commands::config_show(g),
        Command::Config(ConfigCommand::Check(a)) => commands::config_check(&a.file),
        Command::Eval(EvalCommand::Beir(a)) => commands::eval_beir(g, a),
        Command::Eval(EvalCommand::Answers(a)) => answer_eval::eval_answers(g, a),
        Command::Eval(EvalCommand::Grounding(a)) => answer_eval::eval_grounding(g, a),
        Command::Eval(EvalCommand::Meetings(a)) => memory_cmd::eval_meetings(g, a),
        Command::Eval(EvalCommand::Routes(a)) => route_cmd::eval_routes(g, a),
        Command::Eval(EvalCommand::Tiers(a)) => route_cmd::eval_tiers(g, a),
        Command::Routes(c) => route_cmd::run(g, c),
        Command::Memory(c) => memory_cmd::run(g, c),
        Command::Bench(BenchCommand::Embed(a)) => commands::bench_embed(g, a),
        Command::Bench(BenchCommand::Answer(a)) => answer_eval::bench_answer(g, a),
        Command::Bench(BenchCommand::Cache(a)) => cache_bench::bench_cache(g, a),
        Command::Bench(BenchCommand::HostileFiles(a)) => commands::hostile_files(a),
        Command::Serve(_) => serve::serve(g),
        Command::Cache(c) => cache_cmd::run(c, g.json),
        Command::Keys(c) => keys_cmd::run(g, c),
        Command::Analytics(a) => keys_cmd::analytics(g, &a),
        Command::Experiments(c) => experiments_cmd::experiments(g, c),
        Command::Drift(c) => experiments_cmd::drift(g, c),
        Command::Openapi => {
            println!("{}", lore_server::openapi::spec_pretty());
            Ok(ExitCode::SUCCESS)
        }
    }
}
