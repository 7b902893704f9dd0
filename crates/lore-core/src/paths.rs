//! Where lore keeps its data and finds its models.

use std::path::{Path, PathBuf};

/// Sub-directory name used under the user's data and cache dirs.
const APP: &str = "lore";

/// Default data dir: `$XDG_DATA_HOME/lore` (`~/.local/share/lore` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", APP)
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".lore"))
}

/// Default models dir: `$XDG_CACHE_HOME/lore/models` (`~/.cache/lore/models` on Linux).
///
/// `scripts/setup-models.sh` installs into the same place.
pub fn default_models_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", APP)
        .map(|d| d.cache_dir().join("models"))
        .unwrap_or_else(|| PathBuf::from(".lore-models"))
}

/// Which rule chose the models dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelsDirSource {
    /// An explicit flag or config value.
    Explicit,
    /// The `LORE_MODELS_DIR` environment variable.
    Env,
    /// [`default_models_dir`].
    Default,
}

/// Resolves the models dir: explicit value → `LORE_MODELS_DIR` → the default cache dir.
pub fn resolve_models_dir(explicit: Option<&Path>) -> (PathBuf, ModelsDirSource) {
    if let Some(p) = explicit {
        return (p.to_path_buf(), ModelsDirSource::Explicit);
    }
    match std::env::var_os("LORE_MODELS_DIR") {
        Some(v) if !v.is_empty() => (PathBuf::from(v), ModelsDirSource::Env),
        _ => (default_models_dir(), ModelsDirSource::Default),
    }
}
