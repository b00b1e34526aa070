//! The [`Embedder`] trait and helpers shared by its implementations.

use std::fmt::Debug;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::ModelError;

pub(crate) mod bert;
pub(crate) mod cache;
pub(crate) mod hash;
pub(crate) mod http;
pub(crate) mod minilm;
pub(crate) mod spec;
pub(crate) mod weights;

/// Turns texts into vectors of a fixed dimension.
///
/// Contract: `embed` returns exactly one vector per input, in input order, each of length
/// [`dim`](Embedder::dim). Vectors are L2-normalised (unit length) unless the text carries no
/// features at all (the `hash` embedder returns zeros for an empty text), so inner product is
/// cosine similarity. The same text always gives the same vector for a given [`id`](Embedder::id).
#[async_trait]
pub trait Embedder: Send + Sync + Debug {
    /// A stable name for the model and its settings, e.g. `minilm:all-MiniLM-L6-v2` or
    /// `hash:256`. Corpora record it and refuse queries from a different embedder.
    fn id(&self) -> &str;
    /// The length of every vector this embedder returns.
    fn dim(&self) -> usize;
    /// Embed a batch of texts.
    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// A content hash of `text` (SHA-256, hex), used to key cached embeddings and to detect changed
/// documents between corpus builds.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// Cosine similarity of two vectors of the same length (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Scale `v` to unit length in place (left as is when it is all zeros).
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Check that `vectors` has one vector of `dim` values per text.
pub(crate) fn check_shape(
    embedder: &str,
    dim: usize,
    texts: usize,
    vectors: &[Vec<f32>],
) -> Result<(), ModelError> {
    if vectors.len() != texts {
        return Err(ModelError::Config(format!(
            "embedder {embedder} returned {} vectors for {texts} texts",
            vectors.len()
        )));
    }
    if let Some(bad) = vectors.iter().find(|v| v.len() != dim) {
        return Err(ModelError::Dimension {
            embedder: embedder.to_string(),
            expected: dim,
            got: bad.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cosine_of_parallel_and_orthogonal_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn check_shape_names_the_wrong_dimension() {
        let err = check_shape("x", 3, 1, &[vec![0.0; 4]]).unwrap_err();
        assert!(err.to_string().contains("dimension 4, expected 3"), "{err}");
        assert!(check_shape("x", 3, 2, &[vec![0.0; 3]]).is_err());
    }
}
