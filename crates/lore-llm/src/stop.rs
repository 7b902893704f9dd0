//! Stop sequences: generation ends where one appears, and no part of it is streamed.
//!
//! Small models often run on past their answer into an invented next turn ("Question: ...");
//! the prompt template lists the strings that mark such a turn. A streamed piece is held back
//! while it could still be the start of a stop sequence.

/// Filters a stream of text pieces against stop sequences.
pub(crate) struct StopFilter<'a> {
    stops: &'a [String],
    text: String,
    emitted: usize,
    hold: usize,
    stopped: bool,
}

impl<'a> StopFilter<'a> {
    pub(crate) fn new(stops: &'a [String]) -> Self {
        let hold = stops
            .iter()
            .map(|s| s.len().saturating_sub(1))
            .max()
            .unwrap_or(0);
        StopFilter {
            stops,
            text: String::new(),
            emitted: 0,
            hold,
            stopped: false,
        }
    }

    /// Adds `piece`; returns what can be passed on now (possibly empty). After a stop
    /// sequence appears, [`StopFilter::stopped`] is true and nothing more is accepted.
    pub(crate) fn push(&mut self, piece: &str) -> &str {
        if self.stopped {
            return "";
        }
        self.text.push_str(piece);
        // A stop sequence can only start in the held-back tail (or later).
        let mut from = self.emitted.saturating_sub(self.hold);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        let found = self
            .stops
            .iter()
            .filter_map(|s| self.text[from..].find(s.as_str()).map(|i| from + i))
            .min();
        let end = match found {
            Some(i) => {
                self.stopped = true;
                self.text.truncate(i);
                i
            }
            None => {
                let mut end = self.text.len().saturating_sub(self.hold).max(self.emitted);
                while !self.text.is_char_boundary(end) {
                    end -= 1;
                }
                end.max(self.emitted)
            }
        };
        let start = self.emitted;
        self.emitted = end;
        &self.text[start..end]
    }

    /// A stop sequence was seen.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// The held-back rest, at the end of the stream.
    pub(crate) fn finish(&mut self) -> &str {
        let start = self.emitted;
        self.emitted = self.text.len();
        &self.text[start..]
    }

    /// The whole text passed on, without the stop sequence.
    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut f = StopFilter::new(&stops);
        let mut streamed = String::new();
        for p in pieces {
            streamed.push_str(f.push(p));
            if f.stopped() {
                break;
            }
        }
        streamed.push_str(f.finish());
        let stopped = f.stopped();
        (streamed, f.into_text(), stopped)
    }

    #[test]
    fn cuts_at_a_stop_split_across_pieces() {
        let (streamed, text, stopped) = run(
            &["\nQuestion:"],
            &["It is drop [1].", "\nQues", "tion: what", " else?"],
        );
        assert_eq!(streamed, "It is drop [1].");
        assert_eq!(text, "It is drop [1].");
        assert!(stopped);
    }

    #[test]
    fn passes_everything_without_a_stop() {
        let (streamed, text, stopped) = run(&["\nQuestion:"], &["Quest", "ions are é", "\nfine"]);
        assert_eq!(streamed, "Questions are é\nfine");
        assert_eq!(text, streamed);
        assert!(!stopped);
        assert_eq!(run(&[], &["a", "b"]).0, "ab");
        // Multi-byte characters around the held-back window.
        let (streamed, _, stopped) =
            run(&["\nQuestion:"], &["ééééé", "—", "ü", "\nQ", "uestion: x"]);
        assert_eq!(streamed, "ééééé—ü");
        assert!(stopped);
    }
}
