//! The server benchmark's statistics: one batch's rate and latency percentiles, and one
//! side's batches summed up as medians with the spread of the rate (max − min over median).

use serde_json::{Value, json};

use super::matrix::percentile;

/// One batch: requests per second over its wall time, p50 and p99 latency, and (when known)
/// the CPU time this process spent per request, client and server together.
pub(super) fn summary(latencies: &mut [f64], seconds: f64, cpu_seconds: Option<f64>) -> Value {
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len().max(1) as f64;
    json!({
        "requests_per_s": latencies.len() as f64 / seconds.max(1e-9),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "cpu_us_per_request": cpu_seconds.map(|s| s * 1e6 / n),
    })
}

/// CPU time spent so far by this process's live threads, in seconds, from
/// `/proc/self/task/*/schedstat` (nanoseconds; Linux only, `None` elsewhere). Threads that
/// ended are not counted, so it is taken around batches, whose threads outlive them.
pub(super) fn process_cpu_seconds() -> Option<f64> {
    let mut ns: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue; // the thread ended meanwhile
        };
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// One side's batches at one concurrency: medians over the batches, and the spread of the rate.
pub(super) struct Side {
    pub(super) rate: f64,
    pub(super) spread: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    /// Median CPU time per request in µs (0 where unknown).
    pub(super) cpu_us: f64,
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
        let (cpu_us, _) = median_and_spread(&mut pick("cpu_us_per_request"));
        Some(Side {
            rate,
            spread,
            p50,
            p99,
            cpu_us,
            batches,
        })
    }

    pub(super) fn json(&self) -> Value {
        json!({"requests_per_s_median": self.rate, "spread": self.spread,
               "p50_ms_median": self.p50, "p99_ms_median": self.p99,
               "cpu_us_per_request_median": self.cpu_us, "batches": self.batches})
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
