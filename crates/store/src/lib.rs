//! Storage for Lakehouse: everything else stands on this crate.
//!
//! - [`Store`]: an [`ObjectStore`] opened from a URL — a local folder
//!   (the default, `./lakehouse-data`), `memory://`, or `s3://bucket/prefix` for S3 and
//!   S3-compatible servers such as MinIO.
//! - Wrappers that implement the same `ObjectStore` trait and so compose with every backend:
//!   [`PrefixStore`] (re-exported from `object_store`) and [`FaultyStore`], which injects seeded
//!   errors and latency for tests, [`SortedListing`], which lists in key order, and
//!   [`MeteredStore`], which counts requests and errors (every opened store has one).
//! - [`create_once`]: the create-only put every commit chain is written with, which tells a
//!   write of ours whose answer was lost from another writer's.
//! - [`journal`]: the write-once, batched append log that memory, agent sessions and the error
//!   and trial journals are built on.
//! - [`Clock`]: time is injected so that tests and replays are exact.
//!
//! This crate depends on no other Lakehouse crate.

pub mod clock;
mod create;
mod error;
mod fault;
pub mod faulty;
pub mod journal;
pub mod metered;
mod sorted;
mod store;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use create::{Created, create_once};
pub use error::StoreError;
pub use fault::{Fault, object_store_fault};
pub use faulty::{FaultConfig, FaultyStore, Op};
pub use metered::{MeteredStore, StoreStats};
pub use object_store::prefix::PrefixStore;
pub use object_store::{self, ObjectStore, path::Path};
pub use sorted::SortedListing;
pub use store::{DEFAULT_STORE_URL, Store, StoreKind};
