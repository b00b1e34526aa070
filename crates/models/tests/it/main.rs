//! Integration tests for the embedders: MiniLM against sentence-transformers' own vectors, and
//! the HTTP embedders against a local server speaking the real wire formats.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod chat;
mod http;
mod minilm;
