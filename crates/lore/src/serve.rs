//! `lore serve`: opens the engine, loads every collection's indexes, and serves HTTP.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lore_server::{AppState, ServerConfig};

use crate::cli::{Global, ServeArgs};

pub fn serve(g: &Global, a: &ServeArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let engine = crate::commands::engine(g)?;
    let mut security = crate::commands::security_config(g)?;
    if a.no_auth {
        security.auth.enabled = false;
    }
    let auth = security.auth.enabled;
    let config = ServerConfig {
        bind: a.bind,
        request_timeout: Duration::from_secs(a.request_timeout.max(1)),
        max_body_bytes: a.max_body_mb.max(1) * 1024 * 1024,
        upload_wait: Duration::from_millis(a.upload_wait_ms),
        default_collection: a.default_collection.clone(),
        security,
    };
    let state = AppState::new(engine, config).context("loading collections")?;
    if !auth {
        let warning = format!(
            "AUTH IS DISABLED: anyone who can reach {} can read every collection, upload, delete and manage keys. Use this only on a machine used by one person.",
            a.bind
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
        let listener = tokio::net::TcpListener::bind(a.bind)
            .await
            .with_context(|| format!("binding {}", a.bind))?;
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
