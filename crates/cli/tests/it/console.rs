//! The web console in a real browser: scripts/interop/console_browser.py drives Debian's
//! headless Chromium (selenium, pinned in scripts/requirements-test.txt; the browser installed
//! by scripts/setup-browser.sh) through `lakehouse serve`'s console on the demo store: sign-in
//! with a wrong and a right token, every page, search, SQL with its CSV, a memory record
//! revised then retired, a session's tool calls and a replay, a read-only token, a write
//! without the CSRF token, no console error unexplained and no request beyond 127.0.0.1.
//! Screenshots and the pages' render times go to `<target>/console-screenshots/`.

use std::path::PathBuf;

use lakehouse_server::config::hash_token;

use crate::serve::{sigterm, start_with};
use crate::{interop, ok, run_interop};

const ADMIN: &str = "console-admin-token-0123456789";
const READER: &str = "console-reader-token-0123456789";

/// `<target>/console-screenshots`, beside the binary's profile folder.
fn screenshots() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_lakehouse"));
    binary
        .parent()
        .and_then(|profile| profile.parent())
        .map_or_else(
            || PathBuf::from("console-screenshots"),
            |t| t.join("console-screenshots"),
        )
}

#[test]
fn the_console_in_a_headless_browser() {
    for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(program).exists(),
            "{program} is missing: run scripts/setup-browser.sh"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    // the demo store: datasets, corpora, memory, two agent sessions; and an eval report
    ok(&store, &["demo"]);
    let evals = dir.path().join("eval-results");
    let tasks = format!("{}/../../examples/tasks.yaml", env!("CARGO_MANIFEST_DIR"));
    ok(
        &store,
        &[
            "agent",
            "eval",
            "--tasks",
            &tasks,
            "--iterations",
            "2",
            "--cold",
            "--out",
            &evals.display().to_string(),
        ],
    );
    let benches = format!("{}/../../bench-results", env!("CARGO_MANIFEST_DIR"));
    let config = dir.path().join("lakehouse.toml");
    std::fs::write(
        &config,
        format!(
            "[console]\nreports = [{benches:?}, {evals:?}]\n\n\
             [[tokens]]\nname = \"admin\"\nsha256 = \"{}\"\nscopes = [\"admin\"]\n\n\
             [[tokens]]\nname = \"reader\"\nsha256 = \"{}\"\nscopes = [\"read\"]\n",
            hash_token(ADMIN),
            hash_token(READER)
        ),
    )
    .unwrap();

    let (mut child, base) = start_with(&store, &[], &["--config", &config.display().to_string()]);
    let out = screenshots();
    let output = run_interop(interop("console_browser.py").args([
        base.as_str(),
        ADMIN,
        READER,
        &out.display().to_string(),
    ]));
    sigterm(&child);
    let status = child.wait().unwrap();
    assert!(
        output.status.success(),
        "console_browser.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(status.success(), "the server exits 0 on SIGTERM: {status}");
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    std::fs::write(out.join("summary.json"), seen.to_string()).unwrap();
    let pages = seen["pages"].as_object().unwrap();
    for page in [
        "#/",
        "#/datasets",
        "#/search",
        "#/sessions",
        "#/reports",
        "#/jobs",
    ] {
        assert!(pages.contains_key(page), "{page} was not visited: {seen}");
    }
    for shot in seen["screenshots"].as_array().unwrap() {
        let file = out.join(shot.as_str().unwrap());
        assert!(
            std::fs::metadata(&file).unwrap().len() > 0,
            "{}",
            file.display()
        );
    }
    // how long each page took to draw (its API calls included), as the browser measured it:
    // the median of 5 loads, and the first load of each
    eprintln!(
        "console page render times (ms), median of 5: {}; first load: {}",
        seen["pages"], seen["pages_first"]
    );
}
