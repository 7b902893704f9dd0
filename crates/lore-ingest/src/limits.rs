//! Per-file limits that keep one hostile file from taking the process down: nesting
//! depth, decompressed bytes (absolute and as a ratio of the compressed size, counted while
//! inflating), and extracted text.
//!
//! The defaults are sized for a 2-core, few-GiB machine: real documents sit far below them
//! (the largest file in `../shared/data/docs` inflates to 3.1 MiB), while a decompression
//! bomb is stopped before it has allocated more than [`Limits::max_inflated_bytes`].

use serde::{Deserialize, Serialize};

use crate::{Format, IngestError};

/// Limits applied to every file while it is extracted (`[ingest]` in `lore.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting a file may have: HTML elements (html5ever's tree builder takes
    /// quadratic time in it), PDF form XObjects inside each other and page-tree parents.
    /// Markdown and DOCX are walked without recursion and need no cap. Default 512 (real
    /// pages nest a few dozen levels).
    pub max_depth: usize,
    /// Bytes one file may inflate to, summed over its compressed parts (DOCX entries, PDF
    /// streams). Default 128 MiB.
    pub max_inflated_bytes: u64,
    /// Inflated bytes per compressed byte a file may reach once it is past
    /// [`Limits::ratio_floor_bytes`]. Default 200 (text compresses 3-20×; the hostile test's
    /// DOCX reached 1,000×). The bound is counted while inflating, never after.
    pub max_inflate_ratio: u64,
    /// Inflated bytes below which the ratio is not checked (small, highly repetitive parts
    /// such as a styles.xml compress far beyond any ratio). Default 4 MiB.
    pub ratio_floor_bytes: u64,
    /// Extracted text per file, bytes. Default 32 MiB.
    pub max_text_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 512,
            max_inflated_bytes: 128 << 20,
            max_inflate_ratio: 200,
            ratio_floor_bytes: 4 << 20,
            max_text_bytes: 32 << 20,
        }
    }
}

/// Counts the bytes a file inflates to, across all its compressed parts.
#[derive(Debug)]
pub(crate) struct InflateBudget {
    format: Format,
    limits: Limits,
    compressed: u64,
    inflated: u64,
}

impl InflateBudget {
    /// A budget for one file of `compressed` bytes.
    pub(crate) fn new(format: Format, limits: &Limits, compressed: u64) -> Self {
        InflateBudget {
            format,
            limits: *limits,
            compressed,
            inflated: 0,
        }
    }

    /// Bytes inflated so far.
    pub(crate) fn inflated(&self) -> u64 {
        self.inflated
    }

    /// Adds `n` inflated bytes.
    ///
    /// # Errors
    /// [`IngestError::TooLarge`] once the absolute cap or the ratio is passed.
    pub(crate) fn add(&mut self, n: u64) -> Result<(), IngestError> {
        self.inflated = self.inflated.saturating_add(n);
        let ratio_cap = self
            .compressed
            .max(1)
            .saturating_mul(self.limits.max_inflate_ratio)
            .max(self.limits.ratio_floor_bytes);
        if self.inflated > self.limits.max_inflated_bytes {
            return Err(IngestError::TooLarge(format!(
                "{} inflates past {} bytes (ingest.max_inflated_bytes): a decompression bomb?",
                self.format, self.limits.max_inflated_bytes
            )));
        }
        if self.inflated > ratio_cap {
            return Err(IngestError::TooLarge(format!(
                "{} inflates more than {}× its {} bytes (ingest.max_inflate_ratio): a decompression bomb?",
                self.format, self.limits.max_inflate_ratio, self.compressed
            )));
        }
        Ok(())
    }

    /// Reads all of `reader` (a decompressor) into memory, stopping as soon as the budget
    /// is passed.
    ///
    /// # Errors
    /// [`IngestError::TooLarge`]; the reader's own error as [`IngestError::Corrupt`].
    pub(crate) fn read_all(
        &mut self,
        mut reader: impl std::io::Read,
    ) -> Result<Vec<u8>, IngestError> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(IngestError::Corrupt {
                        format: self.format,
                        reason: format!("cannot inflate: {e}"),
                    })
                }
            };
            self.add(n as u64)?;
            out.extend_from_slice(&buf[..n]);
        }
    }
}

/// Refuses extracted text over [`Limits::max_text_bytes`].
///
/// # Errors
/// [`IngestError::TooLarge`].
pub(crate) fn check_text(format: Format, limits: &Limits, bytes: u64) -> Result<(), IngestError> {
    if bytes > limits.max_text_bytes {
        return Err(IngestError::TooLarge(format!(
            "{format} holds more than {} bytes of text (ingest.max_text_bytes)",
            limits.max_text_bytes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_applies_past_the_floor_only() {
        let limits = Limits {
            max_inflated_bytes: 100 << 20,
            max_inflate_ratio: 10,
            ratio_floor_bytes: 1 << 20,
            ..Limits::default()
        };
        // 1 KiB compressed may inflate to the 1 MiB floor...
        let mut b = InflateBudget::new(Format::Docx, &limits, 1024);
        assert!(b.add(1 << 20).is_ok());
        // ...but not past it.
        assert!(matches!(b.add(1), Err(IngestError::TooLarge(_))));
        // 1 MiB compressed may reach 10 MiB, not the absolute cap.
        let mut b = InflateBudget::new(Format::Pdf, &limits, 1 << 20);
        assert!(b.add(10 << 20).is_ok());
        assert!(b.add(1).is_err());
    }

    #[test]
    fn reading_stops_at_the_cap_not_after() {
        let limits = Limits {
            max_inflated_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut b = InflateBudget::new(Format::Docx, &limits, 1 << 20);
        // An endless reader: read_all must stop near the cap.
        let endless = std::io::repeat(b'a');
        assert!(matches!(b.read_all(endless), Err(IngestError::TooLarge(_))));
        assert!(b.inflated() <= (1 << 20) + 64 * 1024);
    }
}
