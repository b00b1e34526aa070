//! 8-bit scalar quantization: each vector component stored as one byte, on a per-dimension
//! scale fitted to the data.
//!
//! Dimension `d` maps `[lo[d], lo[d] + 255·step[d]]` onto codes `0..=255` (values outside are
//! clamped). A query is turned into 16-bit integer weights `w[d] ∝ q[d]·step[d]`, so that
//! `Σ w[d]·code[d]` orders stored vectors as their inner product with the query does (the
//! constant `Σ q[d]·lo[d]` is the same for every vector and dropped). That sum is what the
//! graph search ranks by: a quarter of the memory of `f32` per visit, and integer arithmetic.
//! The index re-scores the final candidates with the full vectors, so reported scores are exact.
//!
//! A per-dimension scale matters for sentence embeddings: their components sit in a narrow band
//! around zero (|x| < 0.3 for MiniLM), which a fixed `×127` scale would map onto a few dozen
//! levels.

use crate::format::{FormatError, bad};
use crate::kernels::CODE_LANES;

/// The fitted scale of every dimension.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sq8 {
    lo: Vec<f32>,
    step: Vec<f32>,
    stride: usize,
}

/// Smallest step, so constant dimensions still divide.
const MIN_STEP: f32 = 1e-9;

impl Sq8 {
    /// Fit the scale to `vectors` (row-major, `dim` per row; at least one row).
    pub(crate) fn fit(vectors: &[f32], dim: usize) -> Self {
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for row in vectors.chunks_exact(dim) {
            for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                if x.is_finite() {
                    *l = l.min(x);
                    *h = h.max(x);
                }
            }
        }
        let mut step = Vec::with_capacity(dim);
        for (l, h) in lo.iter_mut().zip(&hi) {
            if !l.is_finite() || !h.is_finite() {
                // No finite value seen in this dimension.
                *l = 0.0;
                step.push(MIN_STEP);
            } else {
                step.push(((h - *l) / 255.0).max(MIN_STEP));
            }
        }
        Self::from_parts(lo, step).unwrap_or_else(|_| Self {
            lo: vec![0.0; dim],
            step: vec![MIN_STEP; dim],
            stride: stride(dim),
        })
    }

    /// A scale read back from a file; `Err` names what is wrong with it.
    pub(crate) fn from_parts(lo: Vec<f32>, step: Vec<f32>) -> Result<Self, FormatError> {
        if lo.len() != step.len() || lo.is_empty() {
            return Err(bad!(
                "quantizer with {} offsets and {} steps",
                lo.len(),
                step.len()
            ));
        }
        if let Some(d) =
            (0..lo.len()).find(|&d| !lo[d].is_finite() || !step[d].is_finite() || step[d] <= 0.0)
        {
            return Err(bad!(
                "quantizer dimension {d} has offset {} and step {}",
                lo[d],
                step[d]
            ));
        }
        let stride = stride(lo.len());
        Ok(Self { lo, step, stride })
    }

    /// Offsets per dimension.
    pub(crate) fn lo(&self) -> &[f32] {
        &self.lo
    }

    /// Steps per dimension.
    pub(crate) fn step(&self) -> &[f32] {
        &self.step
    }

    /// Bytes per code row (the dimension rounded up to the kernel's lanes; padding is zero).
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// Append the code row of `v` to `out`.
    pub(crate) fn encode_into(&self, v: &[f32], out: &mut Vec<u8>) {
        for ((&x, &lo), &step) in v.iter().zip(&self.lo).zip(&self.step) {
            let level = ((x - lo) / step).round();
            // NaN clamps to 0 as well (`as` saturates and maps NaN to 0).
            out.push(level.clamp(0.0, 255.0) as u8);
        }
        out.extend(std::iter::repeat_n(
            0,
            self.stride - v.len().min(self.stride),
        ));
    }

    /// Code rows for `vectors` (row-major, the fitted dimension per row).
    pub(crate) fn encode_all(&self, vectors: &[f32]) -> Vec<u8> {
        let dim = self.lo.len();
        let mut out = Vec::with_capacity(vectors.len() / dim * self.stride);
        for row in vectors.chunks_exact(dim) {
            self.encode_into(row, &mut out);
        }
        out
    }

    /// The integer weights a query ranks code rows by (length [`Sq8::stride`]).
    pub(crate) fn weights(&self, query: &[f32]) -> Vec<i16> {
        let mut weights = vec![0i16; self.stride];
        let scaled: Vec<f32> = query.iter().zip(&self.step).map(|(q, s)| q * s).collect();
        let largest = scaled
            .iter()
            .filter(|w| w.is_finite())
            .fold(0f32, |m, w| m.max(w.abs()));
        if largest > 0.0 {
            // Bound every weight so that even 255 in every code cannot overflow an i32 sum.
            let bound = (i32::MAX as usize / (255 * self.stride)).min(i16::MAX as usize) as f32;
            let factor = bound / largest;
            for (w, s) in weights.iter_mut().zip(&scaled) {
                *w = (s * factor).round().clamp(-bound, bound) as i16;
            }
        }
        weights
    }
}

fn stride(dim: usize) -> usize {
    dim.div_ceil(CODE_LANES) * CODE_LANES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn codes_rank_vectors_as_their_inner_products_do() {
        let dim = 40;
        let mut seed = 7u64;
        let mut random = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let rows: Vec<Vec<f32>> = (0..200)
            .map(|_| (0..dim).map(|_| random() * 0.3).collect())
            .collect();
        let flat: Vec<f32> = rows.concat();
        let sq = Sq8::fit(&flat, dim);
        assert_eq!(sq.stride(), 48);
        let codes = sq.encode_all(&flat);
        assert_eq!(codes.len(), 200 * 48);
        let query = &rows[3];
        let w = sq.weights(query);
        let approx: Vec<i64> = codes
            .chunks_exact(48)
            .map(|c| {
                c.iter()
                    .zip(&w)
                    .map(|(&c, &w)| i64::from(c) * i64::from(w))
                    .sum()
            })
            .collect();
        // The best by exact inner product is the best by codes, and the orders agree closely.
        let best_exact = (0..200)
            .max_by(|&a, &b| dot(query, &rows[a]).total_cmp(&dot(query, &rows[b])))
            .unwrap();
        let best_codes = (0..200).max_by_key(|&i| approx[i]).unwrap();
        assert_eq!(best_exact, 3);
        assert_eq!(best_codes, best_exact);
        let mut agree = 0;
        for a in 0..200 {
            for b in (a + 1)..200 {
                let exact = dot(query, &rows[a]) > dot(query, &rows[b]);
                if (approx[a] > approx[b]) == exact {
                    agree += 1;
                }
            }
        }
        assert!(agree as f64 / (200.0 * 199.0 / 2.0) > 0.97, "{agree}");
    }

    #[test]
    fn out_of_range_and_degenerate_values_clamp_instead_of_failing() {
        let sq = Sq8::fit(&[0.0, -1.0, 1.0, 1.0], 2);
        let mut out = Vec::new();
        sq.encode_into(&[-5.0, f32::NAN], &mut out);
        assert_eq!(out.len(), 16, "rows are padded to the kernel's lanes");
        assert_eq!(&out[..2], &[0, 0]);
        sq.encode_into(&[9.0, 0.0], &mut out);
        assert_eq!(out[16], 255);
        assert!((127..=128).contains(&out[17]), "{}", out[17]);
        // A constant dimension still encodes.
        let flat = Sq8::fit(&[0.5, 0.5], 1);
        out.clear();
        flat.encode_into(&[0.5], &mut out);
        assert_eq!(out[0], 0);
        assert!(sq.weights(&[0.0, 0.0]).iter().all(|&w| w == 0));
        assert!(Sq8::from_parts(vec![0.0], vec![0.0]).is_err());
        assert!(Sq8::from_parts(vec![f32::NAN], vec![1.0]).is_err());
        assert!(Sq8::from_parts(vec![], vec![]).is_err());
    }
}
