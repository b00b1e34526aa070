//! The loop's behaviours: cold and warm runs with the offline planner (seal, preamble,
//! replay_count), tool errors going back to the model, unknown tools and bad arguments,
//! budgets, the observer sending an answer back, model failures, tool calls written as text,
//! failed replays recorded and retired, the LLM reviewer's fallback, and the archive.

use std::sync::Arc;

use lakehouse_agent::{AgentOptions, CheckFailed, Decision, Observer, OfflinePlanner, Outcome};
use lakehouse_memory::{Action, Draft, Kind};
use lakehouse_models::chat::{Scripted, ScriptedModel};
use lakehouse_models::{Message, Role, ToolCall};
use lakehouse_store::journal::{Cursor, Journal, JournalOptions, StoreJournal};
use serde_json::{Value, json};

use crate::{agent, fixture};

const TASK: &str = "Which permits are about replacing a roof?";

fn calls(calls: &[(&str, Value)]) -> Scripted {
    ScriptedModel::answer(Message {
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(n, (name, args))| ToolCall {
                id: format!("c{n}"),
                name: name.to_string(),
                arguments: args.clone(),
            })
            .collect(),
        ..Message::assistant("")
    })
}

fn text(content: &str) -> Scripted {
    ScriptedModel::answer(Message::assistant(content))
}

async fn events(f: &crate::Fixture, session: &str) -> Vec<Value> {
    let journal = StoreJournal::open(
        Arc::clone(f.store.object_store()),
        &format!("sessions/{session}"),
        JournalOptions::default(),
    )
    .unwrap();
    let (events, _) = journal
        .read_since(Cursor::start())
        .collect_all()
        .await
        .unwrap();
    events
        .iter()
        .map(|e| e.decode::<Value>().unwrap())
        .collect()
}

#[tokio::test]
async fn offline_cold_then_warm_seals_and_replays_a_playbook() {
    let f = fixture().await;
    let a = agent(
        &f,
        Arc::new(OfflinePlanner),
        Observer::Heuristic,
        AgentOptions::default(),
    );
    let cold = a.run(TASK).await.unwrap();
    assert_eq!(cold.outcome, Outcome::Accepted, "{cold:?}");
    assert!(cold.playbooks_injected.is_empty());
    assert!(
        cold.citations.iter().all(|c| c.starts_with("permits:")),
        "{:?}",
        cold.citations
    );
    let sealed = cold.sealed.clone().unwrap();
    assert_eq!((sealed.action, sealed.replay_count), (Action::Added, 1));
    let playbook = f.workspace.memory.get(&sealed.id).unwrap();
    assert_eq!(playbook.draft.kind, Kind::Playbook);
    assert_eq!(
        playbook.draft.steps.len(),
        1,
        "distilled to the search that found the cited records"
    );
    assert_eq!(
        playbook.draft.steps[0].args,
        json!({"query": "{task}", "corpora": ["permits"], "k": 5})
    );

    let warm = a.run(TASK).await.unwrap();
    assert_eq!(warm.outcome, Outcome::Accepted);
    assert_eq!(warm.playbooks_injected, vec![sealed.id.clone()]);
    assert!(
        warm.steps < cold.steps,
        "warm {} steps, cold {}",
        warm.steps,
        cold.steps
    );
    let again = warm.sealed.unwrap();
    assert_eq!(
        (again.id.as_str(), again.action, again.replay_count),
        (sealed.id.as_str(), Action::Updated, 2)
    );
    assert_eq!(
        f.workspace.memory.get(&sealed.id).unwrap().success_count,
        1,
        "the replay's success is recorded"
    );

    // In the harness, an accepted answer that fails its check is not sealed, and the playbook
    // it replayed records a failure.
    let checked = a
        .run_checked(TASK, &|_, citations| {
            if citations.iter().any(|c| c == "permits:P999") {
                Ok(())
            } else {
                Err("does not cite permits:P999".into())
            }
        })
        .await
        .unwrap();
    assert_eq!(checked.outcome, Outcome::Accepted);
    assert_eq!(
        checked.check,
        Some(Err(CheckFailed("does not cite permits:P999".to_string())))
    );
    assert!(checked.sealed.is_none());
    assert_eq!(f.workspace.memory.get(&sealed.id).unwrap().failure_count, 1);

    // One row per session in the agent_sessions dataset.
    let batches = f
        .workspace
        .tables
        .sql_collect(
            "SELECT outcome, steps, playbooks_injected, sealed FROM agent_sessions ORDER BY started_at",
            &lakehouse_table::SqlOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);

    // The archive: every kind of event, in order.
    let kinds: Vec<String> = events(&f, &warm.session)
        .await
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("start"));
    for kind in ["request", "response", "tool", "verdict", "seal", "outcome"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn tool_errors_unknown_tools_and_bad_arguments_go_back_to_the_model() {
    let f = fixture().await;
    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[("sql", json!({"query": "SELECT * FROM nowhere"}))]),
            calls(&[("teleport", json!({})), ("search", json!({"query": 7}))]),
            calls(&[(
                "sql",
                json!({"query": "SELECT permit, cost FROM permits WHERE permit = 'P100'"}),
            )]),
            calls(&[(
                "final_answer",
                json!({"answer": "Permit P100 costs 1000.", "citations": []}),
            )]),
        ],
    ));
    let report = agent(
        &f,
        model.clone(),
        Observer::Heuristic,
        AgentOptions::default(),
    )
    .run(TASK)
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted, "{report:?}");
    assert_eq!(report.tool_errors, 3);
    let requests = model.requests();
    let tool_messages: Vec<&Message> = requests[3]
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .collect();
    assert!(
        tool_messages[0].content.contains("nowhere"),
        "{}",
        tool_messages[0].content
    );
    assert!(
        tool_messages[1]
            .content
            .contains("unknown tool \\\"teleport\\\""),
        "{}",
        tool_messages[1].content
    );
    assert!(
        tool_messages[2]
            .content
            .contains("$.query: expected string"),
        "{}",
        tool_messages[2].content
    );
    assert!(
        tool_messages[3].content.contains("1000"),
        "{}",
        tool_messages[3].content
    );
    assert!(report.sealed.is_some(), "the successful SQL step is sealed");
}

#[tokio::test]
async fn an_archived_session_replays_without_its_model() {
    let f = fixture().await;
    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[(
                "search",
                json!({"query": "reroof garage", "corpora": ["permits"]}),
            )]),
            text(
                "<tool_call>{\"name\": \"final_answer\", \"arguments\": {\"answer\": \"P101 reroofs a garage.\", \"citations\": [\"permits:P101\"]}}</tool_call>",
            ),
        ],
    ));
    let original = agent(&f, model, Observer::Heuristic, AgentOptions::default())
        .run(TASK)
        .await
        .unwrap();
    let replay = lakehouse_agent::replay(Arc::clone(f.store.object_store()), &original.session)
        .await
        .unwrap();
    assert_eq!(
        (replay.task.as_str(), replay.original_model.as_str()),
        (TASK, "scripted:s")
    );
    let options = AgentOptions {
        seal: false,
        preamble_playbooks: 0,
        ..AgentOptions::default()
    };
    let again = agent(&f, Arc::new(replay.model), Observer::Heuristic, options)
        .run(&replay.task)
        .await
        .unwrap();
    assert_eq!(again.answer, original.answer);
    assert_eq!(again.calls, original.calls, "same tool calls, same results");
    assert_eq!(again.model, format!("scripted:replay:{}", original.session));
    let missing = lakehouse_agent::replay(Arc::clone(f.store.object_store()), "s404")
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("no session \"s404\""),
        "{missing}"
    );
}

#[tokio::test]
async fn the_observer_sends_back_an_unsupported_answer_then_accepts() {
    let f = fixture().await;
    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[("search", json!({"query": "roof", "corpora": ["permits"]}))]),
            calls(&[(
                "final_answer",
                json!({"answer": "P999 replaced 40 roofs.", "citations": ["permits:P999"]}),
            )]),
            calls(&[(
                "final_answer",
                json!({"answer": "P100 replaces roofing shingles.", "citations": ["permits:P100"]}),
            )]),
        ],
    ));
    let report = agent(
        &f,
        model.clone(),
        Observer::Heuristic,
        AgentOptions::default(),
    )
    .run(TASK)
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.verdicts.len(), 2);
    assert_eq!(report.verdicts[0].decision, Decision::Revise);
    assert_eq!(report.verdicts[0].missing_citations, vec!["permits:P999"]);
    assert!(
        report.verdicts[0].unsupported_claims.is_empty()
            || report.verdicts[0].unsupported_claims[0].contains("40")
    );
    let requests = model.requests();
    let feedback = &requests[2].messages.last().unwrap().content;
    assert!(feedback.contains("never shown by a tool"), "{feedback}");
}

#[tokio::test]
async fn budget_exhaustion_ends_with_one_last_call_without_tools() {
    let f = fixture().await;
    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[("search", json!({"query": "roof"}))]),
            calls(&[("scratchpad_write", json!({"note": "looking"}))]),
            calls(&[("scratchpad_read", json!({}))]),
            text("Best guess: shingles on P100 [permits:P100]."),
        ],
    ));
    let options = AgentOptions {
        max_steps: 3,
        ..AgentOptions::default()
    };
    let report = agent(&f, model.clone(), Observer::Heuristic, options)
        .run(TASK)
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        Outcome::BudgetExhausted {
            budget: "steps".into()
        }
    );
    assert_eq!(
        report.answer.as_deref(),
        Some("Best guess: shingles on P100 [permits:P100].")
    );
    assert_eq!(report.citations, vec!["permits:P100"]);
    let requests = model.requests();
    assert!(
        requests.last().unwrap().tools.is_empty(),
        "the last call offers no tools"
    );
    assert!(
        requests[2]
            .messages
            .iter()
            .any(|m| m.content.contains("Budget nearly used up"))
    );
    assert!(report.sealed.is_none(), "only accepted runs are sealed");
}

#[tokio::test]
async fn a_failing_model_and_text_tool_calls() {
    let f = fixture().await;
    let failing = Arc::new(ScriptedModel::new("down", [Scripted::Fail(500)]));
    let report = agent(&f, failing, Observer::Heuristic, AgentOptions::default())
        .run(TASK)
        .await
        .unwrap();
    assert!(
        matches!(report.outcome, Outcome::ModelFailed { .. }),
        "{report:?}"
    );
    let archived = events(&f, &report.session).await;
    assert!(
        archived
            .iter()
            .any(|e| e["event"] == "model_error" && e["error"].as_str().unwrap().contains("500"))
    );
    assert!(archived.iter().any(|e| e["event"] == "outcome"));

    let prose = Arc::new(ScriptedModel::new(
        "prose",
        [
            text(
                "I will search.\n<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": \"reroof\", \"corpora\": [\"permits\"]}}</tool_call>",
            ),
            text("<tool_call>{broken</tool_call>"),
            text(
                "{\"name\": \"final_answer\", \"arguments\": {\"answer\": \"P101 reroofs a garage.\", \"citations\": [\"permits:P101\"]}}",
            ),
        ],
    ));
    let report = agent(&f, prose, Observer::Heuristic, AgentOptions::default())
        .run(TASK)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted, "{report:?}");
    assert_eq!(report.citations, vec!["permits:P101"]);
}

#[tokio::test]
async fn failed_replays_are_recorded_and_the_playbook_retired() {
    let f = fixture().await;
    let playbook = f
        .workspace
        .memory
        .upsert(Draft::new(Kind::Playbook, TASK).with_step(
            "search",
            json!({"query": "{task}", "corpora": ["contracts"]}),
        ))
        .await
        .unwrap()
        .record;
    let options = AgentOptions {
        max_reviews: 1,
        retire_after_failures: 2,
        ..AgentOptions::default()
    };
    for round in 1..=2u64 {
        let model = Arc::new(ScriptedModel::new("s", [text("")]));
        let report = agent(&f, model.clone(), Observer::Heuristic, options.clone())
            .run(TASK)
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::NotAccepted);
        assert_eq!(report.playbooks_injected, vec![playbook.id.clone()]);
        assert!(
            model.requests()[0].messages[0].content.contains("playbook"),
            "the preamble is in the system prompt"
        );
        let record = f.workspace.memory.get(&playbook.id).unwrap();
        assert_eq!(record.failure_count, round);
        assert_eq!(
            record.retired_at.is_some(),
            round == 2,
            "retired after 2 failures"
        );
    }
    let model = Arc::new(ScriptedModel::new("s", [text("")]));
    let report = agent(&f, model, Observer::Heuristic, options)
        .run(TASK)
        .await
        .unwrap();
    assert!(
        report.playbooks_injected.is_empty(),
        "a retired playbook is never offered"
    );
}

#[tokio::test]
async fn an_llm_reviewer_that_returns_junk_falls_back_to_the_heuristic_one() {
    let f = fixture().await;
    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[("search", json!({"query": "reroof garage"}))]),
            calls(&[(
                "final_answer",
                json!({"answer": "P101 reroofs a garage.", "citations": ["permits:P101"]}),
            )]),
        ],
    ));
    let reviewer = Arc::new(ScriptedModel::new("reviewer", [text("Looks fine to me!")]));
    let report = agent(
        &f,
        model,
        Observer::Llm(reviewer.clone()),
        AgentOptions::default(),
    )
    .run(TASK)
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert!(
        report.verdicts[0]
            .reviewer
            .starts_with("heuristic (LLM reviewer scripted:reviewer failed"),
        "{:?}",
        report.verdicts[0]
    );
    assert!(
        reviewer.requests()[0].json,
        "the reviewer is asked for JSON"
    );

    let model = Arc::new(ScriptedModel::new(
        "s",
        [
            calls(&[("search", json!({"query": "reroof garage"}))]),
            calls(&[(
                "final_answer",
                json!({"answer": "P101 reroofs a garage.", "citations": ["permits:P101"]}),
            )]),
            calls(&[(
                "final_answer",
                json!({"answer": "P101 reroofs a garage (membrane).", "citations": ["permits:P101"]}),
            )]),
        ],
    ));
    let reviewer = Arc::new(ScriptedModel::new(
        "reviewer",
        [
            text(
                r#"{"decision": "revise", "unsupported_claims": [], "missing_citations": [], "feedback": "mention the membrane"}"#,
            ),
            text(r#"{"decision": "accept"}"#),
        ],
    ));
    let report = agent(&f, model, Observer::Llm(reviewer), AgentOptions::default())
        .run(TASK)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.verdicts[0].reviewer, "scripted:reviewer");
    assert_eq!(report.verdicts[0].feedback, "mention the membrane");
}
