//! HTTP plumbing shared by the model-server clients (the embedders and the chat models): the
//! client, a POST that retries transient failures, and the "bad response" error.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde_json::Value;

use crate::ModelError;

/// A client giving up on a request after `timeout` (connecting: at most 10 s).
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

/// Connection errors, 429 and 5xx are worth another try; a timeout is not (the server is up but
/// too slow, and trying again would only multiply the wait).
fn retryable(err: &ModelError) -> bool {
    match err {
        ModelError::Http { source, .. } => !source.is_timeout(),
        ModelError::Status { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    }
}

/// POST `body` as JSON to `url` (with a bearer token if given); the response once its status
/// is a success, its body not yet read. Retryable failures are tried 3 more times with
/// exponential backoff from 200 ms; any other status is a [`ModelError::Status`] with the
/// start of the body.
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

/// The server answered with something we cannot use.
pub(crate) fn bad(url: &str, message: impl Into<String>) -> ModelError {
    ModelError::BadResponse {
        url: url.to_string(),
        message: message.into(),
    }
}
