//! The BERT encoder behind the `minilm` embedder, written for CPU speed on candle tensors.
//!
//! Same arithmetic as Hugging Face's `BertModel` (and candle's port of it), with three changes
//! that matter on a CPU: the query, key and value projections are one matrix multiply instead of
//! three; the query is scaled before the score product instead of the scores after; and GELU is
//! our own operation ([`Gelu`]), a vectorisable rational approximation of `erf` run on every
//! core, where candle calls a scalar `erf` per element (it was a sixth of the embedding time).

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::Config;
use rayon::prelude::*;

/// `erf` to within a few float ulps: Eigen's and XLA's rational approximation on [-4, 4]
/// (beyond that `erf` is ±1 in `f32`). No branches or calls, so the loop vectorises.
fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ALPHA.iter().fold(0.0, |acc, &a| acc * x2 + a);
    let q = BETA.iter().fold(0.0, |acc, &b| acc * x2 + b);
    x * p / q
}

/// GELU with the exact (`erf`) form BERT was trained with: `x/2 · (1 + erf(x/√2))`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Elements per parallel task: large enough that splitting costs nothing next to the work.
const GELU_CHUNK: usize = 16 * 1024;

/// GELU over a contiguous `f32` tensor, split across rayon's threads.
pub(crate) struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "lakehouse-gelu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            return Err(candle_core::Error::Msg(
                "gelu: expected an f32 tensor".into(),
            ));
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::Msg(
                "gelu: expected a contiguous tensor".into(),
            ));
        };
        let mut out = data[start..end].to_vec();
        out.par_chunks_mut(GELU_CHUNK).for_each(|chunk| {
            for v in chunk {
                *v = gelu(*v);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A BERT encoder (absolute positions, GELU) loaded from Hugging Face weight names.
pub(crate) struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

fn linear(vb: &VarBuilder<'_>, inputs: usize, outputs: usize) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((outputs, inputs), "weight")?,
        Some(vb.get(outputs, "bias")?),
    ))
}

fn layer_norm(vb: &VarBuilder<'_>, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        eps,
    ))
}

impl Bert {
    /// Load from `vb` (weights named as in `BertModel`, with or without a `bert.` prefix).
    pub(crate) fn load(vb: VarBuilder<'_>, config: &Config) -> candle_core::Result<Self> {
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let hidden = config.hidden_size;
        if config.num_attention_heads == 0 || !hidden.is_multiple_of(config.num_attention_heads) {
            return Err(candle_core::Error::Msg(format!(
                "hidden size {hidden} is not a multiple of {} attention heads",
                config.num_attention_heads
            )));
        }
        let eps = config.layer_norm_eps;
        let e = vb.pp("embeddings");
        let embedding = |name: &str, rows: usize| -> candle_core::Result<Embedding> {
            Ok(Embedding::new(
                e.pp(name).get((rows, hidden), "weight")?,
                hidden,
            ))
        };
        let word = embedding("word_embeddings", config.vocab_size)?;
        let position = embedding("position_embeddings", config.max_position_embeddings)?;
        let token_type = embedding("token_type_embeddings", config.type_vocab_size)?;
        let embedding_norm = layer_norm(&e.pp("LayerNorm"), hidden, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            let part = |name: &str| linear(&s.pp(name), hidden, hidden);
            let (q, k, v) = (part("query")?, part("key")?, part("value")?);
            let weight = Tensor::cat(&[q.weight(), k.weight(), v.weight()], 0)?;
            let bias = match (q.bias(), k.bias(), v.bias()) {
                (Some(q), Some(k), Some(v)) => Some(Tensor::cat(&[q, k, v], 0)?),
                _ => None,
            };
            layers.push(Layer {
                qkv: Linear::new(weight, bias),
                attention_out: linear(&a.pp("output.dense"), hidden, hidden)?,
                attention_norm: layer_norm(&a.pp("output.LayerNorm"), hidden, eps)?,
                intermediate: linear(
                    &l.pp("intermediate.dense"),
                    hidden,
                    config.intermediate_size,
                )?,
                output: linear(&l.pp("output.dense"), config.intermediate_size, hidden)?,
                output_norm: layer_norm(&l.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: hidden / config.num_attention_heads,
        })
    }

    /// Hidden states `(rows, width, hidden)` for token ids `(rows, width)` with attention mask
    /// `(rows, width)` (1 for real tokens, 0 for padding); every token has type 0.
    pub(crate) fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (rows, width) = ids.dims2()?;
        let positions = Tensor::arange(0u32, width as u32, ids.device())?;
        let types = Tensor::zeros(width, DType::U32, ids.device())?;
        let mut x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&self.token_type.forward(&types)?)?;
        x = self.embedding_norm.forward(&x)?;
        // Padding gets the lowest score before softmax, as in Hugging Face.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * f64::from(f32::MAX))?
            .reshape((rows, 1, 1, width))?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let hidden = self.heads * self.head_dim;
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?;
            let heads = |at: usize| {
                qkv.narrow(2, at * hidden, hidden)?
                    .reshape((rows, width, self.heads, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = (heads(0)? * scale)?;
            let (k, v) = (heads(1)?, heads(2)?);
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((rows, width, hidden))?;
            let attended = layer
                .attention_norm
                .forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let inner = layer
                .intermediate
                .forward(&attended)?
                .contiguous()?
                .apply_op1_no_bwd(&Gelu)?;
            x = layer
                .output_norm
                .forward(&(layer.output.forward(&inner)? + &attended)?)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `erf` by its series (exact enough in f64 for |x| ≤ 4).
    fn erf_reference(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            let n = f64::from(n);
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_matches_the_series_everywhere() {
        let mut worst = 0.0f64;
        for i in -6000..=6000 {
            let x = i as f32 * 0.001;
            let want = if x.abs() > 4.0 {
                f64::from(x.signum())
            } else {
                erf_reference(f64::from(x))
            };
            worst = worst.max((f64::from(erf(x)) - want).abs());
        }
        assert!(worst < 1e-6, "worst error {worst}");
    }

    #[test]
    fn gelu_op_matches_the_formula_and_rejects_other_types() {
        let xs: Vec<f32> = (-50..50).map(|i| i as f32 * 0.13).collect();
        let t = Tensor::new(xs.as_slice(), &candle_core::Device::Cpu).unwrap();
        let got = t.apply_op1_no_bwd(&Gelu).unwrap().to_vec1::<f32>().unwrap();
        for (x, g) in xs.iter().zip(got) {
            let want = 0.5 * f64::from(*x) * (1.0 + erf_reference(f64::from(*x) / 2f64.sqrt()));
            assert!(
                (f64::from(g) - want).abs() < 1e-5,
                "gelu({x}) = {g}, want {want}"
            );
        }
        let ints = Tensor::new(&[1u32, 2], &candle_core::Device::Cpu).unwrap();
        assert!(ints.apply_op1_no_bwd(&Gelu).is_err());
    }
}
