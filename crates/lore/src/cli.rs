//! Flags, defined once: each flag's help text, environment variable and default live here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lore_core::{Filter, SearchMode};
use lore_rag::{GeneratorKind, GroundingAction};

/// lore: ingest documents, search them with hybrid retrieval (BM25 + dense vectors).
#[derive(Debug, Parser)]
#[command(name = "lore", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. The flags that set a setting (`--chunk-tokens`,
/// `--precision`, serve's `--bind`, …) are not here: they are built from
/// `lore_settings::FLAGS`, where each is defined once with its setting and variable.
#[derive(Debug, Args)]
pub struct Global {
    /// Data dir holding the catalog and indexes [default: ~/.local/share/lore].
    #[arg(long, global = true, env = "LORE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Settings file [default: <data dir>/lore.toml if present]; see `lore config show`.
    #[arg(long, global = true, env = "LORE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log progress details (or set LORE_LOG=info|debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest files and folders (PDF, DOCX, HTML, Markdown, text; detected by content).
    Ingest(IngestArgs),
    /// Search a collection.
    Search(SearchArgs),
    /// Answer a question from a collection, with citations, streamed.
    Ask(AskArgs),
    /// Collections: list, show, create, delete, verify.
    #[command(subcommand)]
    Collections(CollectionsCommand),
    /// Documents of a collection: list, show, delete.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Ingest jobs of uploads (run by `lore serve`, kept in the catalog): list, show.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Settings: show the effective ones with their origins, check a file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Evaluate retrieval quality.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Question routes: classify a question, show the route set in use.
    #[command(subcommand)]
    Routes(RoutesCommand),
    /// Measure speed.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the HTTP API, the OpenAI-compatible endpoints and the web UI.
    Serve(ServeArgs),
    /// A running server's caches: statistics, invalidation, warm-up.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print the OpenAPI description of the HTTP API (as served at /openapi.json).
    Openapi,
    /// API keys of the data dir: create (the key is shown once), list, revoke. Works while
    /// a server runs (it sees the change on its next request).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Usage from the query log: queries per collection and domain per day, answer latency
    /// percentiles, cache hit rates, unanswered rate, top queries.
    Analytics(AnalyticsArgs),
    /// A/B/n experiments (`[[experiments]]`): list them, report one from the query log and
    /// its feedback (per arm with 95% intervals, and the better arm if significant).
    #[command(subcommand)]
    Experiments(ExperimentsCommand),
    /// Drift of the routed questions (route shares, out-of-scope rate, mean query
    /// embedding) against a reference window; exits 3 when a threshold is crossed.
    #[command(subcommand)]
    Drift(DriftCommand),
    /// Meeting memory: ingest transcripts (QMSum JSON, meeting JSON, WebVTT, SRT, `Speaker:
    /// text`), query with activation and bridges, delete, list, consolidate, stats.
    #[command(subcommand)]
    Memory(MemoryCommand),
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Ingest transcripts; a meeting already stored is replaced (unchanged: skipped).
    Ingest(MemoryIngestArgs),
    /// Query memories: direct hits per level, activated memories, bridges.
    Query(MemoryQueryArgs),
    /// Delete a meeting with its memories, edges and cached results.
    Delete(MeetingArg),
    /// List stored meetings.
    List,
    /// Update importance (decay, access, recurrence), promote recurring episodes into
    /// cross-meeting clusters, remove stale clusters and concepts.
    Consolidate(ConsolidateArgs),
    /// Memories per level and edges.
    Stats,
    /// Measure ingest (turns/s) and cognitive query latency per stage on QMSum files plus
    /// copies under new ids and series (to reach 10K+ episodic memories).
    Bench(MemoryBenchArgs),
}

#[derive(Debug, Args)]
pub struct MemoryBenchArgs {
    /// Folder of QMSum-format .json files.
    pub dir: PathBuf,
    /// Copies of every meeting ingested under new ids (`ES2004a-c1`) and series (`ES2004-c1`).
    #[arg(long, default_value_t = 5)]
    pub copies: usize,
    /// Times each query is run (after one warm-up).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

#[derive(Debug, Args)]
pub struct MemoryIngestArgs {
    /// Transcript files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Meeting id [default: the file name without extension]; one FILE only.
    #[arg(long)]
    pub meeting_id: Option<String>,
    /// Title [default: the id].
    #[arg(long)]
    pub title: Option<String>,
    /// Date, YYYY-MM-DD.
    #[arg(long)]
    pub date: Option<String>,
    /// Series or project [default: the id without its trailing part, ES2004a → ES2004].
    #[arg(long)]
    pub series: Option<String>,
    /// Domain (keys restricted to domains see only their meetings).
    #[arg(long)]
    pub domain: Option<String>,
}

#[derive(Debug, Args)]
pub struct MemoryQueryArgs {
    /// The question.
    pub query: String,
    /// Direct results per level (1-50).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Skip activation spreading.
    #[arg(long)]
    pub no_activation: bool,
    /// Skip bridge discovery.
    #[arg(long)]
    pub no_bridges: bool,
    /// Most activated memories (10-100).
    #[arg(long, default_value_t = 50)]
    pub max_activations: usize,
    /// Only this meeting.
    #[arg(long)]
    pub meeting: Option<String>,
    /// Only this series.
    #[arg(long)]
    pub series: Option<String>,
    /// Only memories where this participant speaks.
    #[arg(long)]
    pub participant: Option<String>,
    /// Meetings on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub date_from: Option<String>,
    /// Meetings on or before this date.
    #[arg(long)]
    pub date_to: Option<String>,
    /// Memory type: decision, action_item, question, commitment, risk, idea, statement, cluster, topic, person, product, date, number.
    #[arg(long)]
    pub r#type: Option<String>,
    /// Only meetings of this domain.
    #[arg(long)]
    pub domain: Option<String>,
}

#[derive(Debug, Args)]
pub struct MeetingArg {
    /// Meeting id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// The time to consolidate at (RFC 3339, e.g. 2026-12-01T00:00:00) [default: now].
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalMeetingsArgs {
    /// Folder of QMSum-format .json files.
    pub dir: PathBuf,
    /// own (each query filtered to its meeting), all (no filter), or both.
    #[arg(long, value_delimiter = ',', default_value = "own,all")]
    pub setting: Vec<String>,
    /// Context budgets in whitespace tokens.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000")]
    pub budget: Vec<usize>,
    /// Activation (and bridges) on, off, or both (`on,off`).
    #[arg(long, value_delimiter = ',', default_value = "on,off", value_parser = parse_on_off)]
    pub activation: Vec<bool>,
    /// Direct results per level.
    #[arg(long, default_value_t = 4)]
    pub limit_per_level: usize,
    /// Consolidation time (unix ms): fixed so runs compare.
    #[arg(long, default_value_t = 1_767_225_600_000)]
    pub consolidate_at_ms: i64,
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("`{s}`: expected on or off")),
    }
}

#[derive(Debug, Subcommand)]
pub enum CollectionsCommand {
    /// List collections with document and chunk counts.
    List,
    /// One collection: counts, embedding model, chunking, revision.
    Show(CollectionArg),
    /// Create an empty collection with the current chunking and embedding settings.
    Create(CollectionArg),
    /// Delete a collection, its documents and indexes.
    Delete(CollectionArg),
    /// Check that the catalog and both indexes of a collection agree.
    Verify(CollectionArg),
}

#[derive(Debug, Args)]
pub struct CollectionArg {
    /// Collection name.
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// List the documents of a collection.
    List(CollectionJson),
    /// One document: id, source, format, hash, chunks, metadata.
    Show(DocumentArgs),
    /// Delete documents from a collection.
    Delete(DocumentsDeleteArgs),
}

#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// The document: its id (as listed) or its source (the path given to ingest).
    pub document: String,
    /// Collection.
    #[arg(long, short)]
    pub collection: String,
}

#[derive(Debug, Args)]
pub struct DocumentsDeleteArgs {
    /// Documents: ids (as listed) or sources (paths as ingested).
    #[arg(required = true)]
    pub documents: Vec<String>,
    /// Collection.
    #[arg(long, short)]
    pub collection: String,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first.
    List(JobsListArgs),
    /// One job with each file's status and error.
    Show(JobArg),
}

#[derive(Debug, Args)]
pub struct JobsListArgs {
    /// Only jobs in this state: queued, running, done, failed.
    #[arg(long)]
    pub status: Option<String>,
    /// Jobs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Jobs to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
}

#[derive(Debug, Args)]
pub struct JobArg {
    /// The job's id.
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (only lore's hash of it is stored).
    Create(KeysCreateArgs),
    /// List keys (ids, roles, restrictions, expiry; never the secrets).
    List,
    /// Revoke a key by id: refused from the next request on.
    Revoke(KeysRevokeArgs),
}

#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// reader (search, answer), writer (+ upload, delete) or admin (+ keys, cache, config).
    #[arg(long)]
    pub role: lore_core::Role,
    /// A label for people, e.g. team-hr [default: the role].
    #[arg(long)]
    pub name: Option<String>,
    /// Collections the key may use, comma-separated [default: all].
    #[arg(long)]
    pub collections: Option<String>,
    /// Domains whose documents the key may see, comma-separated [default: all].
    #[arg(long)]
    pub domains: Option<String>,
    /// Quota, e.g. 60/min,1000/h [default: [rate_limit] per_key].
    #[arg(long)]
    pub rate: Option<lore_core::Rate>,
    /// Expiry: a duration (30d, 12h) or a date (2027-01-31) [default: never].
    #[arg(long)]
    pub expires: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeysRevokeArgs {
    /// The key's id (12 hex digits, as listed).
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// The experiments of lore.toml.
    List,
    /// One experiment's report.
    Report(ExperimentArg),
}

#[derive(Debug, Args)]
pub struct ExperimentArg {
    /// The experiment's id.
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Today (or the last --days) against the days before (--reference-days).
    Report(DriftArgs),
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Days of the recent window, today included [default: [analytics.drift] current_days].
    #[arg(long)]
    pub days: Option<u32>,
    /// Days of the reference window before it [default: [analytics.drift] reference_days].
    #[arg(long)]
    pub reference_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// Days back from now.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Top queries listed.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// `lore serve` takes only settings flags (`--bind`, `--default-collection`,
/// `--request-timeout`, `--max-body-mb`, `--upload-wait`, `--no-auth`; from
/// `lore_settings::FLAGS`).
#[derive(Debug, Args)]
pub struct ServeArgs {}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (TOML, or JSON with --json), each value's origin
    /// (default, file, env, flag) beside it, secrets redacted.
    Show,
    /// Validate a settings file without starting anything: unknown sections and keys and
    /// wrong types are named with their line.
    Check(ConfigCheckArgs),
}

#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    /// The file.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Embedding throughput on the chunks of a BEIR corpus (the ingest workload).
    Embed(BenchEmbedArgs),
    /// Answer latency per stage: lore's overhead around the generator, TTFT, tokens/s.
    Answer(BenchAnswerArgs),
    /// Replay a Zipf-distributed query log with paraphrases, without and with caches:
    /// hit rate per layer, latency side by side, stale answers.
    Cache(BenchCacheArgs),
    /// Write lore's hostile sample files (deep nesting, decompression bombs) into DIR, for
    /// bench/hostile_ingest.sh to measure peak memory while each is ingested.
    HostileFiles(HostileFilesArgs),
}

#[derive(Debug, Args)]
pub struct HostileFilesArgs {
    /// Directory to write into (created).
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Per-layer entries, bytes, hits, misses, hit rate, evictions; semantic reuse; Redis.
    Stats(CacheServerArgs),
    /// Invalidate cached entries: everything, a collection's, a document's, or one key.
    Clear(CacheClearArgs),
    /// Answer the questions of a file (one per line, `#` comments) so their answers are cached.
    Warm(CacheWarmArgs),
}

#[derive(Debug, Args)]
pub struct CacheServerArgs {
    /// The server's base URL.
    #[arg(long, env = "LORE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

#[derive(Debug, Args)]
pub struct CacheClearArgs {
    /// The server's base URL.
    #[arg(long, env = "LORE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Everything, in every layer.
    #[arg(long, conflicts_with_all = ["collection", "key"])]
    pub all: bool,
    /// A collection's entries (with --document: one document's).
    #[arg(long, short)]
    pub collection: Option<String>,
    /// Document id (as listed by `lore documents` or the API), with --collection.
    #[arg(long, requires = "collection")]
    pub document: Option<i64>,
    /// One key, as returned in an answer's `cache_key`.
    #[arg(long, conflicts_with = "collection")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct CacheWarmArgs {
    /// Questions, one per line (blank lines and lines starting with `#` skipped).
    pub file: PathBuf,
    /// The server's base URL.
    #[arg(long, env = "LORE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Collection [default: the server's default collection].
    #[arg(long, short)]
    pub collection: Option<String>,
    /// Generator [default: the server's].
    #[arg(long, short)]
    pub generator: Option<GeneratorKind>,
    /// Metadata filters, key=value (repeatable).
    #[arg(long = "filter", short = 'f')]
    pub filters: Vec<String>,
    /// Questions per request (the server takes at most 100).
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
}

#[derive(Debug, Args)]
pub struct BenchCacheArgs {
    /// BEIR folder (queries.jsonl for the log, corpus.jsonl to change and restore a document).
    pub beir: PathBuf,
    /// Collection holding the corpus (as ingested by `lore eval beir`).
    #[arg(long, short)]
    pub collection: String,
    /// Paraphrases, JSON lines {"_id", "text"}: used for repeats of those queries.
    #[arg(long)]
    pub paraphrases: Option<PathBuf>,
    /// Requests in the log.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Zipf exponent s (query of popularity rank r drawn with weight 1/r^s).
    #[arg(long, default_value_t = 1.0)]
    pub zipf: f64,
    /// Share of the repeats of a paraphrased query asked in its paraphrase.
    #[arg(long, default_value_t = 0.5)]
    pub paraphrase_rate: f64,
    /// Seed of the log.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// At this request, the top document of the most popular query is replaced by an edited
    /// version (restored after the run); 0: no change.
    #[arg(long, default_value_t = 500)]
    pub change_at: usize,
    /// Generator.
    #[arg(long, short)]
    pub generator: Option<GeneratorKind>,
}

#[derive(Debug, Args)]
pub struct BenchAnswerArgs {
    /// Questions: a BEIR queries.jsonl ({"_id","text"}) or an answer set ({"question"}).
    pub queries: PathBuf,
    /// Collection to answer from.
    #[arg(long, short)]
    pub collection: String,
    /// Generator to measure.
    #[arg(long, short)]
    pub generator: Option<GeneratorKind>,
    /// Embedded model (file under <models>/llm/ or a path).
    #[arg(long)]
    pub llm_model: Option<String>,
    /// Questions to take from the start of the file.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Passages per answer.
    #[arg(long, short = 'k', default_value_t = 5)]
    pub top_k: usize,
    /// Answer token cap (small keeps a remote LLM's share of the run short).
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
}

#[derive(Debug, Args)]
pub struct BenchEmbedArgs {
    /// BEIR corpus.jsonl.
    pub corpus: PathBuf,
    /// Documents to take from the start of the corpus.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Write the embedded texts as JSON lines, for the reference implementation to embed the same input.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectionJson {
    /// Collection name.
    #[arg(long, short)]
    pub collection: String,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Collection to ingest into (created if absent).
    #[arg(long, short)]
    pub collection: String,
    /// Domain metadata, e.g. hr, engineering.
    #[arg(long)]
    pub domain: Option<String>,
    /// Department metadata.
    #[arg(long)]
    pub department: Option<String>,
    /// Document type metadata, e.g. manual, policy.
    #[arg(long)]
    pub doc_type: Option<String>,
    /// Tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// When the chunking asked for (--chunk-tokens, --chunk-overlap, [chunking]) differs
    /// from the collection's: delete the collection's documents and record the new
    /// chunking, so this run's documents are the collection. Without it such a run is
    /// refused (a collection never mixes chunk sizes).
    #[arg(long)]
    pub rechunk: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query.
    pub query: String,
    /// Collection(s) to search, comma-separated: several are fused by reciprocal rank.
    #[arg(long, short, value_delimiter = ',', required = true)]
    pub collection: Vec<String>,
    /// Number of results.
    #[arg(long, short = 'k', default_value_t = lore_rag::DEFAULT_TOP_K)]
    pub top_k: usize,
    /// bm25, dense or hybrid (RRF of both).
    #[arg(long, short, default_value = "hybrid")]
    pub mode: SearchMode,
    /// Metadata filter key=value (keys: domain, department, doc_type, tag, source); repeatable.
    #[arg(long = "filter", short = 'f')]
    pub filters: Vec<Filter>,
    /// Candidates per leg fused in hybrid mode.
    #[arg(long, default_value_t = lore_rag::DEFAULT_CANDIDATES)]
    pub candidates: usize,
}

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Classify a question: its route (or out of scope), probability and candidates.
    Classify(RoutesClassifyArgs),
    /// The route set in use: version, routes, the out-of-scope gate's tuning, versions.
    Show,
    /// Fit the tier router on labelled questions (as `lore eval tiers` reads) and store it
    /// in the data dir (routes/tier-router.json).
    TrainTier(TrainTierArgs),
}

#[derive(Debug, Args)]
pub struct TrainTierArgs {
    /// JSON lines: prompt/text, weak_correct/small_ok, strong_correct/large_ok.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RoutesClassifyArgs {
    /// The question.
    pub question: String,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question.
    pub question: String,
    /// Collection(s) to answer from, comma-separated: several are fused by reciprocal rank.
    #[arg(long, short, value_delimiter = ',', required_unless_present_any = ["memory", "route"])]
    pub collection: Vec<String>,
    /// Route the question ([[routes]]): its route picks the collections, filters and
    /// prompt, or refuses it [collection default: [server] default_collection].
    #[arg(long, conflicts_with = "memory")]
    pub route: bool,
    /// Answer from the meeting memory (episodic memories, cited by meeting, turns and
    /// speakers) instead of a collection.
    #[arg(long, conflicts_with = "collection")]
    pub memory: bool,
    /// Passages to retrieve [default: 5, or [llm] top_k].
    #[arg(long, short = 'k')]
    pub top_k: Option<usize>,
    /// Retrieval: bm25, dense or hybrid.
    #[arg(long, short, default_value = "hybrid")]
    pub mode: SearchMode,
    /// Metadata filter key=value (keys: domain, department, doc_type, tag, source); repeatable.
    #[arg(long = "filter", short = 'f')]
    pub filters: Vec<Filter>,
    /// embedded (GGUF model in process), openai (LORE_LLM_BASE_URL) or extractive (no LLM) [default: the llm.generator setting].
    #[arg(long, short)]
    pub generator: Option<GeneratorKind>,
    /// Embedded model: a file under <models>/llm/ or a GGUF path [default: SmolLM2-135M-Instruct.Q4_1.gguf].
    #[arg(long)]
    pub llm_model: Option<String>,
    /// Prompt template, `name` or `name@version` (built-in: default, concise; more in <data dir>/prompts/).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Unsupported sentences: flag (JSON only), mark ([unsupported] in the text) or remove.
    #[arg(long)]
    pub grounding: Option<GroundingAction>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Evaluate on a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/test.tsv).
    Beir(BeirArgs),
    /// Score generators on a labelled question set (key fact present, right file cited).
    Answers(EvalAnswersArgs),
    /// Calibrate the grounding check's similarity threshold on labelled sentences.
    Grounding(EvalGroundingArgs),
    /// Meeting memory on QMSum-format files: cov@B, succ@B, nDCG@10 per setting.
    Meetings(EvalMeetingsArgs),
    /// Route classification on labelled questions: in-scope accuracy, out-of-scope recall
    /// and precision, macro-F1, confused pairs, latency.
    Routes(EvalRoutesArgs),
    /// Tier routing on labelled questions (small/large model correct): APGR, CPT, the
    /// share of large-model calls needed for 95% of its quality, by cross-validation.
    Tiers(EvalTiersArgs),
}

#[derive(Debug, Args)]
pub struct EvalTiersArgs {
    /// JSON lines: prompt/text, weak_correct/small_ok, strong_correct/large_ok.
    pub file: PathBuf,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
}

#[derive(Debug, Args)]
pub struct EvalRoutesArgs {
    /// Labelled questions to score (JSON lines: text, intent or route; "oos" = out of scope).
    pub file: PathBuf,
    /// Examples to fit the classifier on (same format).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation questions to tune the out-of-scope gate on [default: 5-fold
    /// cross-validation on --train].
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Keep N training examples of each label, drawn at random with --seed.
    #[arg(long)]
    pub few_shot: Option<usize>,
    /// Seed of the --few-shot draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Intent -> domain map (`{"domain": ["intent", ...]}`) [default: domains.json beside FILE].
    #[arg(long)]
    pub domains: Option<PathBuf>,
    /// Tune the gate for this out-of-scope recall (0..1) at the best in-scope accuracy
    /// (as `[routing] oos_recall`).
    #[arg(long, default_value_t = 0.8)]
    pub oos_recall: f32,
    /// Tune the gate for the best accuracy over all labels instead (Larson et al.'s rule).
    #[arg(long)]
    pub paper_rule: bool,
    /// The embedding alone, without the n-gram features.
    #[arg(long)]
    pub no_lexical: bool,
}

#[derive(Debug, Args)]
pub struct EvalAnswersArgs {
    /// The question set (JSON lines: id, question, key, files).
    #[arg(default_value = "eval/answers.jsonl")]
    pub set: PathBuf,
    /// Collection holding the documents.
    #[arg(long, short, default_value = "docs")]
    pub collection: String,
    /// Ingest this folder into the collection first (unchanged files are skipped).
    #[arg(long)]
    pub docs: Option<PathBuf>,
    /// Generators to score, comma-separated.
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "embedded,extractive"
    )]
    pub generators: Vec<GeneratorKind>,
    /// Embedded model (file under <models>/llm/ or a path).
    #[arg(long)]
    pub llm_model: Option<String>,
    /// Print each answer as it is scored.
    #[arg(long)]
    pub show: bool,
}

#[derive(Debug, Args)]
pub struct EvalGroundingArgs {
    /// Labelled sentences (JSON lines: question, sentence, supported).
    #[arg(default_value = "eval/grounding.jsonl")]
    pub set: PathBuf,
    /// Collection holding the documents.
    #[arg(long, short, default_value = "docs")]
    pub collection: String,
}

#[derive(Debug, Args)]
pub struct BeirArgs {
    /// The folder.
    pub dir: PathBuf,
    /// bm25, dense, hybrid or all.
    #[arg(long, short, default_value = "all")]
    pub mode: String,
    /// Collection to ingest into / reuse [default: beir-<folder name>].
    #[arg(long, short)]
    pub collection: Option<String>,
    /// Chunks fetched per leg.
    #[arg(long, default_value_t = 300)]
    pub candidates: usize,
}
