//! Meeting memory types: meetings and their turns, memories at three levels, the typed
//! edges between them. The algorithms that make and recall them live in `lore-memory`; the
//! catalog that stores them in `lore-index`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One speaker turn of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Turn {
    /// Who spoke (a name or a role, e.g. `Project Manager`). Never empty.
    pub speaker: String,
    /// What was said, as transcribed.
    pub text: String,
    /// Start, ms from the start of the meeting (WebVTT, SRT or the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// End, ms from the start of the meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

/// A meeting's metadata (what filters and citations name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeetingInfo {
    /// Id, unique in the data dir (`ES2004a`); 1-128 characters of letters, digits, `_-.:`.
    pub id: String,
    /// Title (the id when none is given).
    pub title: String,
    /// Date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Participants (the distinct speakers when none are given).
    #[serde(default)]
    pub participants: Vec<String>,
    /// Series or project the meeting belongs to (`ES2004`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Domain, for access restrictions (`product`, `research`, `hr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A meeting: metadata and turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    /// Metadata.
    pub info: MeetingInfo,
    /// Turns in spoken order.
    pub turns: Vec<Turn>,
}

/// A memory's level in the hierarchy of the cognitive meeting memory.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum MemoryLevel {
    /// L0: a concept (key phrase, topic or entity) linked to the memories that mention it.
    #[serde(rename = "L0")]
    Concept,
    /// L1: a semantic memory, a cluster of related episodic memories with a summary.
    #[serde(rename = "L1")]
    Semantic,
    /// L2: an episodic memory, a segment of consecutive turns of one meeting.
    #[serde(rename = "L2")]
    Episodic,
}

impl MemoryLevel {
    /// All levels, L2 first (the order results are listed in).
    pub const ALL: [MemoryLevel; 3] = [
        MemoryLevel::Episodic,
        MemoryLevel::Semantic,
        MemoryLevel::Concept,
    ];

    /// 0, 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            MemoryLevel::Concept => 0,
            MemoryLevel::Semantic => 1,
            MemoryLevel::Episodic => 2,
        }
    }

    /// The level numbered `n`.
    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            0 => Some(MemoryLevel::Concept),
            1 => Some(MemoryLevel::Semantic),
            2 => Some(MemoryLevel::Episodic),
            _ => None,
        }
    }

    /// `L0`, `L1`, `L2`.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryLevel::Concept => "L0",
            MemoryLevel::Semantic => "L1",
            MemoryLevel::Episodic => "L2",
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant,)* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The snake_case name used in JSON, the catalog and filters.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($name::$variant),)*
                    _ => Err(format!(
                        "unknown {} `{s}`: expected one of {}",
                        stringify!($name),
                        [$($s,)*].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum! {
    /// What a memory is: for L2 what the segment does (rules by default), for L1 a
    /// cluster, for L0 the kind of concept.
    MemoryType {
        /// L2: something was decided ("we'll go with", "agreed").
        Decision => "decision",
        /// L2: someone is to do something ("you'll send", "action item").
        ActionItem => "action_item",
        /// L2: a question asked and left for others.
        Question => "question",
        /// L2: a speaker commits ("I will", "I'll make sure").
        Commitment => "commitment",
        /// L2: a risk or concern ("worried", "problem", "too expensive").
        Risk => "risk",
        /// L2: a proposal ("what if", "we could").
        Idea => "idea",
        /// L2: none of the above.
        Statement => "statement",
        /// L1: a cluster of related episodic memories.
        Cluster => "cluster",
        /// L0: a person named in the meeting.
        Person => "person",
        /// L0: a product, device or named thing.
        Product => "product",
        /// L0: a date or time expression.
        Date => "date",
        /// L0: a number, amount or price.
        Number => "number",
        /// L0: a key phrase or topic.
        Topic => "topic",
    }
}

string_enum! {
    /// The kind of an edge of the memory graph. Weights are in `lore-memory`'s `graph`
    /// module, with the reason for each.
    EdgeKind {
        /// L2 → the next L2 of the same meeting.
        Sequence => "sequence",
        /// L2 ↔ L2 of one meeting with a speaker in common and a shared topic.
        SameSpeakerTopic => "same_speaker_topic",
        /// Any two memories whose embeddings' cosine is above the threshold.
        Similar => "similar",
        /// L2 with a question → the L2 that answers it.
        Reply => "reply",
        /// L2 → the L2 it gives as the cause of a decision ("because", "so we decided").
        Causal => "causal",
        /// L2 → its L1 cluster.
        MemberOf => "member_of",
        /// L2 → an L0 concept it mentions.
        Mentions => "mentions",
    }
}

/// Cognitive features of an episodic memory, each in [0, 1]; formulas in `lore-memory`'s
/// `features` module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CognitiveFeatures {
    /// Temporal: urgency cues ("asap", "urgent", "now") per word, saturating.
    pub urgency: f32,
    /// Temporal: how near a stated deadline is ("today" 1.0 … "next month" 0.2).
    pub deadline_proximity: f32,
    /// Temporal: position of the segment in the meeting (0 first, 1 last).
    pub sequence_position: f32,
    /// Temporal: the segment's share of the meeting (time when known, else words), √-scaled.
    pub duration: f32,
    /// Emotional: (positive − negative cue words) mapped to [0, 1] (0.5 neutral).
    pub sentiment: f32,
    /// Emotional: exclamations, intensifiers and sentiment words per word, saturating.
    pub intensity: f32,
    /// Emotional: certainty cues against hedges ("definitely" vs "maybe").
    pub confidence: f32,
    /// Social: share of the segment spoken by the meeting's lead (most turns, or a
    /// manager / chair role).
    pub authority: f32,
    /// Social: share of the meeting's participants who speak in the segment.
    pub audience_relevance: f32,
    /// Social: speaker changes per turn boundary.
    pub interaction: f32,
    /// Causal: causal cue density ("because", "so", "therefore", "decided").
    pub causal: f32,
    /// Evolutionary: share of the segment's content words already said earlier in the
    /// meeting (a topic coming back).
    pub evolutionary: f32,
}

/// A memory as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Memory {
    /// Id, unique in the data dir.
    pub id: i64,
    /// Level.
    pub level: MemoryLevel,
    /// Type.
    #[serde(rename = "type")]
    pub memory_type: MemoryType,
    /// Meeting (L2 and per-meeting L1); `None` for concepts and cross-meeting clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting: Option<String>,
    /// Text: the turns with speaker names (L2), the summary (L1), the phrase (L0).
    pub content: String,
    /// Speakers (L2: who spoke in the segment; L1: across members).
    #[serde(default)]
    pub speakers: Vec<String>,
    /// First and last turn (0-based, end inclusive) of an L2 memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_start: Option<u32>,
    /// Last turn, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_end: Option<u32>,
    /// Start time, ms from the meeting's start, when the transcript had timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// End time, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    /// Cognitive features (L2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<CognitiveFeatures>,
    /// Importance in [0, 1]: grows with access and recurrence, decays with time.
    pub importance: f32,
    /// Times returned by a query.
    pub access_count: u32,
    /// Last time returned by a query (or created), unix ms.
    pub last_access_ms: i64,
    /// Created, unix ms.
    pub created_ms: i64,
}

/// A typed, weighted edge (`weight` in (0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemoryEdge {
    /// From.
    pub src: i64,
    /// To.
    pub dst: i64,
    /// Kind.
    pub kind: EdgeKind,
    /// Weight in (0, 1].
    pub weight: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in MemoryType::ALL {
            assert_eq!(t.as_str().parse::<MemoryType>().unwrap(), *t);
        }
        for k in EdgeKind::ALL {
            assert_eq!(k.as_str().parse::<EdgeKind>().unwrap(), *k);
        }
        assert!("nope"
            .parse::<MemoryType>()
            .unwrap_err()
            .contains("decision"));
        for l in MemoryLevel::ALL {
            assert_eq!(MemoryLevel::from_number(l.number() as i64), Some(l));
        }
        assert_eq!(
            serde_json::to_string(&MemoryLevel::Episodic).unwrap(),
            "\"L2\""
        );
    }
}
