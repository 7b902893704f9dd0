//! `lore experiments` and `lore drift`: reports straight from the data dir's query log
//! (what `GET /v1/admin/experiments/{id}` and `/v1/admin/drift` serve).

use std::process::ExitCode;

use anyhow::{Context, Result};
use lore_index::QueryLog;

use crate::cli::{DriftCommand, ExperimentsCommand};
use crate::context::Ctx;

fn log(g: &Ctx) -> Result<lore_index::CatalogConnection> {
    QueryLog::reader(&g.data_dir.join("catalog.sqlite")).context("opening the query log")
}

pub fn experiments(g: &Ctx, c: ExperimentsCommand) -> Result<ExitCode> {
    match c {
        ExperimentsCommand::List => {
            let list = &g.settings().experiments;
            if g.json {
                println!("{}", serde_json::to_string_pretty(list)?);
                return Ok(ExitCode::SUCCESS);
            }
            if list.is_empty() {
                println!("no experiments ([[experiments]] in lore.toml)");
            }
            for e in list {
                let arms: Vec<String> = e
                    .arms
                    .iter()
                    .map(|a| format!("{} (weight {})", a.name, a.weight))
                    .collect();
                println!(
                    "{}{}: {}  arms: {}",
                    e.id,
                    if e.enabled { "" } else { " (disabled)" },
                    e.description,
                    arms.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ExperimentsCommand::Report(a) => {
            let r = lore_index::experiment_report(&log(g)?, &a.id)?;
            let configured = g.settings().experiments.iter().any(|e| e.id == a.id);
            if !configured && r.arms.is_empty() {
                anyhow::bail!(
                    "experiment `{}` not found in lore.toml or the query log",
                    a.id
                );
            }
            if g.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("experiment {}", r.experiment);
            println!(
                "{:<16} {:>7} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>11} {:>9}  up (95% CI)",
                "arm",
                "answers",
                "tok in",
                "tok out",
                "cost $",
                "p50 ms",
                "p95 ms",
                "grounding",
                "unanswered",
                "feedback"
            );
            for arm in &r.arms {
                println!(
                    "{:<16} {:>7} {:>9} {:>9} {:>10.4} {:>9.1} {:>9.1} {:>9} {:>10.1}% {:>8.1}%  {:.1}% ({:.1}-{:.1}) of {}",
                    arm.arm,
                    arm.answers,
                    arm.tokens_in,
                    arm.tokens_out,
                    arm.cost_usd,
                    arm.latency.p50_ms,
                    arm.latency.p95_ms,
                    arm.grounding.map_or("-".into(), |g| format!("{g:.3}")),
                    arm.unanswered.value * 100.0,
                    arm.feedback.value * 100.0,
                    arm.up.value * 100.0,
                    arm.up.low * 100.0,
                    arm.up.high * 100.0,
                    arm.up.trials
                );
            }
            println!("{}", r.verdict);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn drift(g: &Ctx, c: DriftCommand) -> Result<ExitCode> {
    let DriftCommand::Report(a) = c;
    let mut config = g.settings().analytics.drift;
    if let Some(d) = a.days {
        config.current_days = d;
    }
    if let Some(d) = a.reference_days {
        config.reference_days = d;
    }
    let r = lore_index::drift_report(&log(g)?, lore_index::now_ms(), &config)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for (name, w) in [("current", &r.current), ("reference", &r.reference)] {
            let shares: Vec<String> = w
                .route_shares
                .iter()
                .map(|(k, v)| format!("{k} {:.1}%", v * 100.0))
                .collect();
            println!(
                "{name:<9} {}..{}: {} routed questions, out of scope {:.1}%; {}",
                w.from,
                w.to,
                w.questions,
                w.out_of_scope_rate * 100.0,
                shares.join(", ")
            );
        }
        match &r.insufficient {
            Some(why) => println!("not judged: {why}"),
            None => {
                let f = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.4}"));
                println!(
                    "PSI {} · embedding shift {} · out-of-scope change {}",
                    f(r.psi),
                    f(r.embedding_shift),
                    f(r.out_of_scope_change)
                );
                if r.alerts.is_empty() {
                    println!("no drift");
                }
                for alert in &r.alerts {
                    println!("ALERT: {alert}");
                }
            }
        }
    }
    // Exit 3 on drift, so a cron job can alert on it.
    Ok(if r.drifted {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
