//! The server benchmark's statistics: one batch's rate and latency percentiles, and one
//! side's batches summed up as medians with the spread of the rate (max − min over median).

use serde_json::{Value, json};

use super::matrix::percentile;

/// One batch: requests per second over its wall time, p50 and p99 latency.
pub(super) fn summary(latencies: &mut [f64], seconds: f64) -> Value {
    latencies.sort_by(f64::total_cmp);
    json!({
        "requests_per_s": latencies.len() as f64 / seconds.max(1e-9),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    })
}

/// One side's batches at one concurrency: medians over the batches, and the spread of the rate.
pub(super) struct Side {
    pub(super) rate: f64,
    pub(super) spread: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    batches: Vec<Value>,
}

impl Side {
    /// `None` for a side that did not run.
    pub(super) fn of(batches: Vec<Value>) -> Option<Side> {
        if batches.is_empty() {
            return None;
        }
        let pick = |key: &str| -> Vec<f64> {
            batches
                .iter()
                .map(|b| b[key].as_f64().unwrap_or(0.0))
                .collect()
        };
        let (rate, spread) = median_and_spread(&mut pick("requests_per_s"));
        let (p50, _) = median_and_spread(&mut pick("p50_ms"));
        let (p99, _) = median_and_spread(&mut pick("p99_ms"));
        Some(Side {
            rate,
            spread,
            p50,
            p99,
            batches,
        })
    }

    pub(super) fn json(&self) -> Value {
        json!({"requests_per_s_median": self.rate, "spread": self.spread,
               "p50_ms_median": self.p50, "p99_ms_median": self.p99, "batches": self.batches})
    }
}

/// The median of `values` and their spread, (max − min) / median.
pub(super) fn median_and_spread(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = percentile(values, 0.5);
    let spread = (values.last().copied().unwrap_or(0.0) - values.first().copied().unwrap_or(0.0))
        / median.max(1e-9);
    (median, spread)
}
