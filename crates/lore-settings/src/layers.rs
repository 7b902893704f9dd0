//! Resolution: defaults ← file ← environment ← flags, over TOML value trees, with the
//! origin of every leaf remembered.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::sources::{Kind, Setting, ENV};
use crate::{Settings, SettingsError};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Origin {
    /// The section's `Default`.
    Default,
    /// The settings file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag (`--chunk-tokens`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A value given on the command line for a setting.
#[derive(Debug, Clone)]
pub struct Override {
    /// The flag (from [`crate::FLAGS`]).
    pub flag: Setting,
    /// Its text as typed (ignored for [`Kind::SetsFalse`]).
    pub raw: String,
}

/// The settings in effect and where each value came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The settings.
    pub settings: Settings,
    /// Dotted path of every value set by a file, variable or flag → its origin (absent:
    /// default).
    pub origins: BTreeMap<String, Origin>,
    /// The file read, if one was.
    pub file: Option<PathBuf>,
}

/// Parses and validates a settings file alone; returns the settings and the file's table.
///
/// # Errors
/// [`SettingsError::Syntax`] or [`SettingsError::Invalid`] (key path, line, column).
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<(Settings, Table), SettingsError> {
    let syntax = |e: toml::de::Error| SettingsError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let table: Table = toml::from_str(text).map_err(syntax)?;
    let de = toml::Deserializer::parse(text).map_err(syntax)?;
    let settings: Settings = serde_path_to_error::deserialize(de).map_err(|e| {
        let (line, column) = e
            .inner()
            .span()
            .map_or((0, 0), |s| line_column(text, s.start));
        SettingsError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: e.path().to_string(),
            message: e.inner().message().to_string(),
        }
    })?;
    Ok((settings, table))
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Resolved {
    /// Resolves the settings: defaults, then `file` (when it exists; `required`: it must),
    /// then the variables of [`ENV`] that `env` returns, then `flags`.
    ///
    /// # Errors
    /// As [`Settings::check_file`] for the file; [`SettingsError::Value`] naming the
    /// variable or flag whose value its setting refuses.
    pub fn resolve(
        file: &Path,
        required: bool,
        env: impl Fn(&str) -> Option<String>,
        flags: &[Override],
    ) -> Result<Resolved, SettingsError> {
        let mut tree = Table::try_from(Settings::default()).map_err(|e| SettingsError::Value {
            origin: "defaults".into(),
            key: String::new(),
            message: e.to_string(),
        })?;
        let mut origins = BTreeMap::new();
        let read = match std::fs::read_to_string(file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => None,
            Err(source) => {
                return Err(SettingsError::Io {
                    path: file.to_path_buf(),
                    source,
                })
            }
        };
        if let Some(text) = &read {
            // The file's settings in canonical form (an older key name such as `ttl_secs`
            // read into `ttl`), so later layers set one key, never an alias beside it. A
            // value is the file's when the file names its key or it differs from the default.
            let (parsed, raw) = parse_file(file, text)?;
            let canonical = Table::try_from(&parsed).map_err(|e| SettingsError::Value {
                origin: format!("file {}", file.display()),
                key: String::new(),
                message: e.to_string(),
            })?;
            let mut named = Vec::new();
            collect_leaves(&raw, "", &mut named);
            let named: std::collections::HashSet<String> =
                named.into_iter().map(|(p, _)| p).collect();
            let mut defaults = Vec::new();
            collect_leaves(&tree, "", &mut defaults);
            let defaults: BTreeMap<String, Value> = defaults.into_iter().collect();
            let mut leaves = Vec::new();
            collect_leaves(&canonical, "", &mut leaves);
            for (path, value) in leaves {
                if named.contains(&path) || defaults.get(&path) != Some(&value) {
                    origins.insert(path, Origin::File(file.to_path_buf()));
                }
            }
            tree = canonical;
        }
        for var in ENV {
            let Some(raw) = env(var.name).filter(|v| !v.is_empty()) else {
                continue;
            };
            let origin = Origin::Env(var.name.into());
            let value = parse_raw(var, &raw, &origin)?;
            set(&mut tree, var.path, value);
            origins.insert(var.path.to_string(), origin);
        }
        for o in flags {
            let origin = Origin::Flag(format!("--{}", o.flag.name));
            let value = parse_raw(&o.flag, &o.raw, &origin)?;
            set(&mut tree, o.flag.path, value);
            origins.insert(o.flag.path.to_string(), origin);
        }
        let settings: Settings =
            serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
                let key = e.path().to_string();
                let origin = origin_of(&origins, &key);
                SettingsError::Value {
                    origin: origin.to_string(),
                    key,
                    message: e.inner().message().to_string(),
                }
            })?;
        Ok(Resolved {
            settings,
            origins,
            file: read.map(|_| file.to_path_buf()),
        })
    }

    /// Where the value at `path` came from (the nearest recorded ancestor, else default).
    pub fn origin(&self, path: &str) -> Origin {
        origin_of(&self.origins, path)
    }

    /// The effective settings as TOML, secrets redacted, each value followed by a comment
    /// naming its origin.
    pub fn show_toml(&self) -> String {
        let tree = Table::try_from(self.settings.redacted()).unwrap_or_default();
        let mut out = String::new();
        self.write_table(&tree, "", &[], &mut out);
        out
    }

    /// The effective settings as JSON: `{"path": {"value": …, "origin": …}}`, secrets
    /// redacted.
    pub fn show_json(&self) -> serde_json::Value {
        let tree = Table::try_from(self.settings.redacted()).unwrap_or_default();
        let mut leaves = Vec::new();
        collect_leaves(&tree, "", &mut leaves);
        let map: serde_json::Map<String, serde_json::Value> = leaves
            .into_iter()
            .map(|(path, v)| {
                let value = serde_json::to_value(&v).unwrap_or(serde_json::Value::Null);
                let origin = self.origin(&path).to_string();
                (path, serde_json::json!({"value": value, "origin": origin}))
            })
            .collect();
        serde_json::Value::Object(map)
    }

    fn write_table(&self, table: &Table, prefix: &str, keys: &[&str], out: &mut String) {
        let mut subtables = Vec::new();
        for (k, v) in table {
            let path = join(prefix, k);
            match v {
                Value::Table(t) => subtables.push((path, k.as_str(), t)),
                _ => {
                    out.push_str(&format!(
                        "{} = {}  # {}\n",
                        quote_key(k),
                        inline(v),
                        self.origin(&path)
                    ));
                }
            }
        }
        for (path, key, t) in subtables {
            let mut keys = keys.to_vec();
            keys.push(key);
            let header: Vec<String> = keys.iter().map(|k| quote_key(k)).collect();
            out.push_str(&format!("\n[{}]\n", header.join(".")));
            self.write_table(t, &path, &keys, out);
        }
    }
}

fn origin_of(origins: &BTreeMap<String, Origin>, path: &str) -> Origin {
    let mut p = path;
    loop {
        if let Some(o) = origins.get(p) {
            return o.clone();
        }
        match p.rfind('.') {
            Some(i) => p = &p[..i],
            None => return Origin::Default,
        }
    }
}

/// Sets the value at a dotted path, creating tables on the way.
fn set(tree: &mut Table, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut t = tree;
    for p in parts {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else {
            return;
        };
        t = next;
    }
    t.insert(last.to_string(), value);
}

fn parse_raw(s: &Setting, raw: &str, origin: &Origin) -> Result<Value, SettingsError> {
    let bad = |message: String| SettingsError::Value {
        origin: origin.to_string(),
        key: s.path.into(),
        message,
    };
    Ok(match s.kind {
        Kind::Text => Value::String(raw.to_string()),
        Kind::Number => Value::Integer(
            raw.trim()
                .parse::<i64>()
                .map_err(|_| bad(format!("expected a whole number, got `{raw}`")))?,
        ),
        Kind::Switch => Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => true,
            "off" | "false" | "0" | "no" => false,
            other => return Err(bad(format!("expected on or off, got `{other}`"))),
        }),
        Kind::List => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| Value::String(v.to_string()))
                .collect(),
        ),
        Kind::SetsFalse => Value::Boolean(false),
    })
}

fn collect_leaves(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (k, v) in table {
        let path = join(prefix, k);
        match v {
            Value::Table(t) => collect_leaves(t, &path, out),
            v => out.push((path, v.clone())),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote_key(key: &str) -> String {
    if is_bare(key) {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn inline(v: &Value) -> String {
    v.to_string()
}
