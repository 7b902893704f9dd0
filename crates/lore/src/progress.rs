//! Ingest progress: a bar with chunks/s and ETA on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use lore_rag::{FileStatus, IngestEvent};

pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    last_line: Instant,
    files: u64,
    total: u64,
    chunks: usize,
}

impl Progress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {msg}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            start: now,
            last_line: now,
            files: 0,
            total: 0,
            chunks: 0,
        }
    }

    fn rate(&self) -> f64 {
        self.chunks as f64 / self.start.elapsed().as_secs_f64().max(1e-3)
    }

    pub fn event(&mut self, e: IngestEvent) {
        match e {
            IngestEvent::Found(n) => {
                self.total = n as u64;
                if let Some(b) = &self.bar {
                    b.set_length(self.total);
                } else {
                    eprintln!("ingest: {n} files");
                }
            }
            IngestEvent::File { report: r, .. } => {
                self.files += 1;
                let line = match &r.status {
                    FileStatus::Added { chunks } => format!("added {} ({chunks} chunks)", r.source),
                    FileStatus::Updated { chunks } => {
                        format!("updated {} ({chunks} chunks)", r.source)
                    }
                    FileStatus::Unchanged => format!("unchanged {}", r.source),
                    FileStatus::Failed { code, reason } => {
                        format!("failed {} ({code}): {reason}", r.source)
                    }
                };
                match &self.bar {
                    Some(b) => {
                        b.set_position(self.files);
                        if matches!(r.status, FileStatus::Failed { .. }) {
                            b.println(format!("error: {line}"));
                        }
                    }
                    None => {
                        if matches!(r.status, FileStatus::Failed { .. }) {
                            eprintln!("error: {line}");
                        } else if tracing::enabled!(tracing::Level::INFO) {
                            eprintln!("{line}");
                        }
                    }
                }
            }
            IngestEvent::Chunks(n) => {
                self.chunks = n;
                let rate = self.rate();
                match &self.bar {
                    Some(b) => b.set_message(format!("{n} chunks, {rate:.1} chunks/s")),
                    None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                        self.last_line = Instant::now();
                        eprintln!(
                            "progress: {}/{} files, {n} chunks, {rate:.1} chunks/s",
                            self.files, self.total
                        );
                    }
                    None => {}
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
