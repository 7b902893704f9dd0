//! What an answer cost, and what it would have cost on the most expensive model tier: the
//! figures behind "cost saved by routing" (analytics, `/metrics`).
//!
//! A tier's price (`[llm.tiers.<name>] price_in/price_out`) counts for answers of that tier;
//! other answers use `[prices]` of their model. Tokens are the answering model's: the same
//! question on the largest tier's model would tokenize a little differently, which the
//! estimate ignores.

use lore_settings::{Price, Settings};

/// The price of a tier, when it has one.
fn tier_price(t: &lore_llm::TierConfig) -> Option<Price> {
    (t.price_in > 0.0 || t.price_out > 0.0).then_some(Price {
        input_per_million: t.price_in,
        output_per_million: t.price_out,
    })
}

/// The most expensive tier's price (by the sum of its prompt and completion prices).
pub fn largest_tier_price(settings: &Settings) -> Option<Price> {
    settings
        .llm
        .tiers
        .values()
        .filter_map(tier_price)
        .max_by(|a, b| {
            (a.input_per_million + a.output_per_million)
                .total_cmp(&(b.input_per_million + b.output_per_million))
        })
}

/// `(cost, cost on the largest tier)` of an answer, USD; both 0 for a cached or refused
/// answer (nothing generated). Without priced tiers the two are equal: nothing saved.
pub fn answer_cost(settings: &Settings, a: &lore_rag::Answer) -> (f64, f64) {
    let (tin, tout) = (
        a.usage.prompt_tokens as u64,
        a.usage.completion_tokens as u64,
    );
    let price = a
        .tier
        .as_ref()
        .and_then(|t| settings.llm.tiers.get(t))
        .and_then(tier_price)
        .or_else(|| settings.prices.get(&a.model).copied());
    let cost = price.map_or(0.0, |p| p.cost(tin, tout));
    let largest = largest_tier_price(settings).map_or(cost, |p| p.cost(tin, tout));
    (cost, largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_tier_saves_against_the_largest() {
        let mut s = Settings::default();
        for (name, pin, pout) in [("small", 0.2, 0.2), ("large", 3.0, 15.0)] {
            s.llm.tiers.insert(
                name.into(),
                lore_llm::TierConfig {
                    price_in: pin,
                    price_out: pout,
                    ..Default::default()
                },
            );
        }
        let mut a = lore_rag::Answer::refused(String::new(), Default::default(), 0.0);
        a.usage.prompt_tokens = 1_000_000;
        a.usage.completion_tokens = 100_000;
        a.tier = Some("small".into());
        let (cost, largest) = answer_cost(&s, &a);
        assert!((cost - 0.22).abs() < 1e-9, "{cost}");
        assert!((largest - 4.5).abs() < 1e-9, "{largest}");
        a.tier = Some("large".into());
        let (cost, largest) = answer_cost(&s, &a);
        assert!((cost - largest).abs() < 1e-12);
    }
}
