//! PII detection and masking: email, phone, US SSN, credit card (Luhn), IBAN (ISO 13616
//! mod-97), IPv4/IPv6, lore API keys, and patterns from the config.
//!
//! Each detector is a regex for candidates plus, where a format has one, a validator
//! (Luhn, mod-97, SSN area rules, digit counts), so order numbers and dates are not
//! masked as card or phone numbers. Matches are replaced by `[KIND]`; when two detectors
//! match overlapping text, the earlier one in [`PiiKind::ALL`] wins (an IBAN is not also
//! a phone number).

use std::borrow::Cow;
use std::net::Ipv6Addr;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A kind of personal data lore recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// A lore API key (`lore_sk_…`): the id is kept, the secret masked.
    ApiKey,
    /// An e-mail address.
    Email,
    /// An IBAN whose mod-97 check passes.
    Iban,
    /// A card number of 13-19 digits whose Luhn check passes.
    CreditCard,
    /// A US social security number `ddd-dd-dddd` (valid area, group and serial).
    Ssn,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A phone number: `+` and 8-15 digits, or 10-15 digits in groups.
    Phone,
}

impl PiiKind {
    /// Built-in kinds, in precedence order.
    pub const ALL: [PiiKind; 7] = [
        PiiKind::ApiKey,
        PiiKind::Email,
        PiiKind::Iban,
        PiiKind::CreditCard,
        PiiKind::Ssn,
        PiiKind::Ip,
        PiiKind::Phone,
    ];

    /// The replacement text.
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::ApiKey => "[API_KEY]",
            PiiKind::Email => "[EMAIL]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::CreditCard => "[CREDIT_CARD]",
            PiiKind::Ssn => "[SSN]",
            PiiKind::Ip => "[IP]",
            PiiKind::Phone => "[PHONE]",
        }
    }
}

/// A pattern from the config: `[[guard.patterns]] name = "employee_id", regex = "EMP-\\d{6}"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// Name; matches become `[NAME]` (upper-cased).
    pub name: String,
    /// Regular expression (Rust `regex` syntax).
    pub regex: String,
}

/// A detected span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Byte range in the text.
    pub range: std::ops::Range<usize>,
    /// The replacement (`[EMAIL]`).
    pub label: String,
}

/// A check of a regex candidate (Luhn, mod-97, ...).
type Validator = fn(&str) -> bool;

struct Detector {
    regex: Regex,
    label: String,
    /// Extra check of a candidate (`None`: every regex match counts).
    valid: Option<Validator>,
    /// The match must not touch letters, digits or `-` on either side (so groups inside
    /// UUIDs or longer numbers are not taken for phone numbers).
    bounded: bool,
    /// A byte-level test that the text may hold a match at all (skips the regex pass on
    /// most log lines: every line of the log goes through the masker).
    possible: fn(&[u8]) -> bool,
    /// When the validator refuses a match, retry it without its trailing space-separated
    /// groups (IBANs: the greedy pattern swallows a following `5` in `DE89 … 00 5`).
    trim_groups: bool,
}

fn always(_: &[u8]) -> bool {
    true
}

fn has_at(t: &[u8]) -> bool {
    t.contains(&b'@')
}

fn has_key_prefix(t: &[u8]) -> bool {
    t.windows(8).any(|w| w == b"lore_sk_")
}

/// Two letters then two digits (an IBAN's country and check digits, either case).
fn has_iban_head(t: &[u8]) -> bool {
    t.windows(4).any(|w| {
        w[0].is_ascii_alphabetic()
            && w[1].is_ascii_alphabetic()
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
    })
}

/// `ddd-dd-dddd` needs a digit, `-`, two digits, `-`.
fn has_ssn_shape(t: &[u8]) -> bool {
    t.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1] == b'-'
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
            && w[4] == b'-'
    })
}

/// Finds and masks PII.
pub struct Masker {
    detectors: Vec<Detector>,
}

/// A bad custom pattern.
#[derive(Debug, thiserror::Error)]
#[error("guard pattern `{name}`: {error}")]
pub struct PatternError {
    /// The pattern's name.
    pub name: String,
    /// The regex error.
    pub error: String,
}

impl Masker {
    /// A masker for the built-in `kinds` and the `custom` patterns.
    ///
    /// # Errors
    /// [`PatternError`] for a custom regex that does not compile.
    pub fn new(kinds: &[PiiKind], custom: &[CustomPattern]) -> Result<Self, PatternError> {
        let mut detectors = Vec::new();
        for kind in PiiKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
            detectors.push(builtin(kind));
        }
        for c in custom {
            detectors.push(Detector {
                regex: Regex::new(&c.regex).map_err(|e| PatternError {
                    name: c.name.clone(),
                    error: e.to_string(),
                })?,
                label: format!("[{}]", c.name.to_uppercase()),
                valid: None,
                bounded: false,
                possible: always,
                trim_groups: false,
            });
        }
        Ok(Masker { detectors })
    }

    /// Every built-in kind.
    pub fn all() -> Self {
        Masker {
            detectors: PiiKind::ALL.into_iter().map(builtin).collect(),
        }
    }

    /// The PII spans of `text`, in order, not overlapping.
    pub fn find(&self, text: &str) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        for d in &self.detectors {
            if !(d.possible)(text.as_bytes()) {
                continue;
            }
            for m in d.regex.find_iter(text) {
                let mut r = m.range();
                let accept = |r: &std::ops::Range<usize>| {
                    (!d.bounded || bounded(text, r))
                        && d.valid.is_none_or(|valid| valid(&text[r.clone()]))
                };
                while d.trim_groups && !accept(&r) {
                    match text[r.clone()].rfind(' ') {
                        Some(cut) if cut > 0 => r.end = r.start + cut,
                        _ => break,
                    }
                }
                if !accept(&r) {
                    continue;
                }
                if spans
                    .iter()
                    .any(|s| s.range.start < r.end && r.start < s.range.end)
                {
                    continue;
                }
                spans.push(Span {
                    range: r,
                    label: d.label.clone(),
                });
            }
        }
        spans.sort_by_key(|s| s.range.start);
        spans
    }

    /// A JSON log line with PII masked inside its string values only: keys, numbers and the
    /// line's structure are never touched (a float latency such as `1311.5` once matched
    /// the phone pattern and broke the line). Each string is unescaped, masked and
    /// escaped again, so a label never splits an escape sequence. A line that is not a
    /// JSON object is masked as text ([`Masker::mask`]).
    pub fn mask_json_line<'a>(&self, line: &'a str) -> Cow<'a, str> {
        if !line.trim_start().starts_with('{') {
            return self.mask(line);
        }
        let bytes = line.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            // The string token runs to the next unescaped quote.
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            let end = (i + 1).min(bytes.len());
            i = end;
            let is_key = bytes[end..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b':');
            if is_key {
                continue;
            }
            let token = &line[start..end];
            let Ok(value) = serde_json::from_str::<String>(token) else {
                continue;
            };
            if let Cow::Owned(masked) = self.mask(&value) {
                out.push_str(&line[copied..start]);
                out.push_str(&serde_json::to_string(&masked).unwrap_or_else(|_| "\"\"".into()));
                copied = end;
            }
        }
        if copied == 0 {
            return Cow::Borrowed(line);
        }
        out.push_str(&line[copied..]);
        Cow::Owned(out)
    }

    /// `text` with every PII span replaced by its label (borrowed when there is none).
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let spans = self.find(text);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in spans {
            out.push_str(&text[at..s.range.start]);
            out.push_str(&s.label);
            at = s.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

fn builtin(kind: PiiKind) -> Detector {
    let (pattern, valid, bounded): (&str, Option<Validator>, bool) = match kind {
        PiiKind::ApiKey => (r"lore_sk_[0-9a-fA-F]{12}_[0-9a-fA-F]{8,}", None, false),
        PiiKind::Email => (
            r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
            None,
            false,
        ),
        PiiKind::Iban => (
            r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b",
            Some(iban_valid),
            false,
        ),
        PiiKind::CreditCard => (r"\b\d(?:[ \-]?\d){12,18}\b", Some(luhn_valid), true),
        PiiKind::Ssn => (r"\b\d{3}-\d{2}-\d{4}\b", Some(ssn_valid), true),
        PiiKind::Ip => (
            r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
            Some(ip_valid),
            true,
        ),
        PiiKind::Phone => (
            // International numbers first (`+33 1 42 68 53 00`: groups of one digit after a
            // country code), then national ones (groups of two to four digits).
            r"\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,7}|\+?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{2,4}\)?){2,5}",
            Some(phone_valid),
            true,
        ),
    };
    let possible: fn(&[u8]) -> bool = match kind {
        PiiKind::ApiKey => has_key_prefix,
        PiiKind::Email => has_at,
        PiiKind::Iban => has_iban_head,
        PiiKind::Ssn => has_ssn_shape,
        PiiKind::CreditCard | PiiKind::Ip | PiiKind::Phone => always,
    };
    Detector {
        // The patterns are constants, tested below.
        regex: Regex::new(pattern).unwrap_or_else(|e| panic!("built-in PII pattern: {e}")),
        label: kind.label().to_string(),
        valid,
        bounded,
        possible,
        trim_groups: kind == PiiKind::Iban,
    }
}

fn bounded(text: &str, r: &std::ops::Range<usize>) -> bool {
    let before = text[..r.start].chars().next_back();
    let after = text[r.end..].chars().next();
    let touches = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    !touches(before) && !touches(after)
}

/// The Luhn checksum (ISO/IEC 7812-1) over the digits of `s`, 13-19 digits.
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The IBAN check (ISO 13616): move the first four characters to the end, letters to
/// numbers (A = 10), remainder mod 97 must be 1.
pub fn iban_valid(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
fn ssn_valid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [area, group, serial] = parts.as_slice() else {
        return false;
    };
    let area: u32 = area.parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && *group != "00" && *serial != "0000"
}

fn ip_valid(s: &str) -> bool {
    if s.contains('.') {
        return true; // the IPv4 alternative validates its octets itself
    }
    s.matches(':').count() >= 2
        && s.chars().any(|c| c.is_ascii_hexdigit())
        && s.parse::<Ipv6Addr>().is_ok()
}

fn phone_valid(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let grouped = s.chars().any(|c| matches!(c, ' ' | '.' | '-' | '(' | ')'));
    if s.starts_with('+') {
        (8..=15).contains(&digits)
    } else {
        grouped && (10..=15).contains(&digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_log_lines_keep_their_structure() {
        let m = Masker::all();
        let line = r#"{"latency_ms":1311.5423,"n":4155550132,"msg":"from bob@example.com \"q\"\nx","bob@example.com":1,"status":200}"#;
        let masked = m.mask_json_line(line);
        let v: serde_json::Value = serde_json::from_str(&masked).expect("still JSON");
        assert_eq!(v["latency_ms"], serde_json::json!(1311.5423));
        assert_eq!(v["n"], serde_json::json!(4155550132u64));
        assert_eq!(v["msg"], "from [EMAIL] \"q\"\nx");
        assert_eq!(v["status"], 200);
        // Keys are the program's own text, never masked.
        assert_eq!(v["bob@example.com"], 1);
        // Floats that once matched the phone and card patterns stay numbers.
        for latency in ["1311.4155550132", "0.41555501324", "4111111111111111.5"] {
            let line = format!(r#"{{"latency_ms":{latency}}}"#);
            assert_eq!(m.mask_json_line(&line), line);
        }
        // Text lines are masked as text.
        assert_eq!(m.mask_json_line("mail bob@example.com"), "mail [EMAIL]");
    }

    #[test]
    fn each_kind_is_masked() {
        let m = Masker::all();
        let cases = [
            ("write to jane.doe+hr@example.co.uk today", "write to [EMAIL] today"),
            ("call +1 415-555-0132 now", "call [PHONE] now"),
            ("call (415) 555-0132 now", "call [PHONE] now"),
            ("call +44 20 7946 0958", "call [PHONE]"),
            ("appelez le +33 1 42 68 53 00.", "appelez le [PHONE]."),
            ("iban de89370400440532013000 paid", "iban [IBAN] paid"),
            ("ref DE89 3704 0044 0532 0130 00 5", "ref [IBAN] 5"),
            ("SSN 123-45-6789.", "SSN [SSN]."),
            ("card 4111 1111 1111 1111 ok", "card [CREDIT_CARD] ok"),
            ("card 5500-0000-0000-0004", "card [CREDIT_CARD]"),
            ("IBAN DE89 3704 0044 0532 0130 00 paid", "IBAN [IBAN] paid"),
            ("iban GB82WEST12345698765432", "iban [IBAN]"),
            ("from 192.168.10.4 and 2001:db8::8a2e:370:7334", "from [IP] and [IP]"),
            (
                "key lore_sk_0123456789ab_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "key [API_KEY]",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(m.mask(input), want, "{input}");
        }
    }

    #[test]
    fn look_alikes_are_left_alone() {
        let m = Masker::all();
        for text in [
            "card 4111 1111 1111 1112 fails Luhn",
            "SSN 000-12-3456 and 666-12-3456 are invalid",
            "order 2024-01-15 at 10:30:00, total 1234.56",
            "request id 5f0c1a2e-1234-5678-9012-123456789012",
            "version 1.2.3 and 999.1.1.1",
            "between 2019 and 2020, 15% of 300 patients",
        ] {
            assert_eq!(m.mask(text), text, "{text}");
        }
    }

    #[test]
    fn custom_patterns_and_selected_kinds() {
        let custom = [CustomPattern {
            name: "employee_id".into(),
            regex: r"EMP-\d{6}".into(),
        }];
        let m = Masker::new(&[PiiKind::Email], &custom).unwrap();
        assert_eq!(
            m.mask("EMP-123456 at a@b.io, 192.168.0.1"),
            "[EMPLOYEE_ID] at [EMAIL], 192.168.0.1"
        );
        let bad = [CustomPattern {
            name: "x".into(),
            regex: "(".into(),
        }];
        assert!(Masker::new(&[], &bad).is_err());
    }

    #[test]
    fn checksums() {
        assert!(luhn_valid("4111111111111111") && !luhn_valid("4111111111111112"));
        assert!(iban_valid("DE89370400440532013000") && !iban_valid("DE89370400440532013001"));
    }
}
