//! What the BERT encoder is loaded from: `config.json` ([`BertConfig`]) and the tensors of
//! `model.safetensors` by name ([`Weights`]).
//!
//! Both are read with candle-core alone; this small module stands in for the two pieces of
//! `candle-nn` (`VarBuilder`) and `candle-transformers` (`bert::Config`) the encoder used, which
//! cost minutes of every cold build for a few dozen lines of use.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Device, Shape, Tensor};

/// The fields of a Hugging Face BERT `config.json` the encoder reads; any others are ignored.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct BertConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) max_position_embeddings: usize,
    pub(crate) type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub(crate) layer_norm_eps: f64,
    /// The activation of the feed-forward layers; the encoder implements exact `gelu` only.
    #[serde(default = "default_act")]
    pub(crate) hidden_act: String,
    /// Position embeddings; the encoder implements `absolute` only.
    #[serde(default = "default_position")]
    pub(crate) position_embedding_type: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

fn default_position() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Refuse settings the encoder does not implement, naming the field.
    pub(crate) fn check(&self) -> candle_core::Result<()> {
        if self.hidden_act != "gelu" {
            return Err(candle_core::Error::Msg(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                self.hidden_act
            )));
        }
        if self.position_embedding_type != "absolute" {
            return Err(candle_core::Error::Msg(format!(
                "position_embedding_type {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            )));
        }
        Ok(())
    }
}

/// Named `f32` tensors, looked up under a dotted prefix (`encoder.layer.0.attention…`).
#[derive(Clone)]
pub(crate) struct Weights {
    tensors: Arc<HashMap<String, Tensor>>,
    prefix: String,
}

impl Weights {
    /// Every tensor of a safetensors file held in memory.
    pub(crate) fn from_safetensors(bytes: &[u8]) -> candle_core::Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        Ok(Self {
            tensors: Arc::new(tensors),
            prefix: String::new(),
        })
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The same tensors under `prefix.name`.
    pub(crate) fn pp(&self, name: impl AsRef<str>) -> Self {
        Self {
            tensors: Arc::clone(&self.tensors),
            prefix: self.path(name.as_ref()),
        }
    }

    /// Whether `name` (under the prefix) is there.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(&self.path(name))
    }

    /// The tensor `name` as `f32`, which must have `shape`; an error names it otherwise.
    pub(crate) fn get(&self, shape: impl Into<Shape>, name: &str) -> candle_core::Result<Tensor> {
        let path = self.path(name);
        let shape = shape.into();
        let tensor = self
            .tensors
            .get(&path)
            .ok_or_else(|| candle_core::Error::Msg(format!("no tensor named {path}")))?;
        if tensor.shape() != &shape {
            return Err(candle_core::Error::Msg(format!(
                "tensor {path} has shape {:?}, expected {:?}",
                tensor.dims(),
                shape.dims()
            )));
        }
        tensor.to_dtype(DType::F32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(tensors: &[(&str, Tensor)]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.clone()))
            .collect();
        candle_core::safetensors::save(&map, &path).unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn weights_are_found_under_their_prefix_with_their_shape() {
        let t = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let w = Weights::from_safetensors(&file(&[("a.b.weight", t)])).unwrap();
        let a = w.pp("a");
        assert!(a.contains("b.weight"));
        assert!(!w.contains("b.weight"));
        let got = a.pp("b").get((2, 2), "weight").unwrap();
        assert_eq!(got.to_vec2::<f32>().unwrap(), [[1.0, 2.0], [3.0, 4.0]]);
        let wrong = a.pp("b").get(4, "weight").unwrap_err().to_string();
        assert!(
            wrong.contains("a.b.weight") && wrong.contains("[2, 2]"),
            "{wrong}"
        );
        let missing = a.get(2, "bias").unwrap_err().to_string();
        assert!(missing.contains("no tensor named a.bias"), "{missing}");
    }

    #[test]
    fn other_dtypes_are_read_as_f32() {
        let t = Tensor::new(&[1.5f32, -2.0], &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F16)
            .unwrap();
        let w = Weights::from_safetensors(&file(&[("x", t)])).unwrap();
        assert_eq!(
            w.get(2, "x").unwrap().to_vec1::<f32>().unwrap(),
            [1.5, -2.0]
        );
    }

    #[test]
    fn config_refuses_what_the_encoder_does_not_implement() {
        let base = r#"{"vocab_size":10,"hidden_size":4,"num_hidden_layers":1,
            "num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":16,
            "type_vocab_size":2"#;
        let ok: BertConfig = serde_json::from_str(&format!("{base}}}")).unwrap();
        ok.check().unwrap();
        assert_eq!(ok.layer_norm_eps, 1e-12);
        let relu: BertConfig =
            serde_json::from_str(&format!(r#"{base},"hidden_act":"relu"}}"#)).unwrap();
        assert!(relu.check().unwrap_err().to_string().contains("relu"));
        let rel: BertConfig = serde_json::from_str(&format!(
            r#"{base},"position_embedding_type":"relative_key"}}"#
        ))
        .unwrap();
        assert!(
            rel.check()
                .unwrap_err()
                .to_string()
                .contains("relative_key")
        );
    }
}
