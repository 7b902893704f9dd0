//! Experiment reports from the query log and the feedback on its answers: per arm the
//! answers, tokens, cost, latency, grounding, unanswered rate, feedback rate and share of
//! thumbs-up with a 95% Wilson interval, and which arm is better when the difference in
//! "up" shares is significant (two-proportion z-test, two-sided, α = 0.05).

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::query_log::{latency, Latency};
use crate::Result;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Significance level of "better".
const ALPHA: f64 = 0.05;

/// A share with its 95% confidence interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Proportion {
    /// Successes over trials, 0-1 (0 with no trials).
    pub value: f64,
    /// Lower bound of the 95% Wilson score interval.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Successes.
    pub successes: u64,
    /// Trials.
    pub trials: u64,
}

impl Proportion {
    /// `successes` of `trials` with the Wilson score interval (Wilson, JASA 1927; better
    /// than the normal approximation at small counts and near 0 or 1).
    pub fn wilson(successes: u64, trials: u64) -> Self {
        if trials == 0 {
            return Proportion {
                high: 1.0,
                ..Proportion::default()
            };
        }
        let n = trials as f64;
        let p = successes as f64 / n;
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
        Proportion {
            value: p,
            low: (centre - half).max(0.0),
            high: (centre + half).min(1.0),
            successes,
            trials,
        }
    }
}

/// One arm's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArmReport {
    /// The arm's name.
    pub arm: String,
    /// Answers it served.
    pub answers: u64,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// Estimated cost, USD.
    pub cost_usd: f64,
    /// Answer latency, ms.
    pub latency: Latency,
    /// Mean grounding score of the answers checked (null: none checked).
    pub grounding: Option<f64>,
    /// Answers citing nothing, with their 95% interval.
    pub unanswered: Proportion,
    /// Answers that got feedback.
    pub feedback: Proportion,
    /// Thumbs-up among the answers with feedback.
    pub up: Proportion,
}

/// `lore experiments report ID`, `GET /v1/admin/experiments/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExperimentReport {
    /// The experiment.
    pub experiment: String,
    /// Arms with answers, by name.
    pub arms: Vec<ArmReport>,
    /// The arm whose share of "up" is significantly higher than every other arm's (null:
    /// no significant difference yet).
    pub better: Option<String>,
    /// Two-sided p-value of the best arm's "up" share against the runner-up's.
    pub p_value: Option<f64>,
    /// The conclusion in words.
    pub verdict: String,
}

/// The report of experiment `id` over the answers in the log.
///
/// # Errors
/// SQLite errors.
pub fn experiment_report(conn: &Connection, id: &str) -> Result<ExperimentReport> {
    let mut stmt = conn.prepare(
        "SELECT q.arm, q.latency_ms, q.answered, q.tokens_in, q.tokens_out, q.cost_usd,
                q.grounding, f.up
         FROM query_log q LEFT JOIN answer_feedback f ON f.answer_id = q.answer_id
         WHERE q.kind = 'answer' AND q.experiment = ?1
         ORDER BY q.arm",
    )?;
    struct Row {
        arm: String,
        ms: f64,
        answered: bool,
        tin: i64,
        tout: i64,
        cost: f64,
        grounding: Option<f64>,
        up: Option<bool>,
    }
    let rows = stmt
        .query_map(params![id], |r| {
            Ok(Row {
                arm: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                ms: r.get(1)?,
                answered: r.get(2)?,
                tin: r.get(3)?,
                tout: r.get(4)?,
                cost: r.get(5)?,
                grounding: r.get(6)?,
                up: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut arms = Vec::new();
    for group in rows.chunk_by(|a, b| a.arm == b.arm) {
        let mut ms: Vec<f64> = group.iter().map(|r| r.ms).collect();
        ms.sort_by(f64::total_cmp);
        let n = group.len() as u64;
        let checked: Vec<f64> = group.iter().filter_map(|r| r.grounding).collect();
        let rated = group.iter().filter(|r| r.up.is_some()).count() as u64;
        let up = group.iter().filter(|r| r.up == Some(true)).count() as u64;
        arms.push(ArmReport {
            arm: group[0].arm.clone(),
            answers: n,
            tokens_in: group.iter().map(|r| r.tin.max(0) as u64).sum(),
            tokens_out: group.iter().map(|r| r.tout.max(0) as u64).sum(),
            cost_usd: group.iter().map(|r| r.cost).sum(),
            latency: latency(&ms),
            grounding: (!checked.is_empty())
                .then(|| checked.iter().sum::<f64>() / checked.len() as f64),
            unanswered: Proportion::wilson(group.iter().filter(|r| !r.answered).count() as u64, n),
            feedback: Proportion::wilson(rated, n),
            up: Proportion::wilson(up, rated),
        });
    }
    let (better, p_value, verdict) = compare(&arms);
    Ok(ExperimentReport {
        experiment: id.to_owned(),
        arms,
        better,
        p_value,
        verdict,
    })
}

/// The best arm by "up" share against the runner-up.
fn compare(arms: &[ArmReport]) -> (Option<String>, Option<f64>, String) {
    let mut rated: Vec<&ArmReport> = arms.iter().filter(|a| a.up.trials > 0).collect();
    if rated.len() < 2 {
        return (
            None,
            None,
            "fewer than two arms have feedback: nothing to compare yet".into(),
        );
    }
    rated.sort_by(|a, b| b.up.value.total_cmp(&a.up.value));
    let (best, second) = (rated[0], rated[1]);
    let p = two_proportion_p(&best.up, &second.up);
    if p < ALPHA {
        let verdict = format!(
            "`{}` is better: {:.1}% up against {:.1}% for `{}` (p = {p:.4})",
            best.arm,
            best.up.value * 100.0,
            second.up.value * 100.0,
            second.arm
        );
        (Some(best.arm.clone()), Some(p), verdict)
    } else {
        let verdict = format!(
            "no significant difference yet: `{}` {:.1}% up, `{}` {:.1}% (p = {p:.3}; {ALPHA} needed)",
            best.arm,
            best.up.value * 100.0,
            second.arm,
            second.up.value * 100.0
        );
        (None, Some(p), verdict)
    }
}

/// Two-sided p-value of the pooled two-proportion z-test.
pub fn two_proportion_p(a: &Proportion, b: &Proportion) -> f64 {
    let (n1, n2) = (a.trials as f64, b.trials as f64);
    if n1 == 0.0 || n2 == 0.0 {
        return 1.0;
    }
    let pooled = (a.successes + b.successes) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return if a.value == b.value { 1.0 } else { 0.0 };
    }
    let z = ((a.value - b.value) / se).abs();
    2.0 * (1.0 - normal_cdf(z))
}

/// Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if z >= 0.0 { erf } else { -erf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_published_example() {
        // Newcombe (Stat. Med. 1998), example: 81/263 → 0.2553-0.3662.
        let p = Proportion::wilson(81, 263);
        assert!(
            (p.low - 0.2553).abs() < 5e-4 && (p.high - 0.3662).abs() < 5e-4,
            "{p:?}"
        );
        let none = Proportion::wilson(0, 0);
        assert_eq!((none.low, none.high), (0.0, 1.0));
    }

    #[test]
    fn z_test_p_values() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        // 60/100 against 45/100: z = 2.12, p = 0.034.
        let p = two_proportion_p(&Proportion::wilson(60, 100), &Proportion::wilson(45, 100));
        assert!((p - 0.0339).abs() < 1e-3, "{p}");
        let same = two_proportion_p(&Proportion::wilson(5, 10), &Proportion::wilson(5, 10));
        assert!((same - 1.0).abs() < 1e-6);
    }
}
