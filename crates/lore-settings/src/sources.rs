//! The environment variables and command-line flags that set a setting, each written once
//! here: the binary builds its clap arguments from [`FLAGS`] (help, default and variable
//! shown from these tables and [`crate::Settings::default`]), and [`crate::layers`] applies
//! both.

/// How a variable's or flag's text becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Taken as a string; the setting's own type parses it (paths, names, `f32`, `30s`).
    Text,
    /// An integer.
    Number,
    /// `on`/`off` (also `true`/`false`, `1`/`0`, `yes`/`no`).
    Switch,
    /// Comma-separated strings.
    List,
    /// A flag without a value that sets the setting to `false` (`--no-auth`).
    SetsFalse,
}

/// One variable or flag and the setting it sets.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// `LORE_CHUNK_TOKENS`, or the flag's long name without dashes (`chunk-tokens`).
    pub name: &'static str,
    /// Dotted path of the setting (`chunking.chunk_tokens`).
    pub path: &'static str,
    /// How its text is read.
    pub kind: Kind,
    /// For flags: the subcommand that takes it (`None`: every command). Unused for
    /// variables.
    pub command: Option<&'static str>,
    /// For flags: the help line (the default and the variable are appended).
    pub help: &'static str,
}

const fn env(name: &'static str, path: &'static str, kind: Kind) -> Setting {
    Setting {
        name,
        path,
        kind,
        command: None,
        help: "",
    }
}

const fn flag(
    name: &'static str,
    path: &'static str,
    kind: Kind,
    command: Option<&'static str>,
    help: &'static str,
) -> Setting {
    Setting {
        name,
        path,
        kind,
        command,
        help,
    }
}

/// Every `LORE_*` variable that sets a setting. (Variables that locate the settings,
/// `LORE_DATA_DIR` and `LORE_CONFIG`, and the client's `LORE_SERVER` and `LORE_API_KEY`
/// are flags' variables in the binary.)
pub const ENV: &[Setting] = &[
    env("LORE_MODELS_DIR", "embedding.models_dir", Kind::Text),
    env("LORE_EMBED_PRECISION", "embedding.precision", Kind::Text),
    env("LORE_THREADS", "embedding.threads", Kind::Number),
    env(
        "LORE_INGEST_BATCH",
        "embedding.ingest_batch_chunks",
        Kind::Number,
    ),
    env("LORE_CHUNK_TOKENS", "chunking.chunk_tokens", Kind::Number),
    env(
        "LORE_CHUNK_OVERLAP",
        "chunking.overlap_tokens",
        Kind::Number,
    ),
    env("LORE_LLM_GENERATOR", "llm.generator", Kind::Text),
    env("LORE_LLM_BASE_URL", "llm.openai.base_url", Kind::Text),
    env("LORE_LLM_MODEL", "llm.openai.model", Kind::Text),
    env("LORE_LLM_API_KEY", "llm.openai.api_key", Kind::Text),
    env("LORE_LLM_EMBEDDED_MODEL", "llm.embedded_model", Kind::Text),
    env("LORE_CACHE", "cache.enabled", Kind::Switch),
    env("LORE_REDIS_URL", "cache.redis.url", Kind::Text),
    env("LORE_AUTH", "auth.enabled", Kind::Switch),
    env("LORE_CORS_ORIGINS", "cors.allowed_origins", Kind::List),
    env("LORE_LOG", "log.level", Kind::Text),
    env("LORE_BIND", "server.bind", Kind::Text),
    env(
        "LORE_DEFAULT_COLLECTION",
        "server.default_collection",
        Kind::Text,
    ),
    env("LORE_REQUEST_TIMEOUT", "server.request_timeout", Kind::Text),
    env("LORE_MAX_BODY_MB", "server.max_body_mb", Kind::Number),
    env("LORE_UPLOAD_WAIT", "server.upload_wait", Kind::Text),
    // The name before durations were strings; a bare number is milliseconds.
    env("LORE_UPLOAD_WAIT_MS", "server.upload_wait", Kind::Text),
];

/// Every command-line flag that sets a setting.
pub const FLAGS: &[Setting] = &[
    flag(
        "models-dir",
        "embedding.models_dir",
        Kind::Text,
        None,
        "Models dir; install with scripts/setup-models.sh",
    ),
    flag(
        "precision",
        "embedding.precision",
        Kind::Text,
        None,
        "Embedding model precision: f32 (measured faster here, docs/benchmarks.md) or int8",
    ),
    flag(
        "threads",
        "embedding.threads",
        Kind::Number,
        None,
        "Threads for embedding inference (none: all cores)",
    ),
    flag(
        "chunk-tokens",
        "chunking.chunk_tokens",
        Kind::Number,
        None,
        "Chunk size of a new collection, tokens of the embedding model's tokenizer",
    ),
    flag(
        "chunk-overlap",
        "chunking.overlap_tokens",
        Kind::Number,
        None,
        "Tokens shared by consecutive chunks of a new collection",
    ),
    flag(
        "ingest-batch",
        "embedding.ingest_batch_chunks",
        Kind::Number,
        None,
        "Chunks embedded together during ingest (across documents)",
    ),
    flag(
        "bind",
        "server.bind",
        Kind::Text,
        Some("serve"),
        "Address to listen on (port 0: a free port, printed at start-up)",
    ),
    flag(
        "default-collection",
        "server.default_collection",
        Kind::Text,
        Some("serve"),
        "Collection used when a request names none, and by the model id `lore`",
    ),
    flag(
        "request-timeout",
        "server.request_timeout",
        Kind::Text,
        Some("serve"),
        "Longest time to a response's headers (30s, 2m; streams may run on)",
    ),
    flag(
        "max-body-mb",
        "server.max_body_mb",
        Kind::Number,
        Some("serve"),
        "Largest request body (uploads included), MiB",
    ),
    flag(
        "upload-wait",
        "server.upload_wait",
        Kind::Text,
        Some("serve"),
        "How long an upload waits for its ingest job before answering 202 with the job (500ms, 10s)",
    ),
    flag(
        "no-auth",
        "auth.enabled",
        Kind::SetsFalse,
        Some("serve"),
        "Serve without API keys (anyone who can reach the port is an admin): for a machine used by one person",
    ),
];

/// The variable that sets `path`, if any.
pub fn env_for(path: &str) -> Option<&'static str> {
    ENV.iter().find(|e| e.path == path).map(|e| e.name)
}
