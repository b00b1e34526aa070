//! The facade end to end: real-data samples ingested as datasets, built into corpora with the
//! real MiniLM model, searched across corpora, updated incrementally, tuned, and damaged.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod corpora;
mod gc;
mod memory;
