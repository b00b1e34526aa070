//! Long work as jobs: a corpus build, an ingest, a tune runs in its own task; the request that
//! started it answers `202` with the job's status at once (or waits with `?wait=true`).
//! `GET /v1/jobs/{id}` reads the status; `GET /v1/jobs/{id}/events` streams every change over
//! SSE until the job ends. Jobs live in the server's memory: a restart forgets them, and the
//! work they did is as durable as the library makes it (a build resumes, an ingest is one
//! Delta commit or nothing).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::error::{ApiError, ErrorInfo};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobState {
    /// Working.
    Running,
    /// Done; `result` holds what it made.
    Succeeded,
    /// Stopped by an error; `error` says why.
    Failed,
}

/// A job's status, as `GET /v1/jobs/{id}` returns it and the SSE stream sends it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct JobStatus {
    /// The job id.
    pub(crate) id: String,
    /// What it does (`ingest`, `corpus_build`, `corpus_tune`, `corpus_compact`).
    pub(crate) kind: String,
    /// The thing it works on.
    pub(crate) target: String,
    /// Where it is.
    pub(crate) state: JobState,
    /// The phase it is in (`embed`, `index`, ...), when it reports phases.
    pub(crate) phase: Option<String>,
    /// Units done in this phase.
    pub(crate) done: u64,
    /// Units in this phase, when known.
    pub(crate) total: Option<u64>,
    /// Milliseconds since it started.
    pub(crate) elapsed_ms: u64,
    /// What it made, once succeeded.
    #[schema(value_type = Object)]
    pub(crate) result: Option<Value>,
    /// Why it failed.
    pub(crate) error: Option<ErrorInfo>,
}

/// A running job's handle for reporting progress.
#[derive(Debug, Clone)]
pub(crate) struct JobHandle {
    status: Arc<watch::Sender<JobStatus>>,
    started: std::time::Instant,
}

impl JobHandle {
    fn update(&self, f: impl FnOnce(&mut JobStatus)) {
        let elapsed = self.started.elapsed().as_millis() as u64;
        self.status.send_modify(|s| {
            f(s);
            s.elapsed_ms = elapsed;
        });
    }

    /// A phase of `total` units starts.
    pub(crate) fn phase(&self, name: &str, total: Option<u64>) {
        self.update(|s| {
            s.phase = Some(name.to_string());
            s.done = 0;
            s.total = total;
        });
    }

    /// `n` more units are done.
    pub(crate) fn advance(&self, n: u64) {
        self.update(|s| s.done += n);
    }

    /// Set the units done.
    pub(crate) fn set_done(&self, done: u64, total: Option<u64>) {
        self.update(|s| {
            s.done = done;
            s.total = total;
        });
    }
}

impl lakehouse::vectord::Progress for JobHandle {
    fn start(&self, phase: &str, total: u64) {
        self.phase(phase, Some(total));
    }
    fn advance(&self, n: u64) {
        JobHandle::advance(self, n);
    }
}

/// Every job this process started.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: AtomicU64,
    jobs: Mutex<BTreeMap<String, Arc<watch::Sender<JobStatus>>>>,
}

/// Jobs kept after they end, newest first; older finished ones are forgotten.
const KEEP_FINISHED: usize = 1000;

impl Jobs {
    /// Start `work` as a job of `kind` on `target`.
    pub(crate) fn spawn<F, Fut>(
        &self,
        kind: &str,
        target: &str,
        work: F,
    ) -> watch::Receiver<JobStatus>
    where
        F: FnOnce(JobHandle) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ApiError>> + Send + 'static,
    {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("job-{n:06}");
        let (tx, rx) = watch::channel(JobStatus {
            id: id.clone(),
            kind: kind.to_string(),
            target: target.to_string(),
            state: JobState::Running,
            phase: None,
            done: 0,
            total: None,
            elapsed_ms: 0,
            result: None,
            error: None,
        });
        let tx = Arc::new(tx);
        let handle = JobHandle {
            status: Arc::clone(&tx),
            started: std::time::Instant::now(),
        };
        {
            let mut jobs = self
                .jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            jobs.insert(id, tx);
            forget_old(&mut jobs);
        }
        let fut = work(handle.clone());
        tokio::spawn(async move {
            let outcome = fut.await;
            handle.update(|s| match outcome {
                Ok(result) => {
                    s.state = JobState::Succeeded;
                    s.result = Some(result);
                }
                Err(e) => {
                    s.state = JobState::Failed;
                    s.error = Some(e.body().error);
                }
            });
        });
        rx
    }

    /// The status channel of job `id`.
    pub(crate) fn get(&self, id: &str) -> Option<watch::Receiver<JobStatus>> {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.get(id).map(|tx| tx.subscribe())
    }

    /// Every job's status, oldest first.
    pub(crate) fn list(&self) -> Vec<JobStatus> {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.values().map(|tx| tx.borrow().clone()).collect()
    }

    /// How many are running.
    pub(crate) fn running(&self) -> usize {
        self.list()
            .iter()
            .filter(|s| s.state == JobState::Running)
            .count()
    }
}

fn forget_old(jobs: &mut BTreeMap<String, Arc<watch::Sender<JobStatus>>>) {
    let finished: Vec<String> = jobs
        .iter()
        .filter(|(_, tx)| tx.borrow().state != JobState::Running)
        .map(|(id, _)| id.clone())
        .collect();
    if finished.len() > KEEP_FINISHED {
        for id in &finished[..finished.len() - KEEP_FINISHED] {
            jobs.remove(id);
        }
    }
}

/// Wait until the job behind `rx` ends; its final status.
pub(crate) async fn wait(mut rx: watch::Receiver<JobStatus>) -> JobStatus {
    loop {
        if rx.borrow().state != JobState::Running {
            return rx.borrow().clone();
        }
        if rx.changed().await.is_err() {
            return rx.borrow().clone();
        }
    }
}
