//! The `lakehouse` binary, run as a user runs it: real processes, real stores (a local folder and
//! the S3 test server), including a writer killed with SIGKILL mid-run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod agent;
mod console;
mod corpus;
mod dataset;
mod journal;
mod kill;
mod mcp;
mod mem0;
mod memory;
mod serve;
mod slow;

use std::process::{Command, Output};

/// A `lakehouse` command on `store`, with `env` added.
pub(crate) fn lakehouse(store: &str, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakehouse"));
    command
        .arg("--store")
        .arg(store)
        .env_remove("LAKEHOUSE_STORE")
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Run and return the output, whatever the exit code.
pub(crate) fn run(command: &mut Command) -> Output {
    command.output().expect("run lakehouse")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A real-data sample shipped with the table crate's tests.
pub(crate) fn sample(name: &str) -> String {
    format!(
        "{}/../table/tests/data/{name}",
        lakehouse_testkit::crate_dir().display()
    )
}

/// `python scripts/interop/<script>` with the test venv's Python (scripts/setup-venv.sh).
pub(crate) fn interop(script: &str) -> Command {
    let venv = std::env::var("LAKEHOUSE_VENV").unwrap_or_else(|_| "/var/tmp/lakehouse-venv".into());
    let mut command = Command::new(format!("{venv}/bin/python"));
    command.arg(format!(
        "{}/../../scripts/interop/{script}",
        lakehouse_testkit::crate_dir().display()
    ));
    command
}

/// Run an [`interop`] command; a missing venv says how to make it.
pub(crate) fn run_interop(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} ({e}): run scripts/setup-venv.sh"))
}

/// Run `lakehouse <args>` on `store`, expect success, return stdout.
pub(crate) fn ok(store: &str, args: &[&str]) -> String {
    let output = run(lakehouse(store, &[]).args(args));
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}
