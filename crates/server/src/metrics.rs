//! Prometheus metrics (`GET /metrics`, text format): requests by route, method and status,
//! latency histograms by route, requests in flight, open memory namespaces, open journals,
//! running jobs, and the embedding cache of the corpora.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    op: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~65 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 18,
    ))
}

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub(crate) in_flight: Gauge,
    pub(crate) namespaces: Gauge,
    pub(crate) journals: Gauge,
    pub(crate) jobs_running: Gauge,
    store_requests: Family<StoreLabels, Counter>,
    store_errors: Family<StoreLabels, Counter>,
    /// Serialises scrapes, which bring the store counters up to date.
    scrape: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("lakehouse");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let in_flight = Gauge::default();
        let namespaces = Gauge::default();
        let journals = Gauge::default();
        let jobs_running = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response headers, by method and route",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being served",
            in_flight.clone(),
        );
        registry.register(
            "memory_namespaces_open",
            "Memory namespaces held open with their indexes",
            namespaces.clone(),
        );
        registry.register(
            "journals_open",
            "Journals written through this server",
            journals.clone(),
        );
        registry.register("jobs_running", "Jobs running", jobs_running.clone());
        let store_requests = Family::<StoreLabels, Counter>::default();
        let store_errors = Family::<StoreLabels, Counter>::default();
        registry.register(
            "store_requests",
            "Object store requests by operation",
            store_requests.clone(),
        );
        registry.register(
            "store_errors",
            "Object store requests that failed, by operation",
            store_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            namespaces,
            journals,
            jobs_running,
            store_requests,
            store_errors,
            scrape: std::sync::Mutex::new(()),
        }
    }

    /// Bring the store counters up to `stats` (they only grow).
    pub(crate) fn store(&self, stats: &lakehouse::store::StoreStats) {
        let _one = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (op, requests, errors) in stats.snapshot() {
            let labels = StoreLabels { op: op.to_string() };
            for (family, now) in [
                (&self.store_requests, requests),
                (&self.store_errors, errors),
            ] {
                let counter = family.get_or_create(&labels);
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
    }

    /// Count one answered request.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding the metrics failed\n");
        }
        out
    }
}
