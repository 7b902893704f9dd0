//! Drift of the question mix, from the query log: the routed questions of a recent window
//! against a reference window before it, by route shares (population stability index),
//! out-of-scope rate, and the mean query embedding (cosine shift).
//!
//! The PSI is Σ (cᵢ − rᵢ)·ln(cᵢ / rᵢ) over route shares, out-of-scope a bucket of its own,
//! empty buckets smoothed to 1e-4 (Siddiqi, *Credit Risk Scorecards*, 2006: < 0.1 stable,
//! 0.1-0.25 a moderate shift, > 0.25 a significant one). The embedding shift is
//! 1 − cos(mean of the window's query embeddings, mean of the reference's): 0 when the
//! mix of topics is unchanged, whatever the routes. Two samples of one mix still differ
//! by chance: for unit vectors with pooled mean m, the expected shift is about
//! (1 − |m|²)(1/n₁ + 1/n₂) / (2|m|²) (the sample mean's variance is (1 − |m|²)/n, nearly
//! all of it orthogonal to m in 384 dimensions), and only the shift beyond it is judged.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::query_log::QueryRecord;
use crate::Result;

/// Share of an empty bucket in the PSI (log of zero otherwise).
const EMPTY_SHARE: f64 = 1e-4;

/// Adds a batch's routed query embeddings to their day's sums (in the batch's transaction).
pub(crate) fn add_embeddings(tx: &Transaction<'_>, batch: &[QueryRecord]) -> rusqlite::Result<()> {
    let mut days: BTreeMap<String, (i64, Vec<f64>)> = BTreeMap::new();
    for r in batch {
        let Some(e) = &r.served.embedding else {
            continue;
        };
        let entry = days
            .entry(day_of(r.at_ms))
            .or_insert_with(|| (0, vec![0.0; e.len()]));
        if entry.1.len() != e.len() {
            continue;
        }
        entry.0 += 1;
        for (s, x) in entry.1.iter_mut().zip(e.iter()) {
            *s += f64::from(*x);
        }
    }
    for (day, (n, sum)) in days {
        let old: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT n, sum FROM query_embedding_days WHERE day = ?1",
                [&day],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let (n, sum) = match old {
            // A model change (other dimension) starts the day again.
            Some((m, bytes)) if bytes.len() == sum.len() * 8 => {
                let mut total = sum;
                for (t, old) in total.iter_mut().zip(bytes.chunks_exact(8)) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(old);
                    *t += f64::from_le_bytes(b);
                }
                (n + m, total)
            }
            _ => (n, sum),
        };
        let bytes: Vec<u8> = sum.iter().flat_map(|x| x.to_le_bytes()).collect();
        tx.execute(
            "INSERT INTO query_embedding_days (day, n, sum) VALUES (?1, ?2, ?3)
             ON CONFLICT (day) DO UPDATE SET n = excluded.n, sum = excluded.sum",
            params![day, n, bytes],
        )?;
    }
    Ok(())
}

/// `YYYY-MM-DD` (UTC) of a unix-ms instant.
pub fn day_of(at_ms: i64) -> String {
    // Civil-from-days (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    let days = at_ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `[analytics.drift]`: the windows compared and when drift is an alert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// PSI of route shares above which the mix has shifted (0.25: "significant").
    pub psi: f64,
    /// Cosine shift of the mean query embedding, beyond the shift expected by chance, above
    /// which topics have moved. Measured on CLINC150 (three domains, 200 questions against
    /// 970; `crates/lore/tests/drift.rs`): a fresh sample of the same mix shifted 0.022 with
    /// 0.028 expected by chance; one domain plus a third out-of-scope questions 0.246
    /// (0.030 by chance).
    pub embedding_shift: f64,
    /// Absolute change of the out-of-scope rate above which users ask other things.
    pub out_of_scope_change: f64,
    /// Routed questions each window needs before anything is judged.
    pub min_questions: u64,
    /// Days of the recent window, today included.
    pub current_days: u32,
    /// Days of the reference window, just before the recent one.
    pub reference_days: u32,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            psi: 0.25,
            embedding_shift: 0.05,
            out_of_scope_change: 0.10,
            min_questions: 50,
            current_days: 1,
            reference_days: 7,
        }
    }
}

/// The routed questions of a span of days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftWindow {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Routed questions.
    pub questions: u64,
    /// Share of each route (`out_of_scope` for questions no route took), 0-1.
    pub route_shares: BTreeMap<String, f64>,
    /// Share of out-of-scope questions, 0-1.
    pub out_of_scope_rate: f64,
}

/// `lore drift report`, `GET /v1/admin/drift`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftReport {
    /// The recent window.
    pub current: DriftWindow,
    /// The window it is compared with.
    pub reference: DriftWindow,
    /// Population stability index of route shares (null: too few questions).
    pub psi: Option<f64>,
    /// 1 − cosine of the mean query embeddings (null: too few questions).
    pub embedding_shift: Option<f64>,
    /// The part of `embedding_shift` expected by chance for these sample sizes (see the
    /// module docs); the alert compares `embedding_shift − embedding_noise`.
    pub embedding_noise: Option<f64>,
    /// Out-of-scope rate now minus in the reference (null: too few questions).
    pub out_of_scope_change: Option<f64>,
    /// What crossed its threshold, in words; empty when nothing did.
    pub alerts: Vec<String>,
    /// `alerts` is not empty.
    pub drifted: bool,
    /// Why nothing was judged, when a window has too few questions.
    pub insufficient: Option<String>,
}

/// The drift report at `now_ms` (an injected clock in tests): the `current_days` days up to
/// and including today (UTC) against the `reference_days` days before them.
///
/// # Errors
/// SQLite errors.
pub fn drift_report(
    conn: &Connection,
    now_ms: i64,
    thresholds: &DriftConfig,
) -> Result<DriftReport> {
    let (current_days, reference_days) = (thresholds.current_days, thresholds.reference_days);
    let day = 86_400_000i64;
    let today = now_ms.div_euclid(day);
    let cur_from = today - i64::from(current_days.max(1)) + 1;
    let ref_to = cur_from - 1;
    let ref_from = ref_to - i64::from(reference_days.max(1)) + 1;
    let (current, cur_mean) = window(conn, cur_from * day, today * day)?;
    let (reference, ref_mean) = window(conn, ref_from * day, ref_to * day)?;
    let few = |w: &DriftWindow| w.questions < thresholds.min_questions;
    if few(&current) || few(&reference) {
        return Ok(DriftReport {
            insufficient: Some(format!(
                "{} routed questions now and {} in the reference; {} each are needed",
                current.questions, reference.questions, thresholds.min_questions
            )),
            current,
            reference,
            psi: None,
            embedding_shift: None,
            embedding_noise: None,
            out_of_scope_change: None,
            alerts: Vec::new(),
            drifted: false,
        });
    }
    let psi = psi(&current.route_shares, &reference.route_shares);
    let (shift, noise) = match (cur_mean, ref_mean) {
        (Some((a, n1)), Some((b, n2))) if n1 > 0 && n2 > 0 => {
            let pooled: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            let m2 = pooled.iter().map(|x| x * x).sum::<f64>() / ((n1 + n2) as f64).powi(2);
            let noise = if m2 > 0.0 {
                (1.0 - m2).max(0.0) * (1.0 / n1 as f64 + 1.0 / n2 as f64) / (2.0 * m2)
            } else {
                0.0
            };
            (Some(1.0 - cosine(&a, &b)), Some(noise))
        }
        _ => (None, None),
    };
    let oos = current.out_of_scope_rate - reference.out_of_scope_rate;
    let mut alerts = Vec::new();
    if psi > thresholds.psi {
        alerts.push(format!(
            "route shares shifted: PSI {psi:.3} > {}",
            thresholds.psi
        ));
    }
    if let (Some(s), Some(n)) = (shift, noise) {
        if s - n > thresholds.embedding_shift {
            alerts.push(format!(
                "question topics moved: mean-embedding cosine shift {s:.4} ({n:.4} expected by chance) exceeds chance by more than {}",
                thresholds.embedding_shift
            ));
        }
    }
    if oos.abs() > thresholds.out_of_scope_change {
        alerts.push(format!(
            "out-of-scope rate changed by {:+.1} points (limit {:.1})",
            oos * 100.0,
            thresholds.out_of_scope_change * 100.0
        ));
    }
    Ok(DriftReport {
        current,
        reference,
        psi: Some(psi),
        embedding_shift: shift,
        embedding_noise: noise,
        out_of_scope_change: Some(oos),
        drifted: !alerts.is_empty(),
        alerts,
        insufficient: None,
    })
}

/// Routed answers between two day starts (unix ms, the last day included).
/// A sum of query embeddings and how many were summed.
type EmbeddingSum = (Vec<f64>, i64);

/// The window and its embedding sum.
fn window(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<(DriftWindow, Option<EmbeddingSum>)> {
    let end = to_ms + 86_400_000;
    let mut stmt = conn.prepare(
        "SELECT COALESCE(route, 'out_of_scope'), COUNT(*) FROM query_log
         WHERE kind = 'answer' AND routed = 1 AND at_ms >= ?1 AND at_ms < ?2
         GROUP BY 1",
    )?;
    let counts: Vec<(String, i64)> = stmt
        .query_map(params![from_ms, end], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let oos: i64 = conn.query_row(
        "SELECT COUNT(*) FROM query_log
         WHERE kind = 'answer' AND routed = 1 AND out_of_scope = 1 AND at_ms >= ?1 AND at_ms < ?2",
        params![from_ms, end],
        |r| r.get(0),
    )?;
    let total: i64 = counts.iter().map(|c| c.1).sum();
    let route_shares = counts
        .into_iter()
        .map(|(r, n)| (r, n as f64 / total.max(1) as f64))
        .collect();
    let (from, to) = (day_of(from_ms), day_of(to_ms));
    let mut stmt =
        conn.prepare("SELECT n, sum FROM query_embedding_days WHERE day >= ?1 AND day <= ?2")?;
    let mut mean: Option<EmbeddingSum> = None;
    let rows = stmt
        .query_map(params![from, to], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (n, bytes) in rows {
        let v: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b)
            })
            .collect();
        match &mut mean {
            Some((m, count)) if m.len() == v.len() => {
                m.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
                *count += n;
            }
            Some(_) => {}
            None => mean = Some((v, n)),
        }
    }
    Ok((
        DriftWindow {
            from,
            to,
            questions: total as u64,
            route_shares,
            out_of_scope_rate: crate::query_log::share(oos as usize, total as usize),
        },
        mean,
    ))
}

/// Population stability index of two share distributions (see the module docs).
pub fn psi(current: &BTreeMap<String, f64>, reference: &BTreeMap<String, f64>) -> f64 {
    let keys: BTreeSet<&String> = current.keys().chain(reference.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let c = current.get(k).copied().unwrap_or(0.0).max(EMPTY_SHARE);
            let r = reference.get(k).copied().unwrap_or(0.0).max(EMPTY_SHARE);
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// Cosine of two vectors (0 when either is zero); the sums need no normalizing first.
fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn psi_is_zero_for_the_same_mix_and_grows_with_the_shift() {
        let a = shares(&[("hr", 0.5), ("it", 0.5)]);
        assert!(psi(&a, &a).abs() < 1e-12);
        // Worked by hand: (0.7-0.5)ln(1.4) + (0.3-0.5)ln(0.6) = 0.0673 + 0.1022.
        let b = shares(&[("hr", 0.7), ("it", 0.3)]);
        assert!((psi(&b, &a) - 0.169_49).abs() < 1e-4, "{}", psi(&b, &a));
        // A new bucket is smoothed, not infinite.
        let c = shares(&[("hr", 0.5), ("it", 0.3), ("legal", 0.2)]);
        assert!(psi(&c, &a).is_finite() && psi(&c, &a) > 0.25);
    }

    #[test]
    fn days_are_civil_utc() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_796_083_200_000 - 1), "2026-11-30");
        assert_eq!(day_of(-1), "1969-12-31");
    }
}
