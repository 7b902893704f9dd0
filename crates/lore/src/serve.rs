//! `lore serve`: opens the engine, loads every collection's indexes, and serves HTTP.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use lore_server::{AppState, ServerConfig};

use crate::context::Ctx;

pub fn serve(g: &Ctx) -> Result<ExitCode> {
    let started = Instant::now();
    let engine = g.engine()?;
    let config = ServerConfig::from_resolved(&g.resolved);
    let auth = config.security.auth.enabled;
    let bind = config.bind;
    let state = AppState::new(engine, config).context("loading collections")?;
    if !auth {
        let warning = format!(
            "AUTH IS DISABLED: anyone who can reach {} can read every collection, upload, delete and manage keys. Use this only on a machine used by one person.",
            bind
        );
        eprintln!("\n*** WARNING: {warning} ***\n");
        tracing::warn!("{warning}");
    } else if !state.keys().any_usable(lore_server::auth::now_secs())? {
        let warning = "no API key exists yet: every request but /health will get 401. Create one with `lore keys create --role admin`";
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {}", bind))?;
        let addr = listener.local_addr()?;
        // Tests and scripts read this line for the port; keep its shape.
        println!(
            "lore listening on http://{addr} (ready in {} ms)",
            started.elapsed().as_millis()
        );
        tracing::info!(%addr, ms = started.elapsed().as_millis() as u64, "ready");
        lore_server::serve(state, listener).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
