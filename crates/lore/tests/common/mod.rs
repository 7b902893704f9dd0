//! Helpers for end-to-end tests: run the real `lore` binary on real files.
#![allow(dead_code)]

pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `../shared/data/docs`.
pub fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/docs")
}

/// A small mixed-format subset of the demo documents (about 200 chunks), copied into `dir`
/// so tests can refer to stable relative sources.
pub fn copy_subset(dir: &Path) -> Vec<PathBuf> {
    let names = [
        "rust-book-ch08-01-vectors.md",
        "rust-book-ch08-03-hash-maps.md",
        "rust-book-ch04-01-what-is-ownership.md",
        "httpd-vhosts-name-based.html",
        "httpd-bind.html",
        "httpd-howto-access.html",
        "httpd-INSTALL.txt",
        "federal-register-2020-17221.pdf",
        "docling-word-sample.docx",
    ];
    std::fs::create_dir_all(dir).unwrap();
    names
        .iter()
        .map(|n| {
            let to = dir.join(n);
            std::fs::copy(docs_dir().join(n), &to).unwrap();
            to
        })
        .collect()
}

/// `lore --data-dir DATA ARGS...`.
/// Polls `f` until it returns true, failing after `timeout`: for state that changes with
/// time (an expiry, a retry interval, a background writer), instead of a fixed sleep.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn lore(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lore"));
    c.arg("--data-dir").arg(data).env("LORE_LOG", "error");
    c
}

/// Runs and returns the output, panicking with stderr if it could not start.
pub fn run(c: &mut Command) -> Output {
    c.output().expect("run lore")
}

/// Asserts `out` is a success and returns its stdout.
pub fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "lore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a streamed `lore ask` succeeded and listed its sources (cited ones, or the
/// context when nothing was cited); returns stdout.
pub fn assert_streamed_with_sources(out: &Output) -> String {
    let stdout = stdout_ok(out);
    assert!(
        stdout.contains("Sources:") || stdout.contains("Context given to the model:"),
        "{stdout}"
    );
    stdout
}

/// Runs, asserts success, and parses stdout as JSON.
pub fn json(c: &mut Command) -> Value {
    let out = run(c);
    assert!(
        out.status.success(),
        "lore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// `lore search --json` hits.
pub fn search(data: &Path, collection: &str, query: &str, extra: &[&str]) -> Vec<Value> {
    let v = json(
        lore(data)
            .args(["search", query, "--collection", collection, "--json"])
            .args(extra),
    );
    v["hits"].as_array().cloned().unwrap_or_default()
}

/// Asserts `lore verify` reports catalog and indexes consistent.
pub fn assert_consistent(data: &Path, collection: &str) {
    let v = json(lore(data).args(["collections", "verify", collection, "--json"]));
    assert_eq!(v["ok"], true, "inconsistent store: {v}");
}

/// A data dir with `copy_subset` ingested into collection `docs`, made once per test binary.
pub fn ingested_subset() -> &'static Path {
    static DATA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, data) = DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let files = copy_subset(&dir.path().join("docs"));
        let data = dir.path().join("data");
        let out = run(lore(&data)
            .args(["ingest", "--collection", "docs"])
            .args(&files));
        assert!(
            out.status.success(),
            "ingest failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, data)
    });
    data
}

/// A copy of the data dir `from` at `to/data`, with `config` as its `lore.toml`: each test
/// works on its own copy of a data dir ingested once per test binary.
pub fn copy_data_dir(from: &Path, to: &Path, config: &str) -> PathBuf {
    let data = to.join("data");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(&data)
        .status()
        .unwrap()
        .success());
    std::fs::write(data.join("lore.toml"), config).unwrap();
    data
}

/// A `lore serve` process on a free loopback port, stopped with SIGTERM when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub url: String,
    /// An admin key of the data dir, without rate limit (empty with `LORE_AUTH=off`).
    pub key: String,
}

impl Server {
    /// Starts `lore --data-dir DATA serve --bind 127.0.0.1:0 EXTRA...` and waits for its
    /// "listening" line.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    /// [`Server::start_with_env`] with the server's stderr (its log) written to `log`.
    pub fn start_logged(data: &Path, extra: &[&str], env: &[(&str, &str)], log: &Path) -> Server {
        Server::spawn(data, extra, env, Some(log))
    }

    /// [`Server::start`] with environment variables set for the server.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(data, extra, env, None)
    }

    fn spawn(data: &Path, extra: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> Server {
        use std::io::BufRead;
        let key = if env.contains(&("LORE_AUTH", "off")) {
            String::new()
        } else {
            admin_key(data)
        };
        let mut cmd = lore(data);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped());
        if let Some(log) = log {
            cmd.stderr(std::fs::File::create(log).expect("log file"));
        }
        let mut child = cmd.spawn().expect("start lore serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Server { child, url, key }
    }

    /// A client sending this server's admin key.
    pub fn client(&self) -> reqwest::blocking::Client {
        http::client_with_key(&self.key)
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// Creates an unlimited admin key in the data dir (`lore keys create`) and returns it.
pub fn admin_key(data: &Path) -> String {
    key(
        data,
        &["--role", "admin", "--rate", "unlimited", "--name", "tests"],
    )
}

/// Creates a key with `args` (`--role reader --domains hr`) and returns it.
pub fn key(data: &Path, args: &[&str]) -> String {
    let out = run(lore(data).args(["keys", "create"]).args(args));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && key.starts_with("lore_sk_"),
        "keys create: {key} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    key
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redis-server` on a free loopback port, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Redis {
    pub fn start(port: u16, dir: &Path) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "redis-server (Debian package redis-server; scripts/setup-system.sh installs it)",
            );
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
