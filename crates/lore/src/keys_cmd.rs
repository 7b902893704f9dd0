//! `lore keys` and `lore analytics`: straight on the data dir's catalog, so the first
//! admin key can be made before any server runs (and a lost one replaced).

use std::process::ExitCode;

use anyhow::{Context, Result};
use lore_index::{KeyStore, QueryLog};
use lore_server::auth::now_secs;

use crate::cli::{AnalyticsArgs, KeysCommand};
use crate::context::Ctx;

fn catalog(g: &Ctx) -> std::path::PathBuf {
    g.data_dir.clone().join("catalog.sqlite")
}

pub fn run(g: &Ctx, c: KeysCommand) -> Result<ExitCode> {
    let store = KeyStore::open(&catalog(g)).context("opening the key table")?;
    let now = now_secs();
    match c {
        KeysCommand::Create(a) => {
            let list = |what, v: Option<String>| -> Result<Option<Vec<String>>> {
                v.map(|t| lore_core::Access::parse_list(what, &t))
                    .transpose()
                    .map_err(Into::into)
            };
            let body = lore_index::KeyRequest {
                name: a.name.unwrap_or_else(|| a.role.to_string()),
                role: a.role,
                collections: list("collections", a.collections)?,
                domains: list("domains", a.domains)?,
                rate: a.rate,
                expires: a.expires,
            };
            let new = body.validate(now)?;
            let created = store.create(&new, now)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("{}", created.key);
                eprintln!(
                    "key {} ({}, {}): shown once; lore keeps only its hash",
                    created.record.id,
                    created.record.role,
                    describe(&created.record)
                );
            }
        }
        KeysCommand::List => {
            let keys = store.list()?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("no keys: create one with `lore keys create --role admin`");
            } else {
                println!(
                    "{:<12}  {:<7}  {:<20}  {:<9}  scope",
                    "id", "role", "name", "state"
                );
                for k in &keys {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else if k.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<12}  {:<7}  {:<20}  {:<9}  {}",
                        k.id,
                        k.role.as_str(),
                        k.name,
                        state,
                        describe(k)
                    );
                }
            }
        }
        KeysCommand::Revoke(a) => {
            if !store.revoke(&a.id, now)? {
                anyhow::bail!("no key with id `{}` (see `lore keys list`)", a.id);
            }
            println!("revoked {}", a.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(k: &lore_index::ApiKey) -> String {
    let list = |v: &Option<Vec<String>>| v.as_ref().map_or("all".to_string(), |v| v.join(","));
    format!(
        "collections {}, domains {}, rate {}{}",
        list(&k.access.collections),
        list(&k.access.domains),
        k.rate.map_or("default".to_string(), |r| r.to_string()),
        k.expires_at
            .map(|e| format!(", expires at unix {e}"))
            .unwrap_or_default()
    )
}

pub fn analytics(g: &Ctx, a: &AnalyticsArgs) -> Result<ExitCode> {
    if !(1..=365).contains(&a.days) || !(1..=100).contains(&a.top) {
        anyhow::bail!("--days must be 1-365 and --top 1-100");
    }
    let r = QueryLog::read(&catalog(g), a.days, a.top).context("reading the query log")?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("last {} day(s)", r.days);
    println!("queries per day, collection, domain:");
    for d in &r.per_day {
        println!(
            "  {}  {:<20} {:<14} {}",
            d.day,
            d.collection,
            d.domain.as_deref().unwrap_or("-"),
            d.queries
        );
    }
    let l = |x: &lore_index::query_log::Latency| {
        format!(
            "{} · p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms",
            x.count, x.p50_ms, x.p95_ms, x.p99_ms
        )
    };
    println!("answers: {}", l(&r.answer_latency));
    println!("searches: {}", l(&r.search_latency));
    println!(
        "cache hit rate: answers {:.1}% · searches {:.1}%",
        r.answer_cache_hit_rate * 100.0,
        r.search_cache_hit_rate * 100.0
    );
    println!(
        "unanswered (no citation): {:.1}%",
        r.unanswered_rate * 100.0
    );
    println!("tokens: {} in · {} out", r.tokens_in, r.tokens_out);
    println!(
        "cost: ${:.4} · on the largest tier ${:.4} · saved by routing ${:.4}",
        r.cost_usd, r.cost_largest_usd, r.saved_usd
    );
    for c in &r.cost_by {
        println!(
            "  route {:<16} tier {:<10} model {:<28} {:>6} answers  ${:.4} (${:.6}/answer)",
            c.route.as_deref().unwrap_or("-"),
            c.tier.as_deref().unwrap_or("-"),
            c.model.as_deref().unwrap_or("-"),
            c.answers,
            c.cost_usd,
            c.cost_per_answer_usd
        );
    }
    println!("top queries:");
    for q in &r.top_queries {
        println!("  {:>5}  {}", q.count, q.query);
    }
    Ok(ExitCode::SUCCESS)
}
