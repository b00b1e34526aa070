//! What both HTTP chat providers share beyond `crate::http`: their timeout, and a line reader
//! over a streamed body.

use std::time::Duration;

use crate::ModelError;
pub(crate) use crate::http::{bad, client, post};

/// How long one request may take, from sending to the last streamed byte.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

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
