//! Drift of the question mix on real questions: routes fitted on three CLINC150 domains,
//! a week of reference questions written into the query log under an injected clock,
//! then today's stream: an unshifted sample of the same mix raises no alert, a stream
//! shifted to one domain and to out-of-scope questions does (route-share PSI, mean
//! query-embedding shift, out-of-scope rate).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lore_index::{DriftConfig, QueryLog, QueryRecord, ServedBy};
use lore_rag::{Engine, EngineConfig};
use lore_route::RouteSpec;
use serde_json::Value;

const DOMAINS: [&str; 3] = ["banking", "travel", "home"];
const DAY: i64 = 86_400_000;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel)
}

/// `(text, domain)` rows of a CLINC150 file, `oos` rows with domain `oos`.
fn rows(file: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(shared(&format!("intents/clinc150/{file}")))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let domain = if v["intent"] == "oos" {
                "oos".to_string()
            } else {
                v["domain"].as_str().unwrap().to_string()
            };
            (v["text"].as_str().unwrap().to_string(), domain)
        })
        .collect()
}

/// Every `step`-th row of `domain` from `offset`, at most `n`.
fn take(
    rows: &[(String, String)],
    domain: &str,
    offset: usize,
    step: usize,
    n: usize,
) -> Vec<String> {
    rows.iter()
        .filter(|r| r.1 == domain)
        .skip(offset)
        .step_by(step)
        .take(n)
        .map(|r| r.0.clone())
        .collect()
}

/// Records `questions` as routed answers spread over `day` (unix ms of its midnight).
fn feed(engine: &Engine, log: &QueryLog, day: i64, questions: &[String]) {
    for (i, q) in questions.iter().enumerate() {
        let decision = engine
            .classify_route(q)
            .unwrap()
            .expect("routes are defined");
        let embedding: Arc<[f32]> = engine.embed_query(q).unwrap().into();
        log.record(QueryRecord {
            at_ms: day + (i as i64 * 997) % DAY,
            kind: "answer",
            collection: "kb".into(),
            domain: None,
            key_id: None,
            query: q.clone(),
            latency_ms: 1.0,
            cached: false,
            answered: true,
            tokens_in: 0,
            tokens_out: 0,
            answer_id: None,
            served: ServedBy {
                routed: true,
                out_of_scope: decision.route.is_none(),
                route: decision.route,
                embedding: Some(embedding),
                ..ServedBy::default()
            },
        });
    }
    log.flush();
}

fn report(catalog: &Path, now: i64) -> lore_index::DriftReport {
    let conn = QueryLog::reader(catalog).unwrap();
    lore_index::drift_report(&conn, now, &DriftConfig::default()).unwrap()
}

#[test]
fn a_shifted_question_stream_raises_the_drift_alert_and_an_unshifted_one_does_not() {
    let train = rows("train.jsonl");
    let val = rows("val.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path().join("engine"));
    config.routes = DOMAINS
        .iter()
        .map(|d| RouteSpec {
            name: d.to_string(),
            examples: take(&train, d, 0, 5, 300),
            ..RouteSpec::default()
        })
        .collect();
    config.routing.out_of_scope_examples = take(&train, "oos", 0, 1, 100);
    let engine = Engine::open(config).unwrap();

    // Today is day 10; the reference week is days 3-9: the three domains evenly, and 7%
    // out-of-scope questions (val split).
    let today = 10 * DAY;
    let mut week: Vec<String> = Vec::new();
    for d in DOMAINS {
        // All 15 intents of the domain, 20 questions each.
        week.extend(take(&val, d, 0, 1, 300));
    }
    week.extend(take(&val, "oos", 0, 1, 70));
    // Interleaved so each day holds the same mix.
    week.sort_by_key(|q| q.len() % 7);
    let mixed = |offset: usize| -> Vec<String> {
        let mut out: Vec<String> = DOMAINS
            .iter()
            // Every 25th of the domain's 1500: all of its intents.
            .flat_map(|d| take(&train, d, offset, 25, 60))
            .collect();
        // Out-of-scope questions the reference did not hold (val rows 70-89).
        out.extend(take(&val, "oos", 70, 1, 20));
        out
    };

    let mut catalogs = Vec::new();
    for shifted in [false, true] {
        let catalog = dir.path().join(format!(
            "catalog-{}.sqlite",
            if shifted { "shifted" } else { "same" }
        ));
        let log = QueryLog::open(&catalog, std::time::Duration::from_secs(3650 * 86_400)).unwrap();
        for (i, day) in week.chunks(week.len().div_ceil(7)).enumerate() {
            feed(&engine, &log, (3 + i as i64) * DAY, day);
        }
        let stream = if shifted {
            // Travel only, and a third of the questions out of scope.
            let mut s = take(&train, "travel", 3, 10, 140);
            s.extend(take(&train, "oos", 0, 1, 70));
            s
        } else {
            // Unseen questions of the same mix (train rows never fed before).
            mixed(3)
        };
        feed(&engine, &log, today, &stream);
        log.close();
        catalogs.push(catalog);
    }

    let same = report(&catalogs[0], today + DAY / 2);
    let shifted = report(&catalogs[1], today + DAY / 2);
    eprintln!(
        "unshifted: PSI {:?} shift {:?} (chance {:?}) oos {:?}; shifted: PSI {:?} shift {:?} (chance {:?}) oos {:?}",
        same.psi,
        same.embedding_shift,
        same.embedding_noise,
        same.out_of_scope_change,
        shifted.psi,
        shifted.embedding_shift,
        shifted.embedding_noise,
        shifted.out_of_scope_change
    );
    assert_eq!(same.reference.questions, 970, "{same:?}");
    assert!(same.insufficient.is_none(), "{same:?}");
    assert!(
        !same.drifted,
        "an unshifted stream raised {:?}",
        same.alerts
    );
    assert!(same.psi.unwrap() < 0.1, "{same:?}");

    assert!(shifted.drifted, "{shifted:?}");
    assert!(shifted.psi.unwrap() > 0.25, "{shifted:?}");
    assert!(
        shifted.embedding_shift.unwrap() - shifted.embedding_noise.unwrap()
            > DriftConfig::default().embedding_shift,
        "{shifted:?}"
    );
    assert!(
        shifted.embedding_shift.unwrap() > 4.0 * same.embedding_shift.unwrap(),
        "{shifted:?} against {same:?}"
    );
    assert!(shifted.out_of_scope_change.unwrap() > 0.1, "{shifted:?}");
    assert_eq!(shifted.alerts.len(), 3, "{:?}", shifted.alerts);
}
