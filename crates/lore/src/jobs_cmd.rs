//! `lore jobs list|show`: the ingest jobs of the data dir's catalog (those a server ran
//! or is running), read directly as `lore keys` reads keys.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lore_index::{JobQuery, JobStore};
use serde_json::Value;

use crate::cli::JobsCommand;
use crate::context::Ctx;

pub fn run(g: &Ctx, c: JobsCommand) -> Result<ExitCode> {
    let store =
        JobStore::open(&g.data_dir.join("catalog.sqlite")).context("opening the job table")?;
    let state = |s: &str| -> Value { serde_json::from_str(s).unwrap_or(Value::Null) };
    match c {
        JobsCommand::List(a) => {
            let (rows, total) = store.list(&JobQuery {
                owner: None,
                status: a.status.as_deref(),
                limit: a.limit,
                offset: a.offset,
            })?;
            let jobs: Vec<Value> = rows.iter().map(|r| state(&r.state)).collect();
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"jobs": jobs, "total": total, "offset": a.offset, "limit": a.limit})
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<32}  {:<8}  {:>5}  {:>7}  collection",
                "id", "status", "files", "chunks"
            );
            for (r, j) in rows.iter().zip(&jobs) {
                println!(
                    "{:<32}  {:<8}  {:>5}  {:>7}  {}",
                    r.id,
                    r.status,
                    j["files"].as_array().map_or(0, Vec::len),
                    j["chunks"],
                    r.collection
                );
            }
            eprintln!("{} of {total} jobs", rows.len());
        }
        JobsCommand::Show(a) => {
            let Some(row) = store.get(&a.id)? else {
                bail!("no job with id `{}` (see `lore jobs list`)", a.id);
            };
            let job = state(&row.state);
            if g.json {
                println!("{}", serde_json::to_string_pretty(&job)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} {} ({}): {} files",
                row.id,
                row.status,
                row.collection,
                job["files"].as_array().map_or(0, Vec::len)
            );
            for f in job["files"].as_array().into_iter().flatten() {
                let why = f["error"]
                    .as_str()
                    .map(|e| format!(": {} ({})", e, f["code"].as_str().unwrap_or("")))
                    .unwrap_or_default();
                println!(
                    "  {:<9} {}{why}",
                    f["status"].as_str().unwrap_or(""),
                    f["source"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
