//! The `hash` embedder: no model, just hashed word and character-trigram features.
//!
//! Useful for tests and as an explicit last resort: similar spellings land near each other, but it
//! knows nothing of meaning. Deterministic across platforms and releases (FNV-1a).

use async_trait::async_trait;

use super::{Embedder, normalise};
use crate::ModelError;

/// The dimension used when none is given.
pub const DEFAULT_HASH_DIM: usize = 256;

/// Hashed bag of words and character trigrams, L2-normalised.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dim: usize,
    id: String,
}

impl HashEmbedder {
    /// A hash embedder producing vectors of `dim` values (at least 8).
    pub fn new(dim: usize) -> Result<Self, ModelError> {
        if dim < 8 {
            return Err(ModelError::Config(format!(
                "hash embedder dimension must be at least 8, got {dim}"
            )));
        }
        Ok(Self {
            dim,
            id: format!("hash:{dim}"),
        })
    }

    /// Embed one text synchronously.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        let lower = text.to_lowercase();
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            self.add(&mut v, word.as_bytes(), 1.0);
            let padded: Vec<char> = std::iter::once('#')
                .chain(word.chars())
                .chain(std::iter::once('#'))
                .collect();
            for gram in padded.windows(3) {
                let s: String = gram.iter().collect();
                self.add(&mut v, s.as_bytes(), 0.5);
            }
        }
        normalise(&mut v);
        v
    }

    fn add(&self, v: &mut [f32], feature: &[u8], weight: f32) {
        let h = fnv1a(feature);
        // The modulo result is below `dim`, which is a usize.
        let slot = usize::try_from(h % self.dim as u64).unwrap_or(0);
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[slot] += sign * weight;
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[async_trait]
impl Embedder for HashEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let e = HashEmbedder::new(DEFAULT_HASH_DIM).unwrap();
        let a = e.embed_one("replace rotted wood porch");
        let b = e.embed_one("Replace rotten wooden porch");
        let c = e.embed_one("municipal bond underwriting");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.3);
    }

    #[test]
    fn vectors_are_unit_length_and_stable() {
        let e = HashEmbedder::new(64).unwrap();
        let v = e.embed_one("hello world");
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(v, e.embed_one("hello world"));
        assert_eq!(e.embed_one(""), vec![0.0; 64]);
    }

    #[test]
    fn tiny_dimension_is_rejected() {
        assert!(HashEmbedder::new(4).is_err());
    }
}
