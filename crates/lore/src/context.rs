//! What every command starts from: the parsed command line and the settings, resolved
//! once (defaults ← lore.toml ← LORE_* ← flags), and the engine built from them.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use lore_core::default_data_dir;
use lore_rag::Engine;
use lore_settings::{Kind, Override, Resolved, Settings, FLAGS};

use crate::cli::Cli;

/// The resolved start of a command.
pub struct Ctx {
    /// The data dir (`--data-dir`, `LORE_DATA_DIR`, else the default).
    pub data_dir: PathBuf,
    /// `--json`.
    pub json: bool,
    /// `--verbose`.
    pub verbose: bool,
    /// The settings and their origins.
    pub resolved: Resolved,
}

impl Ctx {
    /// The settings in effect.
    pub fn settings(&self) -> &Settings {
        &self.resolved.settings
    }

    /// The engine on these settings.
    pub fn engine(&self) -> Result<Engine> {
        Ok(Engine::open(self.engine_config())?)
    }

    /// An engine for measurements: caches off, so repeated queries are computed each time.
    pub fn engine_uncached(&self) -> Result<Engine> {
        let mut config = self.engine_config();
        config.cache.enabled = false;
        Ok(Engine::open(config)?)
    }

    /// The engine's settings; route example files are relative to the settings file.
    fn engine_config(&self) -> lore_rag::EngineConfig {
        let mut config = self.settings().engine_config(self.data_dir.clone());
        config.routes_base = self
            .resolved
            .file
            .as_ref()
            .and_then(|f| f.parent())
            .map(std::path::Path::to_path_buf);
        config
    }
}

/// lore's clap command: the derived one plus the settings flags of [`FLAGS`], each with its
/// setting's default and variable in the help.
pub fn command() -> clap::Command {
    let defaults = toml::Table::try_from(Settings::default()).unwrap_or_default();
    let mut cmd = Cli::command();
    for f in FLAGS {
        let default = lookup(&defaults, f.path).map_or_else(|| "none".to_string(), plain);
        let env = lore_settings::sources::env_for(f.path)
            .map(|e| format!(" [env: {e}]"))
            .unwrap_or_default();
        let mut arg = Arg::new(f.name).long(f.name).help(format!(
            "{} [setting: {}] [default: {default}]{env}",
            f.help, f.path
        ));
        arg = match f.kind {
            Kind::SetsFalse => arg.action(ArgAction::SetTrue),
            _ => arg.action(ArgAction::Set).value_name(value_name(f.kind)),
        };
        cmd = match f.command {
            None => cmd.arg(arg.global(true)),
            Some(sub) => cmd.mut_subcommand(sub, |c| c.arg(arg)),
        };
    }
    cmd
}

/// Parses the command line and resolves the settings.
///
/// # Errors
/// A settings error naming the file, key and line, or the variable or flag.
pub fn parse() -> Result<(Cli, Ctx)> {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let overrides = overrides(&matches);
    let data_dir = cli.global.data_dir.clone().unwrap_or_else(default_data_dir);
    let (file, required) = match &cli.global.config {
        Some(path) => (path.clone(), true),
        None => (data_dir.join("lore.toml"), false),
    };
    // `config check FILE` validates its own file, whatever the data dir's holds.
    let resolved = if matches!(
        cli.command,
        crate::cli::Command::Config(crate::cli::ConfigCommand::Check(_))
    ) {
        Resolved::resolve(&file, false, |_| None, &[]).unwrap_or(Resolved {
            settings: Settings::default(),
            origins: Default::default(),
            file: None,
        })
    } else {
        Resolved::resolve(&file, required, |k| std::env::var(k).ok(), &overrides)?
    };
    let ctx = Ctx {
        data_dir,
        json: cli.global.json,
        verbose: cli.global.verbose,
        resolved,
    };
    Ok((cli, ctx))
}

/// The settings flags given on the command line.
fn overrides(matches: &ArgMatches) -> Vec<Override> {
    let mut out = Vec::new();
    for f in FLAGS {
        let m = match f.command {
            None => Some(matches),
            Some(sub) => matches.subcommand_matches(sub),
        };
        let Some(m) = m else { continue };
        if m.value_source(f.name) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        let raw = match f.kind {
            Kind::SetsFalse => String::new(),
            _ => m
                .get_raw(f.name)
                .and_then(|mut v| v.next())
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        out.push(Override { flag: *f, raw });
    }
    out
}

fn lookup<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Number => "N",
        Kind::List => "LIST",
        _ => "VALUE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_well_formed_and_settings_flags_reach_the_settings() {
        command().debug_assert();
        let m = command()
            .try_get_matches_from([
                "lore",
                "--chunk-tokens",
                "128",
                "serve",
                "--no-auth",
                "--upload-wait",
                "2s",
            ])
            .unwrap();
        let o = overrides(&m);
        let names: Vec<&str> = o.iter().map(|o| o.flag.name).collect();
        assert_eq!(names, ["chunk-tokens", "upload-wait", "no-auth"]);
        assert_eq!(o[0].raw, "128");
        // A serve flag is refused on another command.
        assert!(command()
            .try_get_matches_from(["lore", "search", "q", "-c", "kb", "--bind", "x"])
            .is_err());
    }
}
