//! Log set-up: JSON lines in serve mode (text for commands, or `[log] format = "text"`),
//! the level from `[log] level` (`LORE_LOG` sets it), and PII masked on every line whatever
//! the source (a question quoted in an error, an e-mail in a file name, a key pasted into
//! a header that ends up in a message).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use lore_rag::guard::Masker;
use lore_server::config::{LogConfig, LogFormat};
use tracing_subscriber::fmt::MakeWriter;

/// Writes each formatted line to stderr with PII masked. tracing's formatter hands the
/// writer one whole event per `write`, so a value is never split between two calls.
#[derive(Clone)]
struct MaskedStderr {
    masker: Arc<Masker>,
}

struct Line {
    masker: Arc<Masker>,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        // JSON lines are masked inside their string values only, so they stay JSON.
        std::io::stderr().write_all(self.masker.mask_json_line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line {
            masker: self.masker.clone(),
        }
    }
}

/// Installs the global subscriber. `explicit`: `[log] level` was set (file or
/// `LORE_LOG`), so it applies to commands too, not only to `lore serve`.
pub fn init(config: &LogConfig, explicit: bool, serving: bool, verbose: bool, masker: Masker) {
    let level = if serving || explicit {
        config.level.clone()
    } else if verbose {
        "info".to_string()
    } else {
        // A command logs only what goes wrong.
        "warn".to_string()
    };
    // A bare level keeps the PDF parsers quiet; a full filter (`info,lore_rag=debug`) is
    // taken as written.
    let directives = if level.contains('=') {
        level
    } else {
        format!("{level},pdf_extract=error,lopdf=error")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let writer = MaskedStderr {
        masker: Arc::new(masker),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if serving {
        // A panic caught at a boundary (a parser on one uploaded file, a handler) is logged
        // as one line of the log's format: the default hook's raw text (and backtrace)
        // would break a JSON log.
        std::panic::set_hook(Box::new(|info| {
            let thread = std::thread::current();
            tracing::error!(
                thread = thread.name().unwrap_or("unnamed"),
                panic = %info,
                "panic caught"
            );
        }));
    }
    if serving && config.format == LogFormat::Json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            .init();
    } else {
        builder
            // Colour codes only for a terminal: a log file stays greppable.
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init();
    }
}
