//! Running a handful of short jobs (one search per corpus, tens of microseconds each) on the
//! calling thread and rayon's pool together.
//!
//! The calling thread starts on the first job at once and pool threads join in as they wake,
//! taking jobs from a shared counter; the caller waits only for jobs a helper has already
//! started. Handing every job to the pool instead would make each search wait for sleeping
//! threads to wake, which on a small machine costs as much as the searches themselves.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

struct Shared<T, R, F> {
    jobs: Vec<Mutex<Option<T>>>,
    results: Vec<Mutex<Option<R>>>,
    next: AtomicUsize,
    done: Mutex<usize>,
    finished: Condvar,
    run: F,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // Jobs run outside every lock, so no lock is held across a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T, R, F: Fn(T) -> R> Shared<T, R, F> {
    /// Take and run jobs until none are left.
    fn work(&self, panicked: &impl Fn() -> R) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.jobs.get(i) else {
                return;
            };
            // Counted as done however this iteration ends, so the caller never waits forever.
            let _count = Done(self);
            let job = lock(slot).take();
            let result = match job {
                Some(job) => catch_unwind(AssertUnwindSafe(|| (self.run)(job)))
                    .unwrap_or_else(|_| panicked()),
                None => panicked(),
            };
            *lock(&self.results[i]) = Some(result);
        }
    }
}

/// Counts one job as done when dropped (also while unwinding).
struct Done<'a, T, R, F>(&'a Shared<T, R, F>);

impl<T, R, F> Drop for Done<'_, T, R, F> {
    fn drop(&mut self) {
        let mut done = lock(&self.0.done);
        *done += 1;
        if *done == self.0.jobs.len() {
            self.0.finished.notify_all();
        }
    }
}

/// `jobs.map(run)`, in order, spread over the calling thread and up to one pool thread per core
/// besides it. A job that panics yields `panicked()` instead.
pub(crate) fn run_all<T, R, F, P>(jobs: Vec<T>, run: F, panicked: P) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
    P: Fn() -> R + Send + Sync + Clone + 'static,
{
    let n = jobs.len();
    if n <= 1 {
        return jobs
            .into_iter()
            .map(|job| catch_unwind(AssertUnwindSafe(|| run(job))).unwrap_or_else(|_| panicked()))
            .collect();
    }
    let shared = Arc::new(Shared {
        jobs: jobs.into_iter().map(|j| Mutex::new(Some(j))).collect(),
        results: (0..n).map(|_| Mutex::new(None)).collect(),
        next: AtomicUsize::new(0),
        done: Mutex::new(0),
        finished: Condvar::new(),
        run,
    });
    let helpers = rayon::current_num_threads().min(n - 1);
    for _ in 0..helpers {
        let shared = Arc::clone(&shared);
        let panicked = panicked.clone();
        rayon::spawn(move || shared.work(&panicked));
    }
    shared.work(&panicked);
    let mut done = lock(&shared.done);
    while *done < n {
        done = shared
            .finished
            .wait(done)
            .unwrap_or_else(PoisonError::into_inner);
    }
    drop(done);
    shared
        .results
        .iter()
        .map(|r| lock(r).take().unwrap_or_else(&panicked))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_and_panics_become_values() {
        let out = run_all(
            (0..50u64).collect(),
            |i| {
                assert!(i != 13, "unlucky");
                std::thread::sleep(std::time::Duration::from_micros(i * 10));
                Ok::<u64, String>(i * 2)
            },
            || Err("panicked".to_string()),
        );
        assert_eq!(out.len(), 50);
        for (i, r) in out.iter().enumerate() {
            if i == 13 {
                assert_eq!(r, &Err("panicked".to_string()));
            } else {
                assert_eq!(r, &Ok(i as u64 * 2));
            }
        }
        assert_eq!(run_all(vec![7], |x| x + 1, || 0), vec![8]);
        assert!(run_all(Vec::<u8>::new(), |x| x, || 0).is_empty());
    }
}
