//! The arithmetic the index spends its time in: dot products of `f32` vectors, and of 8-bit
//! codes with a 16-bit query, plus cache prefetches.
//!
//! [`Kernels`] is implemented twice: [`Avx2`] (AVX2 + FMA through `pulp`'s safe wrappers) and
//! [`Scalar`] (plain loops, for CPUs without AVX2). [`dispatch`] picks one when the CPU is
//! asked, once per call of an index operation, and runs the whole operation inside a function
//! compiled for that instruction set, so every kernel inlines into the search loop instead of
//! being a call per distance. Callers write their loops generic over `K: Kernels` and mark them
//! `#[inline(always)]` down to the dispatch point.

use pulp::x86::V3;
use pulp::{f32x8, i16x16, i32x8, u8x16};

/// Lanes per step of the 8-bit kernel; code rows are padded to a multiple of this.
pub(crate) const CODE_LANES: usize = 16;

/// The kernels an index operation needs.
pub(crate) trait Kernels: Copy + Send + Sync {
    /// `Σ a[i]·b[i]` (same length).
    fn dot_f32(self, a: &[f32], b: &[f32]) -> f32;
    /// `Σ codes[i]·query[i]` with `codes.len() == query.len()`, a multiple of [`CODE_LANES`].
    /// The caller bounds `query` so the sum fits an `i32` (see `sq8`).
    fn dot_u8_i16(self, codes: &[u8], query: &[i16]) -> i32;
    /// Ask for the cache line holding `bytes[0]` (a hint; never faults).
    fn prefetch(self, bytes: &[u8]);
    /// Same, for the start of an `f32` slice.
    fn prefetch_f32(self, values: &[f32]);
}

/// Plain loops (any CPU).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scalar;

impl Kernels for Scalar {
    #[inline(always)]
    fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        // Eight partial sums, so the compiler can keep them in vector registers.
        let mut acc = [0f32; 8];
        let (ca, ta) = a.as_chunks::<8>();
        let (cb, tb) = b.as_chunks::<8>();
        for (x, y) in ca.iter().zip(cb) {
            for i in 0..8 {
                acc[i] += x[i] * y[i];
            }
        }
        let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
        acc.iter().sum::<f32>() + tail
    }

    #[inline(always)]
    fn dot_u8_i16(self, codes: &[u8], query: &[i16]) -> i32 {
        codes
            .iter()
            .zip(query)
            .map(|(&c, &q)| i32::from(c) * i32::from(q))
            .sum()
    }

    #[inline(always)]
    fn prefetch(self, _bytes: &[u8]) {}

    #[inline(always)]
    fn prefetch_f32(self, _values: &[f32]) {}
}

/// AVX2 + FMA (x86-64-v3), through `pulp`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(pub(crate) V3);

impl Kernels for Avx2 {
    #[inline(always)]
    fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        let simd = self.0;
        let (ca, ta) = pulp::as_arrays::<32, f32>(a);
        let (cb, tb) = pulp::as_arrays::<32, f32>(b);
        let zero = simd.splat_f32x8(0.0);
        let mut acc = [zero; 4];
        for (x, y) in ca.iter().zip(cb) {
            let x: [f32x8; 4] = pulp::cast(*x);
            let y: [f32x8; 4] = pulp::cast(*y);
            for i in 0..4 {
                acc[i] = simd.mul_add_f32x8(x[i], y[i], acc[i]);
            }
        }
        let sum = simd.add_f32x8(
            simd.add_f32x8(acc[0], acc[1]),
            simd.add_f32x8(acc[2], acc[3]),
        );
        let lanes: [f32; 8] = pulp::cast(sum);
        lanes.iter().sum::<f32>() + Scalar.dot_f32(ta, tb)
    }

    #[inline(always)]
    fn dot_u8_i16(self, codes: &[u8], query: &[i16]) -> i32 {
        let simd = self.0;
        let (cc, _) = pulp::as_arrays::<32, u8>(codes);
        let (cq, _) = pulp::as_arrays::<32, i16>(query);
        let zero = simd.splat_i32x8(0);
        let mut acc = [zero; 2];
        for (c, q) in cc.iter().zip(cq) {
            let c: [u8x16; 2] = pulp::cast(*c);
            let q: [i16x16; 2] = pulp::cast(*q);
            for i in 0..2 {
                let wide = simd.convert_u8x16_to_i16x16(c[i]);
                let products: i32x8 = simd.multiply_wrapping_add_adjacent_i16x16(wide, q[i]);
                acc[i] = simd.wrapping_add_i32x8(acc[i], products);
            }
        }
        let lanes: [i32; 8] = pulp::cast(simd.wrapping_add_i32x8(acc[0], acc[1]));
        let mut sum = lanes.iter().sum::<i32>();
        // Rows are a multiple of 16 long; one 16-lane step may be left after the pairs.
        let done = cc.len() * 32;
        if codes.len() > done {
            let c: [u8; 16] = codes[done..done + 16].try_into().unwrap_or([0; 16]);
            let q: [i16; 16] = query[done..done + 16].try_into().unwrap_or([0; 16]);
            let wide = simd.convert_u8x16_to_i16x16(pulp::cast(c));
            let lanes: [i32; 8] =
                pulp::cast(simd.multiply_wrapping_add_adjacent_i16x16(wide, pulp::cast(q)));
            sum += lanes.iter().sum::<i32>();
        }
        sum
    }

    #[inline(always)]
    fn prefetch(self, bytes: &[u8]) {
        self.0
            .sse
            ._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(bytes.as_ptr().cast());
    }

    #[inline(always)]
    fn prefetch_f32(self, values: &[f32]) {
        self.0
            .sse
            ._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(values.as_ptr().cast());
    }
}

/// An index operation written once for every instruction set.
pub(crate) trait KernelOp {
    /// What it returns.
    type Output;
    /// Run it with `kernels` (inline everything below this, `#[inline(always)]`).
    fn run<K: Kernels>(self, kernels: K) -> Self::Output;
}

struct OnV3<Op> {
    op: Op,
    simd: V3,
}

impl<Op: KernelOp> pulp::NullaryFnOnce for OnV3<Op> {
    type Output = Op::Output;

    #[inline(always)]
    fn call(self) -> Self::Output {
        self.op.run(Avx2(self.simd))
    }
}

/// Run `op` with the best kernels this CPU has.
pub(crate) fn dispatch<Op: KernelOp>(op: Op) -> Op::Output {
    match V3::try_new() {
        Some(simd) => simd.vectorize(OnV3 { op, simd }),
        None => op.run(Scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dots<'a> {
        a: &'a [f32],
        b: &'a [f32],
        codes: &'a [u8],
        query: &'a [i16],
    }

    impl KernelOp for Dots<'_> {
        type Output = (f32, i32);
        fn run<K: Kernels>(self, k: K) -> (f32, i32) {
            (
                k.dot_f32(self.a, self.b),
                k.dot_u8_i16(self.codes, self.query),
            )
        }
    }

    #[test]
    fn vector_kernels_agree_with_plain_loops_at_every_length() {
        for len in [0usize, 1, 7, 8, 31, 32, 33, 64, 100, 384, 385] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 7) % 13) as f32 * 0.1 - 0.6)
                .collect();
            let b: Vec<f32> = (0..len)
                .map(|i| ((i * 5) % 11) as f32 * 0.2 - 1.0)
                .collect();
            let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let padded = len.div_ceil(CODE_LANES) * CODE_LANES;
            let codes: Vec<u8> = (0..padded).map(|i| (i * 37 % 256) as u8).collect();
            let query: Vec<i16> = (0..padded)
                .map(|i| (i as i16).wrapping_mul(811) % 32_000)
                .collect();
            let want_codes: i32 = codes
                .iter()
                .zip(&query)
                .map(|(&c, &q)| i32::from(c) * i32::from(q))
                .sum();
            let op = || Dots {
                a: &a,
                b: &b,
                codes: &codes,
                query: &query,
            };
            for (f, i) in [dispatch(op()), op().run(Scalar)] {
                assert!((f - want).abs() < 1e-3, "len {len}: {f} vs {want}");
                assert_eq!(i, want_codes, "len {len}");
            }
        }
    }
}
