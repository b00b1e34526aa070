//! A model that replays a queue of answers: for tests of the agent loop, and for replaying an
//! archived session exactly. It records every request it was sent.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{ChatModel, ChatRequest, ChatResponse, Message, Usage};
use crate::ModelError;

/// One scripted step: an answer, or an error the "server" returns.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// Answer with this message (and usage).
    Answer(ChatResponse),
    /// Fail with a server error of this status.
    Fail(u16),
}

/// Replays scripted answers in order; when they run out, every call is an error.
#[derive(Debug)]
pub struct ScriptedModel {
    id: String,
    queue: Mutex<VecDeque<Scripted>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    /// A model named `scripted:<name>` that will answer with `steps`, in order.
    pub fn new(name: &str, steps: impl IntoIterator<Item = Scripted>) -> Self {
        Self {
            id: format!("scripted:{name}"),
            queue: Mutex::new(steps.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// A scripted answer: `message` with 10 prompt and 5 completion tokens.
    pub fn answer(message: Message) -> Scripted {
        Scripted::Answer(ChatResponse {
            message,
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
            },
            finish_reason: Some("stop".into()),
        })
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Answers not yet used.
    pub fn remaining(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn id(&self) -> &str {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        let next = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        match next {
            Some(Scripted::Answer(response)) => Ok(response),
            Some(Scripted::Fail(status)) => Err(ModelError::Status {
                url: self.id.clone(),
                status,
                body: "scripted failure".into(),
            }),
            None => Err(ModelError::BadResponse {
                url: self.id.clone(),
                message: "the script has no answers left".into(),
            }),
        }
    }
}
