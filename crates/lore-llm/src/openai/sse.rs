//! A reader of `text/event-stream` (Server-Sent Events), as specified by WHATWG HTML
//! §9.2.6 "Interpreting an event stream": lines end in LF or CRLF; `field: value` with one
//! optional space after the colon; `data` lines of one event are joined with LF; a blank line
//! dispatches the event; lines starting with `:` are comments. Only the `data` field matters
//! to OpenAI-compatible chat streams, so the others are read and dropped.

use std::io::{self, BufRead};

/// Reads events' `data` payloads one at a time from a byte stream.
pub struct SseReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> SseReader<R> {
    pub fn new(inner: R) -> Self {
        SseReader {
            inner,
            line: Vec::new(),
        }
    }

    /// The next event's data, `Ok(None)` at a clean end of stream (an event cut off by the
    /// end of the stream is dropped, as the spec says).
    ///
    /// # Errors
    /// I/O errors of the underlying stream (a timeout, a reset connection); invalid UTF-8.
    pub fn next_data(&mut self) -> io::Result<Option<String>> {
        let mut data: Option<String> = None;
        loop {
            self.line.clear();
            let n = self.inner.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(None);
            }
            let mut line = self.line.as_slice();
            if let Some(rest) = line.strip_suffix(b"\n") {
                line = rest;
            }
            if let Some(rest) = line.strip_suffix(b"\r") {
                line = rest;
            }
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return Ok(Some(data));
                }
                continue;
            }
            if line.starts_with(b":") {
                continue;
            }
            let line = std::str::from_utf8(line)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            if field == "data" {
                match data.as_mut() {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str) -> Vec<String> {
        let mut r = SseReader::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(d) = r.next_data().unwrap() {
            out.push(d);
        }
        out
    }

    #[test]
    fn reads_events_comments_crlf_and_multiline_data() {
        let s = ": keep-alive\n\ndata: {\"a\":1}\n\nevent: x\r\ndata:b\r\ndata: c\r\n\r\ndata: [DONE]\n\n";
        assert_eq!(all(s), ["{\"a\":1}", "b\nc", "[DONE]"]);
    }

    #[test]
    fn drops_an_event_cut_off_by_the_end() {
        assert_eq!(all("data: one\n\ndata: two"), ["one"]);
    }
}
