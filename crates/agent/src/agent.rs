//! The loop: system prompt + playbook preamble + task; the model calls tools until it gives a
//! final answer the observer accepts or a budget runs out; then the session is archived and,
//! when accepted, sealed into a playbook.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakehouse_memory::{Action, Kind, MemoryQuery};
use lakehouse_models::chat::{extract_text_tool_calls, validate_arguments};
use lakehouse_models::{ChatModel, ChatRequest, Message, ToolCall, ToolSpec, Usage};
use lakehouse_store::{Clock, SystemClock};
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AgentError;
use crate::observer::{Candidate, Decision, Evidence, Observer, Verdict};
use crate::seal::{distill, preamble};
use crate::session::{SESSIONS_TABLE, SessionLog, session_row};
use crate::tools::{FINAL_ANSWER, Scratchpad, ToolResult, Workspace, tool_specs};

const SYSTEM_PROMPT: &str = "You are a data agent. Answer the task using the tools: search the \
corpora, query the datasets with SQL, fetch records, consult playbooks, keep notes in the \
scratchpad. When you know the answer, call final_answer with the answer and the ids (`corpus:id`) \
of the records it rests on. Use only facts and numbers that tools returned. A reviewer checks \
every answer.";

/// Budgets and policies of a run.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Model calls at most (the last one, without tools, is extra).
    pub max_steps: usize,
    /// Wall time at most.
    pub max_wall: Duration,
    /// Tokens (prompt + completion) at most.
    pub max_tokens: u64,
    /// Reviews that may send the agent back before the run ends unaccepted.
    pub max_reviews: usize,
    /// Playbooks offered as the preamble.
    pub preamble_playbooks: usize,
    /// A playbook must score at least this vector similarity to the task to be offered.
    pub preamble_min_similarity: f32,
    /// Seal accepted sessions into playbooks.
    pub seal: bool,
    /// Retire a playbook once its replays failed this many times (and more often than not).
    pub retire_after_failures: u64,
    /// The clock for session ids.
    pub clock: Arc<dyn Clock>,
    /// Where each session event goes as it happens (the same redacted JSON the archive
    /// keeps), e.g. for a server streaming the run; dropped when the run ends.
    pub live: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            max_steps: 12,
            max_wall: Duration::from_secs(300),
            max_tokens: 200_000,
            max_reviews: 3,
            preamble_playbooks: 2,
            preamble_min_similarity: 0.75,
            seal: true,
            retire_after_failures: 3,
            clock: Arc::new(SystemClock),
            live: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The observer accepted an answer.
    Accepted,
    /// The observer sent the agent back `max_reviews` times; the last answer stands unaccepted.
    NotAccepted,
    /// A budget ran out; the answer (if any) is the model's last one, without tools.
    BudgetExhausted {
        /// Which budget: steps, wall time or tokens.
        budget: String,
    },
    /// The model could not be reached or kept failing.
    ModelFailed {
        /// The error.
        error: String,
    },
}

/// A playbook sealed from the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sealed {
    /// The playbook's id.
    pub id: String,
    /// Added, or updated (the same workflow again).
    pub action: Action,
    /// Its replay count now.
    pub replay_count: u64,
}

/// One tool call of a run, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallTrace {
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// Whether it worked.
    pub ok: bool,
    /// The start of its result.
    pub result: String,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The session id (`sessions/<id>` in the store).
    pub session: String,
    /// The task.
    pub task: String,
    /// The model's id.
    pub model: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The final answer, if there is one.
    pub answer: Option<String>,
    /// Its citations.
    pub citations: Vec<String>,
    /// Tool calls made (final answers included).
    pub steps: usize,
    /// Model calls made.
    pub model_calls: usize,
    /// Tokens spent.
    pub usage: Usage,
    /// Wall time.
    pub wall_ms: u64,
    /// Every review, in order.
    pub verdicts: Vec<Verdict>,
    /// Playbooks given as the preamble.
    pub playbooks_injected: Vec<String>,
    /// The playbook sealed from this run.
    pub sealed: Option<Sealed>,
    /// Tool calls that failed (errors the model was shown).
    pub tool_errors: usize,
    /// The tool calls, in order (final answers are in `verdicts`).
    pub calls: Vec<CallTrace>,
    /// The harness's check of the answer, when one was given (`Err` says why it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Result<(), CheckFailed>>,
}

/// A deterministic check of an answer and its citations; `Err` says why it fails.
pub type Check<'a> = dyn Fn(&str, &[String]) -> Result<(), CheckFailed> + Sync + 'a;

/// Why an answer failed the harness's check (serialised as the bare message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{0}")]
#[serde(transparent)]
pub struct CheckFailed(pub String);

impl From<&str> for CheckFailed {
    fn from(why: &str) -> Self {
        CheckFailed(why.to_string())
    }
}

/// An agent: a model, a workspace, an observer.
#[derive(Debug, Clone)]
pub struct Agent {
    workspace: Workspace,
    model: Arc<dyn ChatModel>,
    observer: Observer,
    store: Arc<dyn ObjectStore>,
    options: AgentOptions,
}

struct Run {
    log: SessionLog,
    messages: Vec<Message>,
    calls: Vec<(ToolCall, ToolResult)>,
    evidence: Evidence,
    pad: Scratchpad,
    usage: Usage,
    model_calls: usize,
    verdicts: Vec<Verdict>,
    last: Option<Candidate>,
    tool_errors: usize,
}

impl Agent {
    /// An agent running `model` over `workspace`, archiving sessions in `store`.
    pub fn new(
        workspace: Workspace,
        model: Arc<dyn ChatModel>,
        observer: Observer,
        store: Arc<dyn ObjectStore>,
        options: AgentOptions,
    ) -> Self {
        Self {
            workspace,
            model,
            observer,
            store,
            options,
        }
    }

    fn session_id(&self) -> String {
        let now = self.options.clock.now().as_micros();
        format!("s{now}-{:04x}", rand::random::<u16>())
    }

    /// Run `task` to an outcome; see the module docs.
    pub async fn run(&self, task: &str) -> Result<RunReport, AgentError> {
        self.run_inner(task, None).await
    }

    /// Run `task`, then check an accepted answer with `check` (the harness's deterministic
    /// checks); only an answer that passes is sealed. The result is in [`RunReport::check`].
    pub async fn run_checked(
        &self,
        task: &str,
        check: &Check<'_>,
    ) -> Result<RunReport, AgentError> {
        self.run_inner(task, Some(check)).await
    }

    async fn run_inner(
        &self,
        task: &str,
        check: Option<&Check<'_>>,
    ) -> Result<RunReport, AgentError> {
        let task = task.trim();
        if task.is_empty() {
            return Err(AgentError::InvalidTask("the task is empty".into()));
        }
        if task.len() > 4000 {
            return Err(AgentError::InvalidTask(format!(
                "the task is {} bytes; the limit is 4000",
                task.len()
            )));
        }
        let started = Instant::now();
        let started_at = self.options.clock.now().as_micros();
        let session = self.session_id();
        let log = SessionLog::open(Arc::clone(&self.store), &session, self.options.live.clone())?;

        let playbooks = self.matching_playbooks(task).await;
        let injected: Vec<String> = playbooks.iter().map(|p| p.id.clone()).collect();
        let mut system = SYSTEM_PROMPT.to_string();
        if !playbooks.is_empty() {
            system.push_str("\n\n");
            system.push_str(&preamble(&playbooks));
        }
        log.record(
            "start",
            json!({"task": task, "model": self.model.id(), "observer": self.observer.name(),
            "playbooks_injected": injected, "system": system}),
        )
        .await?;

        let mut run = Run {
            log,
            messages: vec![Message::system(system), Message::user(task)],
            calls: Vec::new(),
            evidence: Evidence::default(),
            pad: Scratchpad::default(),
            usage: Usage::default(),
            model_calls: 0,
            verdicts: Vec::new(),
            last: None,
            tool_errors: 0,
        };
        let outcome = self.drive(task, &mut run, started).await?;
        let accepted = outcome == Outcome::Accepted;
        let checked = match (check, &run.last) {
            (Some(check), Some(c)) if accepted => Some(check(&c.answer, &c.citations)),
            (Some(_), _) => Some(Err(CheckFailed("no accepted answer".to_string()))),
            (None, _) => None,
        };
        if let Some(result) = &checked {
            run.log
                .record(
                    "check",
                    json!({"passed": result.is_ok(), "why": result.as_ref().err()}),
                )
                .await?;
        }
        let succeeded = accepted && checked.as_ref().is_none_or(Result::is_ok);

        let mut sealed = None;
        if succeeded
            && self.options.seal
            && let Some(candidate) = &run.last
            && let Some(draft) = distill(
                task,
                &run.calls,
                &candidate.answer,
                &candidate.citations,
                &session,
                self.model.id(),
            )
        {
            match self.workspace.memory.upsert(draft).await {
                Ok(done) => {
                    run.log.record("seal", json!({"playbook": done.record.id, "action": done.action,
                        "replay_count": done.record.replay_count, "steps": done.record.draft.steps})).await?;
                    sealed = Some(Sealed {
                        id: done.record.id,
                        action: done.action,
                        replay_count: done.record.replay_count,
                    });
                }
                Err(e) => {
                    run.log
                        .record("seal_failed", json!({"error": e.to_string()}))
                        .await?;
                }
            }
        }
        self.record_replays(&run, &injected, succeeded, &session)
            .await?;

        let report = RunReport {
            session,
            task: task.to_string(),
            model: self.model.id().to_string(),
            outcome,
            answer: run.last.as_ref().map(|c| c.answer.clone()),
            citations: run
                .last
                .as_ref()
                .map(|c| c.citations.clone())
                .unwrap_or_default(),
            steps: run.calls.len() + run.verdicts.len(),
            model_calls: run.model_calls,
            usage: run.usage,
            wall_ms: started.elapsed().as_millis() as u64,
            verdicts: run.verdicts.clone(),
            playbooks_injected: injected,
            sealed,
            tool_errors: run.tool_errors,
            check: checked,
            calls: run
                .calls
                .iter()
                .map(|(call, result)| CallTrace {
                    tool: call.name.clone(),
                    arguments: call.arguments.clone(),
                    ok: result.ok,
                    result: result.content.chars().take(300).collect(),
                })
                .collect(),
        };
        // One row per session in the `agent_sessions` dataset, for SQL; the journal stays the
        // complete record if this fails.
        let appended = match session_row(&report, started_at) {
            Ok(row) => self
                .workspace
                .tables
                .append(SESSIONS_TABLE, row)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = appended {
            tracing::warn!("could not append the session to {SESSIONS_TABLE}: {error}");
            run.log
                .record("sessions_table_failed", json!({ "error": error }))
                .await?;
        }
        run.log
            .record(
                "outcome",
                serde_json::to_value(&report).unwrap_or(Value::Null),
            )
            .await?;
        run.log.close().await?;
        Ok(report)
    }

    async fn matching_playbooks(&self, task: &str) -> Vec<lakehouse_memory::Record> {
        if self.options.preamble_playbooks == 0 {
            return Vec::new();
        }
        let query = MemoryQuery::new(task)
            .with_k(self.options.preamble_playbooks)
            .with_kind(Kind::Playbook);
        match self.workspace.memory.search(&query).await {
            Ok(hits) => hits
                .into_iter()
                .filter(|h| h.vector_score.unwrap_or(0.0) >= self.options.preamble_min_similarity)
                .map(|h| h.record)
                .collect(),
            Err(e) => {
                tracing::warn!("playbook search failed, running without a preamble: {e}");
                Vec::new()
            }
        }
    }

    /// Outcomes for the injected playbooks; retire one whose replays keep failing.
    async fn record_replays(
        &self,
        run: &Run,
        injected: &[String],
        accepted: bool,
        session: &str,
    ) -> Result<(), AgentError> {
        for id in injected {
            let Ok(record) = self
                .workspace
                .memory
                .record_outcome(id, accepted, Some(session))
                .await
            else {
                continue;
            };
            if !accepted
                && record.failure_count >= self.options.retire_after_failures
                && record.failure_count > record.success_count
                && record.retired_at.is_none()
            {
                let reason = format!(
                    "{} failed replays, {} successful",
                    record.failure_count, record.success_count
                );
                if self
                    .workspace
                    .memory
                    .retire(id, &reason, Some("agent"), false)
                    .await
                    .is_ok()
                {
                    run.log
                        .record("retire", json!({"playbook": id, "reason": reason}))
                        .await?;
                }
            }
        }
        Ok(())
    }

    fn over_budget(&self, run: &Run, started: Instant) -> Option<&'static str> {
        if run.model_calls >= self.options.max_steps {
            Some("steps")
        } else if started.elapsed() >= self.options.max_wall {
            Some("wall time")
        } else if run.usage.total() >= self.options.max_tokens {
            Some("tokens")
        } else {
            None
        }
    }

    async fn drive(
        &self,
        task: &str,
        run: &mut Run,
        started: Instant,
    ) -> Result<Outcome, AgentError> {
        let tools = tool_specs();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        let mut warned = false;
        loop {
            if let Some(budget) = self.over_budget(run, started) {
                run.log
                    .record("budget", json!({"exhausted": budget}))
                    .await?;
                return self.last_call(task, run, budget).await;
            }
            if !warned && run.model_calls + 2 >= self.options.max_steps {
                warned = true;
                let warning = "Budget nearly used up: give your final answer with the next call.";
                run.messages.push(Message::user(warning));
                run.log
                    .record("budget", json!({"warning": warning}))
                    .await?;
            }
            let request = ChatRequest {
                messages: run.messages.clone(),
                tools: tools.clone(),
                ..ChatRequest::default()
            };
            let left = self.options.max_wall.saturating_sub(started.elapsed());
            let mut message = match self.ask(run, &request, left).await? {
                Asked::Answer(message) => message,
                Asked::Failed => {
                    return Ok(Outcome::ModelFailed {
                        error: "the model failed; see the session journal".into(),
                    });
                }
                // The wall-time budget ran out while the model was answering.
                Asked::TimedOut => {
                    run.log
                        .record("budget", json!({"exhausted": "wall time"}))
                        .await?;
                    return self.last_call(task, run, "wall time").await;
                }
            };
            let mut calls = std::mem::take(&mut message.tool_calls);
            if calls.is_empty() {
                // Tool calls printed as text.
                let found = extract_text_tool_calls(&message.content, &names);
                if !found.calls.is_empty() || !found.errors.is_empty() {
                    run.log
                        .record(
                            "text_tool_calls",
                            json!({"calls": found.calls, "errors": found.errors}),
                        )
                        .await?;
                }
                calls = found.calls;
                if calls.is_empty() && !found.errors.is_empty() {
                    run.messages.push(message.clone());
                    run.messages.push(Message::user(format!(
                        "Your tool call could not be read: {}. Call a tool with valid JSON arguments.",
                        found.errors.join("; ")
                    )));
                    continue;
                }
            }
            message.tool_calls.clone_from(&calls);
            run.messages.push(message.clone());
            if calls.is_empty() {
                // A plain-text answer: a candidate without citations.
                let candidate = Candidate {
                    answer: message.content.clone(),
                    citations: Vec::new(),
                };
                if let Some(outcome) = self.review(task, run, candidate, None).await? {
                    return Ok(outcome);
                }
                continue;
            }
            for call in calls {
                if call.name == FINAL_ANSWER {
                    if let Some(outcome) = self.final_answer(task, run, &tools, call).await? {
                        return Ok(outcome);
                    }
                } else {
                    self.tool(run, &tools, call).await?;
                }
            }
        }
    }

    /// One model call, archived; `None` when it failed (archived too).
    async fn ask(
        &self,
        run: &mut Run,
        request: &ChatRequest,
        limit: Duration,
    ) -> Result<Asked, AgentError> {
        run.model_calls += 1;
        run.log.record("request", json!({"n": run.model_calls, "messages": request.messages.len(), "tools": request.tools.len()})).await?;
        let answer = match tokio::time::timeout(
            limit.max(Duration::from_millis(1)),
            self.model.chat(request),
        )
        .await
        {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                run.log
                    .record("model_error", json!({"error": e.to_string()}))
                    .await?;
                return Ok(Asked::Failed);
            }
            Err(_) => {
                run.log
                    .record(
                        "model_error",
                        json!({"error": format!("no answer within {} ms", limit.as_millis())}),
                    )
                    .await?;
                return Ok(Asked::TimedOut);
            }
        };
        run.usage.add(answer.usage);
        run.log.record("response", json!({"message": answer.message, "usage": answer.usage, "finish_reason": answer.finish_reason})).await?;
        Ok(Asked::Answer(answer.message))
    }

    async fn tool(
        &self,
        run: &mut Run,
        tools: &[ToolSpec],
        call: ToolCall,
    ) -> Result<(), AgentError> {
        let result = match tools.iter().find(|t| t.name == call.name) {
            None => ToolResult::error(format!(
                "unknown tool {:?}; the tools are: {}",
                call.name,
                tools
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(spec) => {
                let errors = validate_arguments(&spec.parameters, &call.arguments);
                if errors.is_empty() {
                    self.workspace
                        .call(&call.name, &call.arguments, &mut run.pad)
                        .await
                } else {
                    ToolResult::error(format!(
                        "invalid arguments for {}: {}",
                        call.name,
                        errors.join("; ")
                    ))
                }
            }
        };
        run.log
            .record(
                "tool",
                json!({"call": call, "ok": result.ok, "result": result.content}),
            )
            .await?;
        if !result.ok {
            run.tool_errors += 1;
        }
        run.evidence.seen_ids.extend(result.seen.iter().cloned());
        run.evidence.results.push(result.content.clone());
        run.messages
            .push(Message::tool_result(&call, result.content.clone()));
        run.calls.push((call, result));
        Ok(())
    }

    async fn final_answer(
        &self,
        task: &str,
        run: &mut Run,
        tools: &[ToolSpec],
        call: ToolCall,
    ) -> Result<Option<Outcome>, AgentError> {
        let spec = tools.iter().find(|t| t.name == FINAL_ANSWER);
        let errors = spec
            .map(|s| validate_arguments(&s.parameters, &call.arguments))
            .unwrap_or_default();
        if !errors.is_empty() {
            let result = ToolResult::error(format!("invalid final answer: {}", errors.join("; ")));
            run.log
                .record(
                    "tool",
                    json!({"call": call, "ok": false, "result": result.content}),
                )
                .await?;
            run.tool_errors += 1;
            run.messages
                .push(Message::tool_result(&call, result.content));
            return Ok(None);
        }
        let candidate = Candidate {
            answer: call.arguments["answer"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            citations: call.arguments["citations"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        };
        self.review(task, run, candidate, Some(&call)).await
    }

    /// Review a candidate; `Some(outcome)` ends the run.
    async fn review(
        &self,
        task: &str,
        run: &mut Run,
        candidate: Candidate,
        call: Option<&ToolCall>,
    ) -> Result<Option<Outcome>, AgentError> {
        let verdict = self.observer.review(task, &candidate, &run.evidence).await;
        run.log
            .record(
                "verdict",
                json!({"candidate": candidate, "verdict": verdict}),
            )
            .await?;
        run.last = Some(candidate);
        run.verdicts.push(verdict.clone());
        if verdict.decision == Decision::Accept {
            return Ok(Some(Outcome::Accepted));
        }
        if run.verdicts.len() >= self.options.max_reviews {
            return Ok(Some(Outcome::NotAccepted));
        }
        let feedback = format!(
            "The reviewer ({}) did not accept the answer ({:?}): {}",
            verdict.reviewer, verdict.decision, verdict.feedback
        );
        match call {
            Some(call) => run.messages.push(Message::tool_result(
                call,
                json!({"accepted": false, "feedback": feedback}).to_string(),
            )),
            None => run.messages.push(Message::user(feedback)),
        }
        Ok(None)
    }

    /// The last call, without tools, for the best answer.
    async fn last_call(
        &self,
        task: &str,
        run: &mut Run,
        budget: &str,
    ) -> Result<Outcome, AgentError> {
        run.messages.push(Message::user(
            "The budget is used up. Give your best final answer now, as plain text, citing record ids in [brackets].",
        ));
        let request = ChatRequest {
            messages: run.messages.clone(),
            ..ChatRequest::default()
        };
        // One call beyond the budget, with a short time limit of its own.
        let limit =
            (self.options.max_wall / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
        if let Asked::Answer(message) = self.ask(run, &request, limit).await? {
            let citations: Vec<String> = bracketed(&message.content)
                .into_iter()
                .filter(|id| run.evidence.seen_ids.contains(id))
                .collect();
            let candidate = Candidate {
                answer: message.content,
                citations,
            };
            let verdict = self.observer.review(task, &candidate, &run.evidence).await;
            run.log
                .record(
                    "verdict",
                    json!({"candidate": candidate, "verdict": verdict}),
                )
                .await?;
            run.verdicts.push(verdict);
            run.last = Some(candidate);
        }
        Ok(Outcome::BudgetExhausted {
            budget: budget.to_string(),
        })
    }
}

/// What one model call gave.
enum Asked {
    /// The assistant's message.
    Answer(Message),
    /// The model failed (archived).
    Failed,
    /// No answer within the time limit (archived).
    TimedOut,
}

/// Ids written as `[corpus:id]` in a text.
fn bracketed(text: &str) -> BTreeSet<String> {
    text.split('[')
        .skip(1)
        .filter_map(|rest| rest.split_once(']').map(|(id, _)| id.trim().to_string()))
        .filter(|id| id.contains(':'))
        .collect()
}
