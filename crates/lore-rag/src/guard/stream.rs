//! Masking a streamed answer: text is held back to the end of a sentence (or line), masked,
//! then sent, so a phone number split across tokens is masked whole.

use super::Masker;

/// Text held back at most before it is sent at the last space (bounded delay).
const MAX_HELD: usize = 2_048;

/// Buffers streamed text and releases it masked, a sentence at a time.
#[derive(Default)]
pub struct StreamMasker {
    held: String,
}

impl StreamMasker {
    /// Adds `piece`; returns the masked text that can be sent now, if any.
    pub fn push(&mut self, masker: &Masker, piece: &str) -> Option<String> {
        self.held.push_str(piece);
        let cut = sentence_end(&self.held).or_else(|| {
            (self.held.len() > MAX_HELD)
                .then(|| self.held.rfind(char::is_whitespace).map(|i| i + 1))
                .flatten()
        })?;
        let rest = self.held.split_off(cut);
        let ready = std::mem::replace(&mut self.held, rest);
        Some(masker.mask(&ready).into_owned())
    }

    /// The rest, masked.
    pub fn finish(&mut self, masker: &Masker) -> Option<String> {
        let rest = std::mem::take(&mut self.held);
        (!rest.is_empty()).then(|| masker.mask(&rest).into_owned())
    }
}

/// The byte offset just after the last sentence end (`.`, `?`, `!` followed by
/// whitespace) or newline: PII never spans one.
fn sentence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (1..bytes.len())
        .rev()
        .find(|&i| {
            bytes[i] == b'\n'
                || (bytes[i].is_ascii_whitespace() && matches!(bytes[i - 1], b'.' | b'?' | b'!'))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_split_across_tokens_is_masked_whole() {
        let m = Masker::all();
        let mut s = StreamMasker::default();
        let mut out = String::new();
        for piece in [
            "Call +1 415",
            "-555-",
            "0132 or ",
            "mail a",
            "@b.io. Then",
            " wait.\nOk",
        ] {
            if let Some(t) = s.push(&m, piece) {
                out.push_str(&t);
            }
        }
        out.extend(s.finish(&m));
        assert_eq!(out, "Call [PHONE] or mail [EMAIL]. Then wait.\nOk");
    }
}
