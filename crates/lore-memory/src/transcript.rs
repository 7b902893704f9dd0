//! Transcripts in: QMSum JSON, lore's meeting JSON, WebVTT, SRT and plain `Speaker: text`
//! lines, each to a [`Meeting`] with its turns (timestamps kept where the format has them).

use std::sync::OnceLock;

use lore_core::{Meeting, MeetingInfo, Turn};
use regex::Regex;
use serde::Deserialize;

/// Largest transcript accepted (bytes): 8 MiB, ~15 hours of speech as text.
pub const MAX_TRANSCRIPT_BYTES: usize = 8 * 1024 * 1024;
/// Most turns in one meeting.
pub const MAX_TURNS: usize = 50_000;
/// Longest turn (bytes of text).
pub const MAX_TURN_BYTES: usize = 64 * 1024;
/// Longest speaker name (characters).
pub const MAX_SPEAKER_CHARS: usize = 128;

/// Why a transcript was refused. Nothing is stored when parsing fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    /// No turns with text.
    #[error("the transcript has no turns with text")]
    Empty,
    /// Not a format lore reads.
    #[error("unknown transcript format{0}: expected QMSum JSON, meeting JSON ({{\"turns\": [...]}}), WebVTT, SRT or `Speaker: text` lines")]
    UnknownFormat(String),
    /// A turn without a speaker (`turn` is 1-based; for text formats, the line).
    #[error("turn {turn} has no speaker{hint}")]
    NoSpeaker {
        /// 1-based turn (or line) number.
        turn: usize,
        /// What the line looked like, or how to fix it.
        hint: String,
    },
    /// Bigger than a limit.
    #[error("transcript too large: {what} is {size}, the limit is {limit}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Malformed JSON or timestamps.
    #[error("malformed transcript: {0}")]
    Malformed(String),
    /// A bad metadata field.
    #[error("invalid meeting {field}: {reason}")]
    InvalidMeta {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// A transcript's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// QMSum: `{"meeting_transcripts": [{"speaker", "content"}], ...}`.
    QmSum,
    /// lore's own: `{"title", "date", "participants", "series", "domain", "turns": [...]}`.
    MeetingJson,
    /// WebVTT (`WEBVTT` header, `<v Speaker>` voice tags or `Speaker:` prefixes).
    WebVtt,
    /// SubRip (numbered cues with `hh:mm:ss,mmm --> hh:mm:ss,mmm`).
    Srt,
    /// Lines of `Speaker: text`; a line without a speaker continues the previous turn.
    Plain,
}

/// Picks the format from the file extension, else from the content.
///
/// # Errors
/// [`TranscriptError::UnknownFormat`] for binary content or an unknown extension whose
/// content fits no format.
pub fn detect(name: &str, text: &str) -> Result<TranscriptFormat, TranscriptError> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let head = text.trim_start_matches('\u{feff}').trim_start();
    match ext.as_deref() {
        Some("vtt") => return Ok(TranscriptFormat::WebVtt),
        Some("srt") => return Ok(TranscriptFormat::Srt),
        _ => {}
    }
    if head.starts_with('{') {
        return Ok(if head.contains("\"meeting_transcripts\"") {
            TranscriptFormat::QmSum
        } else {
            TranscriptFormat::MeetingJson
        });
    }
    if head.starts_with("WEBVTT") {
        return Ok(TranscriptFormat::WebVtt);
    }
    if text.contains('\0') {
        return Err(TranscriptError::UnknownFormat(format!(
            " (`{name}` is binary)"
        )));
    }
    let mut lines = head.lines().filter(|l| !l.trim().is_empty());
    if let (Some(a), Some(b)) = (lines.next(), lines.next()) {
        if a.trim().parse::<u32>().is_ok() && b.contains("-->") {
            return Ok(TranscriptFormat::Srt);
        }
    }
    match ext.as_deref() {
        None | Some("txt" | "text" | "md" | "transcript") => Ok(TranscriptFormat::Plain),
        Some(e) => Err(TranscriptError::UnknownFormat(format!(" (`.{e}`)"))),
    }
}

/// Metadata given beside the file (CLI flags); empty fields are filled from the file.
#[derive(Debug, Clone, Default)]
pub struct MeetingHints {
    /// Id (default: the file stem).
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Series.
    pub series: Option<String>,
    /// Domain.
    pub domain: Option<String>,
}

/// Parses a transcript file into a validated meeting.
///
/// # Errors
/// Any [`TranscriptError`]: size limits, unknown format, malformed content, a turn without
/// speaker, no turns, bad metadata.
pub fn parse(name: &str, bytes: &[u8], hints: &MeetingHints) -> Result<Meeting, TranscriptError> {
    if bytes.len() > MAX_TRANSCRIPT_BYTES {
        return Err(TranscriptError::TooLarge {
            what: "the file",
            size: bytes.len(),
            limit: MAX_TRANSCRIPT_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| TranscriptError::UnknownFormat(format!(" (`{name}` is not UTF-8: {e})")))?;
    let format = detect(name, text)?;
    let mut meeting = match format {
        TranscriptFormat::QmSum => parse_qmsum(text)?,
        TranscriptFormat::MeetingJson => parse_meeting_json(text)?,
        TranscriptFormat::WebVtt => parse_cues(text, true)?,
        TranscriptFormat::Srt => parse_cues(text, false)?,
        TranscriptFormat::Plain => parse_plain(text)?,
    };
    let stem = file_stem(name);
    let info = &mut meeting.info;
    if let Some(id) = &hints.id {
        info.id = id.clone();
    }
    if info.id.is_empty() {
        info.id = stem.to_string();
    }
    if let Some(t) = &hints.title {
        info.title = t.clone();
    }
    if hints.date.is_some() {
        info.date = hints.date.clone();
    }
    if hints.series.is_some() {
        info.series = hints.series.clone();
    }
    if info.series.is_none() {
        info.series = default_series(&info.id);
    }
    if hints.domain.is_some() {
        info.domain = hints.domain.clone();
    }
    validate(meeting)
}

fn file_stem(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base)
}

/// The series a meeting id implies when none is given: the id without its trailing part
/// letter after digits (`ES2004a` → `ES2004`), or without a trailing number (`covid_4` →
/// `covid`, `Bed003` → `Bed`). `None` when nothing is left.
pub fn default_series(id: &str) -> Option<String> {
    let b = id.as_bytes();
    let n = b.len();
    if n >= 2 && b[n - 1].is_ascii_lowercase() && b[n - 2].is_ascii_digit() {
        return Some(id[..n - 1].to_string());
    }
    let trimmed = id.trim_end_matches(|c: char| c.is_ascii_digit());
    let trimmed = trimmed.trim_end_matches(['_', '-', '.']);
    (!trimmed.is_empty() && trimmed.len() < id.len()).then(|| trimmed.to_string())
}

/// Checks ids, dates, speakers and limits; fills title and participants; drops turns whose
/// text is empty.
///
/// # Errors
/// [`TranscriptError`] naming the first problem.
pub fn validate(mut meeting: Meeting) -> Result<Meeting, TranscriptError> {
    let info = &mut meeting.info;
    check_id(&info.id)?;
    if info.title.trim().is_empty() {
        info.title = info.id.clone();
    }
    if let Some(d) = &info.date {
        check_date(d)?;
    }
    for (field, v) in [("series", &info.series), ("domain", &info.domain)] {
        if let Some(v) = v {
            if v.trim().is_empty() || v.len() > 128 || v.chars().any(char::is_control) {
                return Err(TranscriptError::InvalidMeta {
                    field,
                    reason: "must be 1-128 printable characters".into(),
                });
            }
        }
    }
    if meeting.turns.len() > MAX_TURNS {
        return Err(TranscriptError::TooLarge {
            what: "the turn count",
            size: meeting.turns.len(),
            limit: MAX_TURNS,
        });
    }
    for (i, t) in meeting.turns.iter_mut().enumerate() {
        let speaker = t.speaker.trim();
        if speaker.is_empty() {
            return Err(TranscriptError::NoSpeaker {
                turn: i + 1,
                hint: String::new(),
            });
        }
        if speaker.chars().count() > MAX_SPEAKER_CHARS {
            return Err(TranscriptError::TooLarge {
                what: "a speaker name (characters)",
                size: speaker.chars().count(),
                limit: MAX_SPEAKER_CHARS,
            });
        }
        if t.text.len() > MAX_TURN_BYTES {
            return Err(TranscriptError::TooLarge {
                what: "a turn (bytes)",
                size: t.text.len(),
                limit: MAX_TURN_BYTES,
            });
        }
        t.speaker = speaker.to_string();
    }
    if !meeting.turns.iter().any(|t| !t.text.trim().is_empty()) {
        return Err(TranscriptError::Empty);
    }
    if meeting.info.participants.is_empty() {
        let mut seen = Vec::new();
        for t in &meeting.turns {
            if !seen.contains(&t.speaker) {
                seen.push(t.speaker.clone());
            }
        }
        meeting.info.participants = seen;
    }
    Ok(meeting)
}

fn check_id(id: &str) -> Result<(), TranscriptError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(TranscriptError::InvalidMeta {
            field: "id",
            reason: format!(
                "`{}` must be 1-128 characters of letters, digits, `_-.:`",
                id.chars().take(40).collect::<String>()
            ),
        })
    }
}

fn check_date(d: &str) -> Result<(), TranscriptError> {
    let b = d.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let month: u32 = d.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
    let day: u32 = d.get(8..10).and_then(|m| m.parse().ok()).unwrap_or(0);
    if shape && (1..=12).contains(&month) && (1..=31).contains(&day) {
        Ok(())
    } else {
        Err(TranscriptError::InvalidMeta {
            field: "date",
            reason: format!(
                "`{}` is not YYYY-MM-DD",
                d.chars().take(40).collect::<String>()
            ),
        })
    }
}

#[derive(Deserialize)]
struct QmSumFile {
    meeting_transcripts: Vec<QmSumTurn>,
}

#[derive(Deserialize)]
struct QmSumTurn {
    #[serde(default)]
    speaker: String,
    #[serde(default)]
    content: String,
}

fn parse_qmsum(text: &str) -> Result<Meeting, TranscriptError> {
    let file: QmSumFile =
        serde_json::from_str(text).map_err(|e| TranscriptError::Malformed(e.to_string()))?;
    Ok(Meeting {
        info: MeetingInfo::default(),
        turns: file
            .meeting_transcripts
            .into_iter()
            .map(|t| Turn {
                speaker: t.speaker,
                text: t.content,
                start_ms: None,
                end_ms: None,
            })
            .collect(),
    })
}

/// lore's meeting JSON, the body of `POST /v1/memory/meetings`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    /// Id (generated from the content hash when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Date, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    /// Participants (default: the distinct speakers).
    #[serde(default)]
    pub participants: Vec<String>,
    /// Series or project.
    #[serde(default)]
    pub series: Option<String>,
    /// Domain (access restrictions apply to it).
    #[serde(default)]
    pub domain: Option<String>,
    /// Turns in spoken order.
    pub turns: Vec<Turn>,
}

impl MeetingInput {
    /// The meeting as given, with id `id`, not yet validated.
    fn unvalidated(self, id: String) -> Meeting {
        Meeting {
            info: MeetingInfo {
                id,
                title: self.title.unwrap_or_default(),
                date: self.date,
                participants: self.participants,
                series: self.series,
                domain: self.domain,
            },
            turns: self.turns,
        }
    }

    /// The validated meeting.
    ///
    /// # Errors
    /// As [`validate`].
    pub fn into_meeting(self) -> Result<Meeting, TranscriptError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let body = serde_json::to_vec(&self.turns).unwrap_or_default();
                format!("m-{}", &crate::content_hash(&body)[..16])
            }
        };
        validate(self.unvalidated(id))
    }
}

fn parse_meeting_json(text: &str) -> Result<Meeting, TranscriptError> {
    let input: MeetingInput =
        serde_json::from_str(text).map_err(|e| TranscriptError::Malformed(e.to_string()))?;
    let id = input.id.clone().unwrap_or_default();
    let mut m = input.unvalidated(id);
    m.turns
        .retain(|t| !t.text.trim().is_empty() || !t.speaker.is_empty());
    Ok(m)
}

fn speaker_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // A speaker is 1-6 words before a colon, not a clock time ("10:30").
    RE.get_or_init(|| {
        Regex::new(r"^\s*([^\s:\d][^:]{0,80}?)\s*:\s+(.*)$").expect("static regex compiles")
    })
}

fn split_speaker(line: &str) -> Option<(String, String)> {
    let c = speaker_line().captures(line)?;
    let speaker = c.get(1)?.as_str().trim();
    if speaker.split_whitespace().count() > 6 {
        return None;
    }
    Some((speaker.to_string(), c.get(2)?.as_str().trim().to_string()))
}

fn parse_plain(text: &str) -> Result<Meeting, TranscriptError> {
    let mut turns: Vec<Turn> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match split_speaker(line) {
            Some((speaker, said)) => turns.push(Turn {
                speaker,
                text: said,
                start_ms: None,
                end_ms: None,
            }),
            None => match turns.last_mut() {
                Some(t) => {
                    t.text.push(' ');
                    t.text.push_str(line);
                }
                None => {
                    return Err(TranscriptError::NoSpeaker {
                        turn: i + 1,
                        hint: format!(
                            ": line {} should start with `Speaker:` (`{}`)",
                            i + 1,
                            line.chars().take(40).collect::<String>()
                        ),
                    })
                }
            },
        }
    }
    Ok(Meeting {
        info: MeetingInfo::default(),
        turns,
    })
}

/// `hh:mm:ss.mmm`, `mm:ss.mmm` (WebVTT) or `hh:mm:ss,mmm` (SRT) → ms.
fn parse_timestamp(s: &str) -> Option<u64> {
    let s = s.trim().replace(',', ".");
    let (clock, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let parts: Vec<u64> = clock
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let secs = match parts.as_slice() {
        [h, m, s] => h * 3600 + m * 60 + s,
        [m, s] => m * 60 + s,
        _ => return None,
    };
    let frac = frac.get(..3.min(frac.len()))?;
    let ms: u64 = format!("{frac:0<3}").parse().ok()?;
    Some(secs * 1000 + ms)
}

fn voice_tag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^<v(?:\.[^ >]+)*\s+([^>]+)>(.*)$").expect("static regex"))
}

fn strip_tags(s: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"</?[a-zA-Z][^>]*>").expect("static regex"))
        .replace_all(s, "")
        .trim()
        .to_string()
}

/// WebVTT and SRT: cues of a timing line and text lines. A cue's speaker comes from a
/// `<v Name>` tag or a `Name:` prefix, else continues the previous cue's speaker.
fn parse_cues(text: &str, vtt: bool) -> Result<Meeting, TranscriptError> {
    let mut turns: Vec<Turn> = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    if vtt {
        match lines.next() {
            Some((_, l)) if l.trim_start_matches('\u{feff}').starts_with("WEBVTT") => {}
            _ => {
                return Err(TranscriptError::Malformed(
                    "WebVTT must start with `WEBVTT`".into(),
                ))
            }
        }
    }
    while let Some((lineno, line)) = lines.next() {
        let line = line.trim();
        if !line.contains("-->") {
            continue; // cue ids, NOTE blocks, STYLE, blank lines
        }
        let (a, b) = line
            .split_once("-->")
            .ok_or_else(|| TranscriptError::Malformed(format!("line {}", lineno + 1)))?;
        let start = parse_timestamp(a).ok_or_else(|| {
            TranscriptError::Malformed(format!("line {}: bad timestamp `{}`", lineno + 1, a.trim()))
        })?;
        let end_token = b.split_whitespace().next().unwrap_or("");
        let end = parse_timestamp(end_token).ok_or_else(|| {
            TranscriptError::Malformed(format!("line {}: bad timestamp `{end_token}`", lineno + 1))
        })?;
        let mut body = Vec::new();
        while let Some((_, l)) = lines.peek() {
            if l.trim().is_empty() {
                break;
            }
            body.push(l.trim().to_string());
            lines.next();
        }
        let joined = body.join(" ");
        let (speaker, said) = if let Some(c) = voice_tag().captures(&joined) {
            (Some(c[1].trim().to_string()), strip_tags(&c[2]))
        } else {
            let plain = strip_tags(&joined);
            match split_speaker(&plain) {
                Some((s, t)) => (Some(s), t),
                None => (None, plain),
            }
        };
        if said.is_empty() {
            continue;
        }
        let speaker = match speaker.or_else(|| turns.last().map(|t| t.speaker.clone())) {
            Some(s) => s,
            None => {
                return Err(TranscriptError::NoSpeaker {
                    turn: turns.len() + 1,
                    hint: format!(
                        ": the cue at line {} names no speaker (`<v Name>` or `Name:`)",
                        lineno + 1
                    ),
                })
            }
        };
        match turns.last_mut() {
            // Cues of one speaker in a row are one turn (subtitles split sentences).
            Some(t) if t.speaker == speaker => {
                t.text.push(' ');
                t.text.push_str(&said);
                t.end_ms = Some(end);
            }
            _ => turns.push(Turn {
                speaker,
                text: said,
                start_ms: Some(start),
                end_ms: Some(end),
            }),
        }
    }
    Ok(Meeting {
        info: MeetingInfo::default(),
        turns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints() -> MeetingHints {
        MeetingHints::default()
    }

    #[test]
    fn webvtt_with_voice_tags_and_timestamps() {
        let vtt = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.500\n<v Alice>We need a battery that lasts.</v>\n\n00:00:05.000 --> 00:00:07.000\n<v Bob>Agreed, let's decide on kinetic.\n\n00:07.500 --> 00:09.000\nBob: Because it is cheaper.\n";
        let m = parse("standup.vtt", vtt.as_bytes(), &hints()).unwrap();
        assert_eq!(m.info.id, "standup");
        assert_eq!(m.turns.len(), 2);
        assert_eq!(m.turns[0].speaker, "Alice");
        assert_eq!(m.turns[0].start_ms, Some(1000));
        assert_eq!(
            m.turns[1].text,
            "Agreed, let's decide on kinetic. Because it is cheaper."
        );
        assert_eq!(m.turns[1].end_ms, Some(9000));
        assert_eq!(m.info.participants, vec!["Alice", "Bob"]);
    }

    #[test]
    fn srt_with_speaker_prefixes() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nAlice: Hello all.\n\n2\n00:01:00,250 --> 00:01:03,000\nBob: Hi.\nSecond line.\n";
        let m = parse("x.srt", srt.as_bytes(), &hints()).unwrap();
        assert_eq!(m.turns.len(), 2);
        assert_eq!(m.turns[1].start_ms, Some(60_250));
        assert_eq!(m.turns[1].text, "Hi. Second line.");
    }

    #[test]
    fn plain_lines_and_continuations() {
        let txt = "Alice: First point.\nstill Alice here\nBob: At 10:30 we meet.\n";
        let m = parse("notes.txt", txt.as_bytes(), &hints()).unwrap();
        assert_eq!(m.turns.len(), 2);
        assert_eq!(m.turns[0].text, "First point. still Alice here");
        assert_eq!(m.turns[1].text, "At 10:30 we meet.");
    }

    #[test]
    fn qmsum_file_and_series() {
        let j = r#"{"meeting_transcripts":[{"speaker":"Marketing","content":"Hi {vocalsound} ."}],"topic_list":[]}"#;
        let m = parse("data/ES2004a.json", j.as_bytes(), &hints()).unwrap();
        assert_eq!(m.info.id, "ES2004a");
        assert_eq!(m.info.series.as_deref(), Some("ES2004"));
        assert_eq!(default_series("covid_4").as_deref(), Some("covid"));
        assert_eq!(default_series("Bed003").as_deref(), Some("Bed"));
        assert_eq!(default_series("standup"), None);
    }

    #[test]
    fn bad_inputs_are_named() {
        assert_eq!(parse("a.txt", b"", &hints()), Err(TranscriptError::Empty));
        // 100,000 levels of nesting: serde_json's recursion limit (128) refuses it, no
        // stack overflow. (No transcript format is compressed: nothing to decompress.)
        let deep = format!(
            "{{\"turns\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(
            parse("deep.json", deep.as_bytes(), &hints()),
            Err(TranscriptError::Malformed(_))
        ));
        let deep = format!("{{\"meeting_transcripts\": {}", "{\"a\":".repeat(100_000));
        assert!(matches!(
            parse("deep.json", deep.as_bytes(), &hints()),
            Err(TranscriptError::Malformed(_))
        ));
        assert!(matches!(
            parse("a.txt", b"no speaker here\nAlice: hi", &hints()),
            Err(TranscriptError::NoSpeaker { turn: 1, .. })
        ));
        assert!(matches!(
            parse("a.bin", b"\0\x01\x02", &hints()),
            Err(TranscriptError::UnknownFormat(_))
        ));
        assert!(matches!(
            parse("a.pdf", b"just words", &hints()),
            Err(TranscriptError::UnknownFormat(_))
        ));
        let j = r#"{"turns":[{"speaker":" ","text":"hi"}]}"#;
        assert!(matches!(
            parse("a.json", j.as_bytes(), &hints()),
            Err(TranscriptError::NoSpeaker { turn: 1, .. })
        ));
        let big = vec![b'a'; MAX_TRANSCRIPT_BYTES + 1];
        assert!(matches!(
            parse("a.txt", &big, &hints()),
            Err(TranscriptError::TooLarge { .. })
        ));
        let h = MeetingHints {
            date: Some("2024-13-01".into()),
            ..hints()
        };
        assert!(matches!(
            parse("a.txt", b"A: b", &h),
            Err(TranscriptError::InvalidMeta { field: "date", .. })
        ));
        let h = MeetingHints {
            id: Some("../etc".into()),
            ..hints()
        };
        assert!(matches!(
            parse("a.txt", b"A: b", &h),
            Err(TranscriptError::InvalidMeta { field: "id", .. })
        ));
        assert!(matches!(
            parse(
                "a.vtt",
                b"WEBVTT\n\n00:01.000 --> 00:02.000\nno speaker\n",
                &hints()
            ),
            Err(TranscriptError::NoSpeaker { .. })
        ));
    }
}
