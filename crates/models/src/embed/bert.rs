//! The BERT encoder behind the `minilm` embedder, written for CPU speed.
//!
//! Same arithmetic as Hugging Face's `BertModel` followed by sentence-transformers' mean pooling
//! and L2 normalisation, organised differently:
//!
//! - **No padding.** The sequences of a batch are laid end to end, one row per real token. The
//!   dense layers (nearly all the work) multiply only real tokens, and attention runs per
//!   sequence, so there is no mask and nothing is computed for padding.
//! - **Matrix multiplies through candle, everything else on plain slices**: bias, residual and
//!   layer norm fused into one pass; the query/key/value projections one multiply; attention
//!   reads the projections in place (no transposes or copies of whole tensors); GELU our own
//!   rational `erf`; softmax our own `exp`. These passes run on the calling thread, so a caller
//!   can run one batch per core ([`super::minilm`] does) without threads waiting on each other.

use candle_core::{Device, Storage, Tensor};
use rayon::prelude::*;

use super::weights::{BertConfig, Weights};

type Result<T> = candle_core::Result<T>;

fn error(message: impl Into<String>) -> candle_core::Error {
    candle_core::Error::Msg(message.into())
}

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

/// `e^x` for `x ≤ 0` (softmax arguments) to about 2 float ulps, without a call: `2^n · e^r`
/// with `|r| ≤ ln2/2` and a degree-6 polynomial for `e^r`. Below −87 it returns e^−87 (≈1.6e−38).
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    // ln 2 split in two (Cody-Waite): `n · LN2_HI` is exact, so `r` keeps its precision when
    // `n` is large.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^n from its exponent bits (n is in [-126, 0] here).
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, ta) = a.as_chunks::<8>();
    let (cb, tb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + ta.iter().zip(tb).map(|(x, y)| x * y).sum::<f32>()
}

/// Read a contiguous `f32` CPU tensor as a slice (no copy).
fn with_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(error("expected a CPU tensor"));
    };
    let all = cpu.as_slice::<f32>()?;
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| error("expected a contiguous tensor"))?;
    Ok(f(&all[start..end]))
}

fn vector(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

/// Layer normalisation over rows of `weight.len()` values.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(vb: &Weights, size: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vector(&vb.get(size, "weight")?)?,
            bias: vector(&vb.get(size, "bias")?)?,
            eps: eps as f32,
        })
    }

    fn row(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + self.eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }

    /// Normalise every row of `x` in place.
    fn apply(&self, x: &mut [f32]) {
        for row in x.chunks_exact_mut(self.weight.len()) {
            self.row(row);
        }
    }

    /// `x = norm(x + y + bias)`, row by row (the residual connection after a dense layer).
    fn residual(&self, x: &mut [f32], y: &[f32], bias: &[f32]) {
        let width = self.weight.len();
        for (xr, yr) in x.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
            for ((v, a), b) in xr.iter_mut().zip(yr).zip(bias) {
                *v += a + b;
            }
            self.row(xr);
        }
    }
}

/// Up to this many rows (tokens), `x · Wᵀ` reads each weight row once ([`Dense::times_few`])
/// instead of going through a general matrix multiply, which would spend its time packing the
/// weights for a handful of rows (a search query is one short sequence).
const FEW_ROWS: usize = 128;

/// A dense layer: the weight (`outputs × inputs`, and transposed for the general multiply) and
/// the bias, added by whoever reads the product.
struct Dense {
    weight: Vec<f32>,
    weight_t: Tensor,
    inputs: usize,
    bias: Vec<f32>,
}

/// The product of a dense layer: a tensor from the general multiply, or a vector.
enum Product {
    Tensor(Tensor),
    Vec(Vec<f32>),
}

impl Product {
    fn read<R>(&self, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
        match self {
            Self::Tensor(t) => with_slice(t, f),
            Self::Vec(v) => Ok(f(v)),
        }
    }
}

impl Dense {
    fn new(weight: &Tensor, bias: &Tensor) -> Result<Self> {
        Ok(Self {
            weight: vector(weight)?,
            weight_t: weight.t()?.contiguous()?,
            inputs: weight.dim(1)?,
            bias: vector(bias)?,
        })
    }

    fn load(vb: &Weights, inputs: usize, outputs: usize) -> Result<Self> {
        Self::new(
            &vb.get((outputs, inputs), "weight")?,
            &vb.get(outputs, "bias")?,
        )
    }

    /// `x · Wᵀ` for `rows` rows of `x` (no bias).
    fn times(&self, x: Vec<f32>, rows: usize) -> Result<Product> {
        if rows <= FEW_ROWS {
            return Ok(Product::Vec(self.times_few(&x, rows)));
        }
        Ok(Product::Tensor(
            Tensor::from_vec(x, (rows, self.inputs), &Device::Cpu)?.matmul(&self.weight_t)?,
        ))
    }

    /// `x · Wᵀ` one block of weight rows at a time, blocks spread over rayon's threads.
    fn times_few(&self, x: &[f32], rows: usize) -> Vec<f32> {
        const BLOCK: usize = 64;
        let outputs = self.bias.len();
        // Computed transposed (one contiguous run per weight row), then turned around.
        let mut transposed = vec![0f32; outputs * rows];
        transposed
            .par_chunks_mut(BLOCK * rows)
            .zip(self.weight.par_chunks(BLOCK * self.inputs))
            .for_each(|(out, weight)| {
                few_rows::multiply(x, rows, self.inputs, weight, out);
            });
        let mut y = vec![0f32; rows * outputs];
        for (o, column) in transposed.chunks_exact(rows).enumerate() {
            for (r, v) in column.iter().enumerate() {
                y[r * outputs + o] = *v;
            }
        }
        y
    }
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// A BERT encoder (absolute positions, GELU) loaded from Hugging Face weight names.
pub(crate) struct Bert {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    head_dim: usize,
}

impl Bert {
    /// Load from `vb` (weights named as in `BertModel`, with or without a `bert.` prefix).
    pub(crate) fn load(vb: &Weights, config: &BertConfig) -> Result<Self> {
        config.check()?;
        let vb = if vb.contains("embeddings.word_embeddings.weight") {
            vb.clone()
        } else {
            vb.pp("bert")
        };
        let hidden = config.hidden_size;
        if config.num_attention_heads == 0 || !hidden.is_multiple_of(config.num_attention_heads) {
            return Err(error(format!(
                "hidden size {hidden} is not a multiple of {} attention heads",
                config.num_attention_heads
            )));
        }
        let eps = config.layer_norm_eps;
        let e = vb.pp("embeddings");
        let table = |name: &str, rows: usize| -> Result<Vec<f32>> {
            vector(&e.pp(name).get((rows, hidden), "weight")?)
        };
        let word = table("word_embeddings", config.vocab_size)?;
        let position = table("position_embeddings", config.max_position_embeddings)?;
        let token_type = table("token_type_embeddings", config.type_vocab_size)?;
        let embedding_norm = Norm::load(&e.pp("LayerNorm"), hidden, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            let part = |name: &str| -> Result<(Tensor, Tensor)> {
                let p = s.pp(name);
                Ok((p.get((hidden, hidden), "weight")?, p.get(hidden, "bias")?))
            };
            let (q, k, v) = (part("query")?, part("key")?, part("value")?);
            let qkv = Dense::new(
                &Tensor::cat(&[&q.0, &k.0, &v.0], 0)?,
                &Tensor::cat(&[&q.1, &k.1, &v.1], 0)?,
            )?;
            layers.push(Layer {
                qkv,
                attention_out: Dense::load(&a.pp("output.dense"), hidden, hidden)?,
                attention_norm: Norm::load(&a.pp("output.LayerNorm"), hidden, eps)?,
                intermediate: Dense::load(
                    &l.pp("intermediate.dense"),
                    hidden,
                    config.intermediate_size,
                )?,
                output: Dense::load(&l.pp("output.dense"), config.intermediate_size, hidden)?,
                output_norm: Norm::load(&l.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            hidden,
            heads: config.num_attention_heads,
            head_dim: hidden / config.num_attention_heads,
        })
    }

    /// Mean-pooled, L2-normalised embeddings of token sequences (each non-empty, every token
    /// of type 0), one per sequence.
    pub(crate) fn embed(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let mut spans = Vec::with_capacity(sequences.len());
        let mut total = 0;
        for seq in sequences {
            if seq.is_empty() {
                return Err(error("an empty token sequence"));
            }
            spans.push((total, seq.len()));
            total += seq.len();
        }
        let mut x = Vec::with_capacity(total * h);
        for seq in sequences {
            for (pos, &id) in seq.iter().enumerate() {
                let word = self
                    .word
                    .get(id as usize * h..(id as usize + 1) * h)
                    .ok_or_else(|| error(format!("token id {id} is outside the vocabulary")))?;
                let position = self.position.get(pos * h..(pos + 1) * h).ok_or_else(|| {
                    error(format!("sequence of {} tokens is too long", seq.len()))
                })?;
                x.extend(
                    word.iter()
                        .zip(position)
                        .zip(&self.token_type[..h])
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        self.embedding_norm.apply(&mut x);

        let mut context = vec![0f32; total * h];
        for layer in &self.layers {
            let qkv = layer.qkv.times(x.clone(), total)?;
            qkv.read(|qkv| {
                self.attention(qkv, &layer.qkv.bias, &spans, &mut context);
            })?;
            drop(qkv);
            let attended = layer.attention_out.times(context, total)?;
            attended.read(|y| {
                layer
                    .attention_norm
                    .residual(&mut x, y, &layer.attention_out.bias);
            })?;
            drop(attended);
            let inner = layer.intermediate.times(x.clone(), total)?;
            let activated = inner.read(|inner| {
                let bias = &layer.intermediate.bias;
                let mut out = Vec::with_capacity(inner.len());
                for row in inner.chunks_exact(bias.len()) {
                    out.extend(row.iter().zip(bias).map(|(v, b)| gelu(v + b)));
                }
                out
            })?;
            drop(inner);
            let output = layer.output.times(activated, total)?;
            output.read(|y| {
                layer.output_norm.residual(&mut x, y, &layer.output.bias);
            })?;
            context = vec![0f32; total * h];
        }

        // Mean over each sequence's tokens, then unit length (sentence-transformers' pooling).
        let mut out = Vec::with_capacity(sequences.len());
        for &(start, len) in &spans {
            let mut mean = vec![0f32; h];
            for row in x[start * h..(start + len) * h].chunks_exact(h) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            for m in &mut mean {
                *m /= len as f32;
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            out.push(mean.iter().map(|v| v / norm).collect());
        }
        Ok(out)
    }

    /// Self-attention of every sequence (`spans` of rows) from the fused projections `qkv`
    /// (rows of query | key | value, bias not yet added) into `context`.
    fn attention(&self, qkv: &[f32], bias: &[f32], spans: &[(usize, usize)], context: &mut [f32]) {
        let (h, d) = (self.hidden, self.head_dim);
        let scale = 1.0 / (d as f32).sqrt();
        let (mut keys, mut values, mut query, mut scores) =
            (Vec::new(), Vec::new(), vec![0f32; d], Vec::new());
        for &(start, len) in spans {
            let rows = &qkv[start * 3 * h..(start + len) * 3 * h];
            for head in 0..self.heads {
                let (q_at, k_at, v_at) = (head * d, h + head * d, 2 * h + head * d);
                keys.clear();
                values.clear();
                for row in rows.chunks_exact(3 * h) {
                    keys.extend(
                        row[k_at..k_at + d]
                            .iter()
                            .zip(&bias[k_at..k_at + d])
                            .map(|(v, b)| v + b),
                    );
                    values.extend(
                        row[v_at..v_at + d]
                            .iter()
                            .zip(&bias[v_at..v_at + d])
                            .map(|(v, b)| v + b),
                    );
                }
                for (t, row) in rows.chunks_exact(3 * h).enumerate() {
                    for ((q, v), b) in query
                        .iter_mut()
                        .zip(&row[q_at..q_at + d])
                        .zip(&bias[q_at..q_at + d])
                    {
                        *q = (v + b) * scale;
                    }
                    scores.clear();
                    scores.extend(keys.chunks_exact(d).map(|k| dot(&query, k)));
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for s in &mut scores {
                        *s = exp_nonpositive(*s - max);
                        sum += *s;
                    }
                    let out =
                        &mut context[(start + t) * h + head * d..(start + t) * h + (head + 1) * d];
                    out.fill(0.0);
                    for (p, v) in scores.iter().zip(values.chunks_exact(d)) {
                        let p = p / sum;
                        for (o, v) in out.iter_mut().zip(v) {
                            *o += p * v;
                        }
                    }
                }
            }
        }
    }
}

/// The kernel of [`Dense::times_few`]: dot products of each weight row with every row of `x`,
/// four rows of `x` at a time, with AVX2 + FMA when the CPU has them.
mod few_rows {
    use pulp::f32x8;
    use pulp::x86::V3;

    /// `out[o·rows + r] = weight[o] · x[r]` for every weight row `o` of the block.
    pub(super) fn multiply(x: &[f32], rows: usize, inputs: usize, weight: &[f32], out: &mut [f32]) {
        match V3::try_new() {
            Some(simd) => simd.vectorize(Block {
                simd: Some(simd),
                x,
                rows,
                inputs,
                weight,
                out,
            }),
            None => Block {
                simd: None,
                x,
                rows,
                inputs,
                weight,
                out,
            }
            .run(),
        }
    }

    struct Block<'a> {
        simd: Option<V3>,
        x: &'a [f32],
        rows: usize,
        inputs: usize,
        weight: &'a [f32],
        out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for Block<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            self.run();
        }
    }

    impl Block<'_> {
        /// Four rows of `x` at a time (they stay in L1) against every weight row of the block
        /// (it stays in L2).
        #[inline(always)]
        fn run(self) {
            let (rows, inputs) = (self.rows, self.inputs);
            let mut r = 0;
            while r < rows {
                let take = (rows - r).min(4);
                let mut four = [&[][..]; 4];
                for (i, slot) in four.iter_mut().enumerate().take(take) {
                    *slot = &self.x[(r + i) * inputs..(r + i + 1) * inputs];
                }
                for (w, out) in self
                    .weight
                    .chunks_exact(inputs)
                    .zip(self.out.chunks_exact_mut(rows))
                {
                    let dots = match self.simd {
                        Some(simd) => dots_v3(simd, w, four, take),
                        None => dots_plain(w, four, take),
                    };
                    out[r..r + take].copy_from_slice(&dots[..take]);
                }
                r += take;
            }
        }
    }

    /// Four dot products sharing `w`: each chunk of `w` is loaded once, and eight independent
    /// accumulators (two per row) keep both FMA units busy. Rows past `take` repeat row 0.
    #[inline(always)]
    fn dots_v3(simd: V3, w: &[f32], x: [&[f32]; 4], take: usize) -> [f32; 4] {
        let (wc, wt) = pulp::as_arrays::<8, f32>(w);
        let pick = |i: usize| if i < take { x[i] } else { x[0] };
        let rows = [pick(0), pick(1), pick(2), pick(3)];
        let xc = [
            pulp::as_arrays::<8, f32>(rows[0]).0,
            pulp::as_arrays::<8, f32>(rows[1]).0,
            pulp::as_arrays::<8, f32>(rows[2]).0,
            pulp::as_arrays::<8, f32>(rows[3]).0,
        ];
        let zero = simd.splat_f32x8(0.0);
        let mut even = [zero; 4];
        let mut odd = [zero; 4];
        let pairs = wc.len() / 2;
        for c in 0..pairs {
            let w0: f32x8 = pulp::cast(wc[2 * c]);
            let w1: f32x8 = pulp::cast(wc[2 * c + 1]);
            for i in 0..4 {
                even[i] = simd.mul_add_f32x8(w0, pulp::cast(xc[i][2 * c]), even[i]);
                odd[i] = simd.mul_add_f32x8(w1, pulp::cast(xc[i][2 * c + 1]), odd[i]);
            }
        }
        if wc.len() % 2 == 1 {
            let last = wc.len() - 1;
            let w0: f32x8 = pulp::cast(wc[last]);
            for i in 0..4 {
                even[i] = simd.mul_add_f32x8(w0, pulp::cast(xc[i][last]), even[i]);
            }
        }
        let done = wc.len() * 8;
        let mut sums = [0f32; 4];
        for i in 0..4 {
            let lanes: [f32; 8] = pulp::cast(simd.add_f32x8(even[i], odd[i]));
            let mut tail = 0.0;
            for (a, b) in wt.iter().zip(&rows[i][done..]) {
                tail += a * b;
            }
            sums[i] = lanes.iter().sum::<f32>() + tail;
        }
        sums
    }

    fn dots_plain(w: &[f32], x: [&[f32]; 4], take: usize) -> [f32; 4] {
        let mut sums = [0f32; 4];
        for i in 0..take {
            sums[i] = super::dot(w, x[i]);
        }
        sums
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
    fn gelu_matches_the_formula() {
        for i in -50..50 {
            let x = i as f32 * 0.13;
            let want = 0.5 * f64::from(x) * (1.0 + erf_reference(f64::from(x) / 2f64.sqrt()));
            assert!((f64::from(gelu(x)) - want).abs() < 1e-5, "gelu({x})");
        }
    }

    #[test]
    fn exp_is_within_a_few_ulps_on_softmax_arguments() {
        let mut worst = 0.0f64;
        // Softmax arguments are score − max; below −87 the result is clamped to e^−87 (the
        // smallest normal range), which is nothing next to the max term's 1.
        for i in 0..174_000 {
            let x = -(i as f32) * 0.0005;
            let want = f64::from(x).exp();
            let got = f64::from(exp_nonpositive(x));
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 4e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpositive(-1000.0), exp_nonpositive(-87.0));
        assert!(exp_nonpositive(-87.0) > 0.0);
    }

    #[test]
    fn few_row_products_match_plain_dot_products_at_odd_sizes() {
        for (rows, inputs, outputs) in [(1, 8, 3), (3, 19, 5), (4, 16, 2), (7, 384, 9), (5, 33, 70)]
        {
            let x: Vec<f32> = (0..rows * inputs)
                .map(|i| ((i * 7) % 11) as f32 - 5.0)
                .collect();
            let w: Vec<f32> = (0..outputs * inputs)
                .map(|i| ((i * 5) % 13) as f32 * 0.1)
                .collect();
            let mut out = vec![0f32; outputs * rows];
            few_rows::multiply(&x, rows, inputs, &w, &mut out);
            for o in 0..outputs {
                for r in 0..rows {
                    let want = dot(
                        &w[o * inputs..(o + 1) * inputs],
                        &x[r * inputs..(r + 1) * inputs],
                    );
                    let got = out[o * rows + r];
                    assert!(
                        (got - want).abs() <= 1e-3 * want.abs().max(1.0),
                        "{rows}x{inputs}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn norm_and_dot_do_what_they_say() {
        let norm = Norm {
            weight: vec![1.0, 2.0],
            bias: vec![0.0, 1.0],
            eps: 0.0,
        };
        let mut x = vec![1.0, 3.0, 5.0, 5.0];
        norm.residual(&mut x, &[0.0, 0.0, 1.0, -1.0], &[1.0, 1.0]);
        // Rows (2, 4) → (-1, 1) → (-1, 3); (7, 5) → (1, -1) → (1, -1).
        assert_eq!(x, vec![-1.0, 3.0, 1.0, -1.0]);
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..19).map(|i| (i * i) as f32).sum::<f32>());
    }
}
