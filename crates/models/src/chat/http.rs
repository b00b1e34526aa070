//! What both HTTP chat providers share: the client, a POST that retries transient failures
//! before the answer starts, and a line reader over the streamed body.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde_json::Value;

use crate::ModelError;

/// How long one request may take, from sending to the last streamed byte.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ModelError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .build()
        .map_err(|source| ModelError::Http {
            url: String::new(),
            source,
        })
}

fn retryable(err: &ModelError) -> bool {
    match err {
        ModelError::Http { source, .. } => !source.is_timeout(),
        ModelError::Status { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    }
}

/// POST `body` to `url`; a response with a success status, ready to stream. Connection errors,
/// 429 and 5xx are retried (3 times, exponential backoff from 200 ms); a timeout is not.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Result<reqwest::Response, ModelError> {
    let attempt = || async {
        let mut request = client.post(url).json(body);
        if let Some(key) = bearer {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|source| ModelError::Http {
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(ModelError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        })
    };
    attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_times(3),
        )
        .when(retryable)
        .await
}

/// Lines of a streamed body, as they arrive.
pub(crate) struct Lines {
    response: reqwest::Response,
    url: String,
    buf: Vec<u8>,
    done: bool,
}

impl Lines {
    pub(crate) fn new(response: reqwest::Response, url: &str) -> Self {
        Self {
            response,
            url: url.to_string(),
            buf: Vec::new(),
            done: false,
        }
    }

    /// The next line without its line break; `None` at the end of the body.
    pub(crate) async fn next(&mut self) -> Result<Option<String>, ModelError> {
        loop {
            if let Some(at) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return self.text(line).map(Some);
            }
            if self.done {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let rest = std::mem::take(&mut self.buf);
                return self.text(rest).map(Some);
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) => self.done = true,
                Err(source) => {
                    return Err(ModelError::Http {
                        url: self.url.clone(),
                        source,
                    });
                }
            }
        }
    }

    fn text(&self, bytes: Vec<u8>) -> Result<String, ModelError> {
        String::from_utf8(bytes).map_err(|_| bad(&self.url, "a streamed line is not UTF-8"))
    }
}

pub(crate) fn bad(url: &str, message: impl Into<String>) -> ModelError {
    ModelError::BadResponse {
        url: url.to_string(),
        message: message.into(),
    }
}
