//! The harness: a task file run for N iterations, every answer checked by the deterministic
//! checks in the file, every session archived, and a report (JSON and markdown) of pass@1,
//! pass^k, steps, tokens, wall time, observer verdicts and playbook hits — warm (playbooks
//! sealed from checked successes and offered to later iterations) next to cold (memory frozen:
//! nothing offered, nothing sealed).
//!
//! ```yaml
//! tasks:
//!   - id: nvidia-ticker
//!     task: What is the stock ticker of NVIDIA?
//!     expect:
//!       cites_any: [companies:NVDA]     # at least one of these ids cited
//!       contains: [NVIDIA]              # every string appears in the answer (case-insensitive)
//!       regex: "(?i)nvidia"             # the answer matches
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AgentError;
use crate::agent::{Agent, CheckFailed, Outcome, RunReport};
use crate::observer::Decision;

/// A task file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// The tasks, run in order.
    pub tasks: Vec<TaskSpec>,
}

/// One task and how to check its answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// A short name for reports.
    pub id: String,
    /// The task, as the agent gets it.
    pub task: String,
    /// The checks; all given ones must pass.
    #[serde(default)]
    pub expect: Expect,
}

/// Deterministic checks of an answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// At least one of these ids is cited.
    #[serde(default)]
    pub cites_any: Vec<String>,
    /// All of these ids are cited.
    #[serde(default)]
    pub cites_all: Vec<String>,
    /// Each of these appears in the answer (case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// The answer matches this regular expression.
    #[serde(default)]
    pub regex: Option<String>,
}

impl TaskFile {
    /// Parse and check a task file (YAML or JSON), naming what is wrong.
    pub fn parse(text: &str) -> Result<TaskFile, AgentError> {
        let file: TaskFile = yaml_serde::from_str(text)
            .map_err(|e| AgentError::InvalidTask(format!("task file: {e}")))?;
        if file.tasks.is_empty() {
            return Err(AgentError::InvalidTask("task file: no tasks".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &file.tasks {
            if t.id.trim().is_empty() || t.task.trim().is_empty() {
                return Err(AgentError::InvalidTask(
                    "task file: a task has an empty id or task".into(),
                ));
            }
            if !seen.insert(&t.id) {
                return Err(AgentError::InvalidTask(format!(
                    "task file: id {:?} is used twice",
                    t.id
                )));
            }
            if let Some(r) = &t.expect.regex {
                regex::Regex::new(r).map_err(|e| {
                    AgentError::InvalidTask(format!("task {}: bad regex: {e}", t.id))
                })?;
            }
        }
        Ok(file)
    }
}

impl Expect {
    /// Whether `answer` with `citations` passes, and if not, why.
    pub fn check(&self, answer: &str, citations: &[String]) -> Result<(), CheckFailed> {
        let fail = |why: String| Err(CheckFailed(why));
        if !self.cites_any.is_empty() && !self.cites_any.iter().any(|id| citations.contains(id)) {
            return fail(format!("cites none of {:?}", self.cites_any));
        }
        if let Some(missing) = self.cites_all.iter().find(|id| !citations.contains(id)) {
            return fail(format!("does not cite {missing}"));
        }
        let lower = answer.to_lowercase();
        if let Some(missing) = self
            .contains
            .iter()
            .find(|s| !lower.contains(&s.to_lowercase()))
        {
            return fail(format!("does not contain {missing:?}"));
        }
        if let Some(r) = &self.regex {
            let re = regex::Regex::new(r).map_err(|e| CheckFailed(e.to_string()))?;
            if !re.is_match(answer) {
                return fail(format!("does not match /{r}/"));
            }
        }
        Ok(())
    }
}

/// One run of one task in the harness.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRun {
    /// The task's id.
    pub task: String,
    /// 1-based iteration.
    pub iteration: usize,
    /// Whether the answer was accepted and passed the checks.
    pub passed: bool,
    /// Why it did not pass.
    pub failure: Option<String>,
    /// The agent's report.
    pub report: RunReport,
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((q * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)]
}

/// Run every task `iterations` times with `agent` (checked successes are sealed when the
/// agent seals), in task order within each iteration.
pub async fn run_tasks(
    agent: &Agent,
    file: &TaskFile,
    iterations: usize,
) -> Result<Vec<EvalRun>, AgentError> {
    let mut runs = Vec::new();
    for iteration in 1..=iterations.max(1) {
        for spec in &file.tasks {
            let report = agent
                .run_checked(&spec.task, &|answer, citations| {
                    spec.expect.check(answer, citations)
                })
                .await?;
            let failure = match (&report.outcome, report.check.as_ref()) {
                (Outcome::Accepted, Some(Ok(()))) => None,
                (Outcome::Accepted, Some(Err(why))) => Some(format!("check failed: {why}")),
                (other, _) => Some(format!(
                    "not accepted: {}",
                    serde_json::to_value(other)
                        .map(|v| v["kind"].to_string())
                        .unwrap_or_default()
                )),
            };
            runs.push(EvalRun {
                task: spec.id.clone(),
                iteration,
                passed: failure.is_none(),
                failure,
                report,
            });
        }
    }
    Ok(runs)
}

/// The summary of one mode's runs: pass@1, pass^k, steps, tokens, time, verdicts, playbook
/// hits, and per iteration.
pub fn summarize(runs: &[EvalRun]) -> Value {
    let tasks: BTreeMap<&str, Vec<&EvalRun>> = runs.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r.task.as_str()).or_default().push(r);
        m
    });
    let n_tasks = tasks.len().max(1) as f64;
    let pass_at_1 = tasks
        .values()
        .filter(|rs| rs.first().is_some_and(|r| r.passed))
        .count() as f64
        / n_tasks;
    let pass_hat_k = tasks
        .values()
        .filter(|rs| rs.iter().all(|r| r.passed))
        .count() as f64
        / n_tasks;
    let mut steps: Vec<f64> = runs.iter().map(|r| r.report.steps as f64).collect();
    let mut tokens: Vec<f64> = runs.iter().map(|r| r.report.usage.total() as f64).collect();
    let mut wall: Vec<f64> = runs.iter().map(|r| r.report.wall_ms as f64).collect();
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    for r in runs {
        for v in &r.report.verdicts {
            let key = match v.decision {
                Decision::Accept => "accept",
                Decision::Revise => "revise",
                Decision::Reject => "reject",
            };
            *verdicts.entry(key.to_string()).or_default() += 1;
        }
    }
    let iterations = runs.iter().map(|r| r.iteration).max().unwrap_or(0);
    let per_iteration: Vec<Value> = (1..=iterations)
        .map(|i| {
            let these: Vec<&EvalRun> = runs.iter().filter(|r| r.iteration == i).collect();
            let n = these.len().max(1) as f64;
            json!({
                "iteration": i,
                "passed": these.iter().filter(|r| r.passed).count(),
                "mean_steps": these.iter().map(|r| r.report.steps as f64).sum::<f64>() / n,
                "playbook_hits": these.iter().filter(|r| !r.report.playbooks_injected.is_empty()).count(),
            })
        })
        .collect();
    json!({
        "runs": runs.len(),
        "tasks": tasks.len(),
        "pass_at_1": pass_at_1,
        "pass_hat_k": pass_hat_k,
        "steps": {"median": percentile(&mut steps, 0.5), "p90": percentile(&mut steps, 0.9)},
        "tokens": {"median": percentile(&mut tokens, 0.5), "total": tokens.iter().sum::<f64>()},
        "wall_ms": {"median": percentile(&mut wall, 0.5), "p90": percentile(&mut wall, 0.9)},
        "verdicts": verdicts,
        "playbook_hits": runs.iter().filter(|r| !r.report.playbooks_injected.is_empty()).count(),
        "sealed": runs.iter().filter(|r| r.report.sealed.is_some()).count(),
        "per_iteration": per_iteration,
    })
}

/// The markdown report of one or more modes' summaries.
pub fn markdown(title: &str, modes: &[(&str, &Value, &[EvalRun])]) -> String {
    let mut md = format!("# {title}\n\n");
    md.push_str("| mode | runs | pass@1 | pass^k | median steps | p90 steps | median tokens | median ms | verdicts | playbook hits | sealed |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (mode, s, _) in modes {
        md.push_str(&format!(
            "| {mode} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} |\n",
            s["runs"],
            s["pass_at_1"].as_f64().unwrap_or(0.0),
            s["pass_hat_k"].as_f64().unwrap_or(0.0),
            s["steps"]["median"],
            s["steps"]["p90"],
            s["tokens"]["median"],
            s["wall_ms"]["median"],
            s["verdicts"],
            s["playbook_hits"],
            s["sealed"]
        ));
    }
    for (mode, s, runs) in modes {
        md.push_str(&format!("\n## {mode}\n\n| iteration | passed | mean steps | playbook hits |\n|---|---|---|---|\n"));
        for it in s["per_iteration"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {} |\n",
                it["iteration"],
                it["passed"],
                it["mean_steps"].as_f64().unwrap_or(0.0),
                it["playbook_hits"]
            ));
        }
        md.push_str("\n| task | iteration | passed | steps | playbooks | session | why not |\n|---|---|---|---|---|---|---|\n");
        for r in runs.iter() {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | sessions/{} | {} |\n",
                r.task,
                r.iteration,
                if r.passed { "yes" } else { "no" },
                r.report.steps,
                r.report.playbooks_injected.join(" "),
                r.report.session,
                r.failure.clone().unwrap_or_default()
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        let file = TaskFile::parse(
            "tasks:\n  - id: a\n    task: What is NVIDIA's ticker?\n    expect:\n      cites_any: [companies:NVDA]\n      contains: [nvidia]\n      regex: \"NVDA\"\n",
        )
        .unwrap();
        let expect = &file.tasks[0].expect;
        assert!(
            expect
                .check("NVIDIA CORP is NVDA", &["companies:NVDA".into()])
                .is_ok()
        );
        assert!(
            expect
                .check("NVIDIA CORP is NVDA", &[])
                .unwrap_err()
                .0
                .contains("cites none")
        );
        assert!(
            expect
                .check("it is NVDA", &["companies:NVDA".into()])
                .unwrap_err()
                .0
                .contains("nvidia")
        );
        for bad in [
            "tasks: []",
            "tasks:\n  - id: a\n    task: x\n    expect: {regex: \"(\"}",
            "tasks:\n  - {id: a, task: x}\n  - {id: a, task: y}",
            "tasks:\n  - {id: a, task: x, extra: 1}",
            "{not yaml",
        ] {
            assert!(TaskFile::parse(bad).is_err(), "{bad}");
        }
    }
}
