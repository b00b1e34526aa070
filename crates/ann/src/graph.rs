//! The HNSW graph (Malkov & Yashunin): its link lists, and the two algorithms on them, search
//! and insertion.
//!
//! Nodes are numbered `0..n`. Every node has a list of up to `m0 = 2·m` links on level 0, and
//! nodes drawn to a higher level have one list of up to `m` links per level above. Lists are
//! rows of atomics (`[count, id, id, …]`) so that threads building the graph together can read
//! any list while another thread rewrites it: a reader may see a list half old and half new,
//! which costs a search nothing but a slightly different path, and every id it can see is a
//! real node. Writers take the node's lock ([`Locks`]); on x86 the atomic loads are plain loads,
//! so searches pay nothing for this.
//!
//! Both algorithms are generic over a [`Space`], which scores nodes against one query: exact
//! `f32` inner products, or 8-bit codes (`sq8`). Construction always uses exact scores, so the
//! graph is the same whichever way it is later searched.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as Atomic};

use crate::kernels::Kernels;
use crate::visited::Visited;

/// The largest `m` an index may have (level-0 lists hold `2·m`).
pub(crate) const MAX_M: usize = 64;
const MAX_LINKS: usize = 2 * MAX_M;
/// Levels are capped here (a million nodes at `m = 16` reach about 5).
pub(crate) const MAX_LEVEL: u8 = 16;
const NO_ENTRY: u64 = u64::MAX;

/// A similarity with a total order (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sim(pub(crate) f32);

impl Eq for Sim {}

impl PartialOrd for Sim {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sim {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Scores graph nodes against one query (higher is closer).
pub(crate) trait Space {
    /// The score's type: only its order matters to the graph.
    type Score: Copy + Ord;
    /// The score of `node`.
    fn score(&self, node: u32) -> Self::Score;
    /// Start fetching what [`Space::score`] of `node` will read.
    fn prefetch(&self, node: u32);
}

/// Exact inner products with full vectors.
pub(crate) struct F32Space<'a, K> {
    pub(crate) kernels: K,
    pub(crate) vectors: &'a [f32],
    pub(crate) dim: usize,
    pub(crate) query: &'a [f32],
}

impl<K: Kernels> F32Space<'_, K> {
    #[inline(always)]
    fn row(&self, node: u32) -> &[f32] {
        let at = node as usize * self.dim;
        &self.vectors[at..at + self.dim]
    }

    /// The similarity of two nodes.
    #[inline(always)]
    pub(crate) fn pair(&self, a: u32, b: u32) -> Sim {
        Sim(self.kernels.dot_f32(self.row(a), self.row(b)))
    }
}

impl<K: Kernels> Space for F32Space<'_, K> {
    type Score = Sim;

    #[inline(always)]
    fn score(&self, node: u32) -> Sim {
        Sim(self.kernels.dot_f32(self.row(node), self.query))
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        // The first lines; the hardware streams the rest of a row.
        let row = self.row(node);
        self.kernels.prefetch_f32(row);
        self.kernels.prefetch_f32(&row[row.len().min(16)..]);
    }
}

/// Approximate inner products on 8-bit codes ([`crate::sq8`]).
pub(crate) struct Sq8Space<'a, K> {
    pub(crate) kernels: K,
    pub(crate) codes: &'a [u8],
    pub(crate) stride: usize,
    pub(crate) weights: &'a [i16],
}

impl<K: Kernels> Space for Sq8Space<'_, K> {
    type Score = i32;

    #[inline(always)]
    fn score(&self, node: u32) -> i32 {
        let at = node as usize * self.stride;
        self.kernels
            .dot_u8_i16(&self.codes[at..at + self.stride], self.weights)
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        let at = node as usize * self.stride;
        for line in (at..at + self.stride).step_by(64) {
            self.kernels.prefetch(&self.codes[line..]);
        }
    }
}

/// Locks for writers of link lists: one per stripe of nodes while several threads build, none
/// when the caller holds the graph exclusively.
pub(crate) struct Locks(Vec<Mutex<()>>);

impl Locks {
    /// Locks for `threads` concurrent writers (none for one).
    pub(crate) fn new(threads: usize) -> Self {
        Self(if threads > 1 {
            (0..4096).map(|_| Mutex::new(())).collect()
        } else {
            Vec::new()
        })
    }

    fn lock(&self, node: u32) -> Option<std::sync::MutexGuard<'_, ()>> {
        if self.0.is_empty() {
            return None;
        }
        let stripe = &self.0[node as usize % self.0.len()];
        // A panic while holding the lock leaves at worst a half-written list of valid ids.
        Some(
            stripe
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// The link lists and the entry point.
#[derive(Debug)]
pub(crate) struct Graph {
    m: usize,
    m0: usize,
    levels: Vec<u8>,
    level0: Vec<AtomicU32>,
    upper: Vec<AtomicU32>,
    upper_at: Vec<usize>,
    /// `(level << 32) | node`, or [`NO_ENTRY`].
    entry: AtomicU64,
}

/// A node's level, drawn from the exponential distribution HNSW needs with a hash of its number,
/// so a build is reproducible (up to the order threads insert in).
pub(crate) fn draw_level(node: u32, m: usize) -> u8 {
    // splitmix64
    let mut z = u64::from(node).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let uniform = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let scale = 1.0 / (m.max(2) as f64).ln();
    ((-uniform.ln() * scale).floor() as u64).min(u64::from(MAX_LEVEL)) as u8
}

impl Graph {
    /// An empty graph with `m` links per node (`2·m` on level 0).
    pub(crate) fn new(m: usize) -> Self {
        Self {
            m,
            m0: 2 * m,
            levels: Vec::new(),
            level0: Vec::new(),
            upper: Vec::new(),
            upper_at: Vec::new(),
            entry: AtomicU64::new(NO_ENTRY),
        }
    }

    /// `m`.
    pub(crate) fn m(&self) -> usize {
        self.m
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Every node's level.
    pub(crate) fn levels(&self) -> &[u8] {
        &self.levels
    }

    /// The entry node and the top level, when the graph has nodes.
    pub(crate) fn entry(&self) -> Option<(u32, u8)> {
        let e = self.entry.load(Atomic::Acquire);
        (e != NO_ENTRY).then_some(((e & 0xFFFF_FFFF) as u32, (e >> 32) as u8))
    }

    /// Set the entry point (loading a saved graph).
    pub(crate) fn set_entry(&mut self, node: u32, level: u8) {
        *self.entry.get_mut() = (u64::from(level) << 32) | u64::from(node);
    }

    /// Add a node at `level` with empty lists; returns its number.
    pub(crate) fn push(&mut self, level: u8) -> u32 {
        let node = self.levels.len() as u32;
        self.levels.push(level);
        self.level0.extend((0..=self.m0).map(|_| AtomicU32::new(0)));
        self.upper_at.push(self.upper.len());
        self.upper
            .extend((0..usize::from(level) * (self.m + 1)).map(|_| AtomicU32::new(0)));
        node
    }

    fn row(&self, node: u32, level: usize) -> &[AtomicU32] {
        let node = node as usize;
        if level == 0 {
            let at = node * (self.m0 + 1);
            &self.level0[at..at + self.m0 + 1]
        } else {
            let at = self.upper_at[node] + (level - 1) * (self.m + 1);
            &self.upper[at..at + self.m + 1]
        }
    }

    fn capacity(&self, level: usize) -> usize {
        if level == 0 { self.m0 } else { self.m }
    }

    /// Copy the links of `node` on `level` into `out`; returns how many.
    #[inline(always)]
    pub(crate) fn neighbours(&self, node: u32, level: usize, out: &mut [u32; MAX_LINKS]) -> usize {
        let row = self.row(node, level);
        let count = (row[0].load(Atomic::Acquire) as usize).min(row.len() - 1);
        for (slot, link) in out.iter_mut().zip(&row[1..=count]) {
            *slot = link.load(Atomic::Relaxed);
        }
        count
    }

    /// Replace the links of `node` on `level` (the caller holds its lock, or the graph).
    pub(crate) fn set_links(&self, node: u32, level: usize, links: &[u32]) {
        let row = self.row(node, level);
        let count = links.len().min(row.len() - 1);
        for (slot, &id) in row[1..].iter().zip(&links[..count]) {
            slot.store(id, Atomic::Relaxed);
        }
        row[0].store(count as u32, Atomic::Release);
    }

    /// Move greedily towards the query on one level until no link is closer.
    #[inline(always)]
    fn greedy<S: Space>(
        &self,
        space: &S,
        mut at: (S::Score, u32),
        level: usize,
    ) -> (S::Score, u32) {
        let mut links = [0u32; MAX_LINKS];
        loop {
            let count = self.neighbours(at.1, level, &mut links);
            let mut moved = false;
            for &n in &links[..count] {
                let s = space.score(n);
                if s > at.0 {
                    at = (s, n);
                    moved = true;
                }
            }
            if !moved {
                return at;
            }
        }
    }

    /// Beam search on one level from `entries`, keeping the `ef` best nodes that `admit`
    /// accepts (nodes it refuses are still walked through). Best first.
    #[inline(always)]
    pub(crate) fn search_level<S: Space>(
        &self,
        space: &S,
        entries: &[(S::Score, u32)],
        ef: usize,
        level: usize,
        admit: &impl Fn(u32) -> bool,
        visited: &mut Visited,
    ) -> Vec<(S::Score, u32)> {
        // Never more than the graph holds, however large `ef` is.
        let cap = ef.min(self.len()).saturating_add(1);
        let mut candidates: BinaryHeap<(S::Score, u32)> = BinaryHeap::with_capacity(cap);
        let mut results: BinaryHeap<Reverse<(S::Score, u32)>> = BinaryHeap::with_capacity(cap);
        for &(s, n) in entries {
            if visited.insert(n) {
                candidates.push((s, n));
                if admit(n) {
                    results.push(Reverse((s, n)));
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
        let mut links = [0u32; MAX_LINKS];
        let mut fresh = [0u32; MAX_LINKS];
        while let Some((s, c)) = candidates.pop() {
            if let Some(Reverse((worst, _))) = results.peek()
                && results.len() >= ef
                && s < *worst
            {
                break;
            }
            let count = self.neighbours(c, level, &mut links);
            let mut unseen = 0;
            for &n in &links[..count] {
                if visited.insert(n) {
                    space.prefetch(n);
                    fresh[unseen] = n;
                    unseen += 1;
                }
            }
            for &n in &fresh[..unseen] {
                let sn = space.score(n);
                let worse = matches!(results.peek(), Some(Reverse((worst, _)))
                    if results.len() >= ef && sn <= *worst);
                if !worse {
                    candidates.push((sn, n));
                    if admit(n) {
                        results.push(Reverse((sn, n)));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<(S::Score, u32)> = results.into_iter().map(|Reverse(r)| r).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// The `ef` best admitted nodes for the query of `space`, best first.
    #[inline(always)]
    pub(crate) fn search<S: Space>(
        &self,
        space: &S,
        ef: usize,
        admit: &impl Fn(u32) -> bool,
        visited: &mut Visited,
    ) -> Vec<(S::Score, u32)> {
        let Some((entry, top)) = self.entry() else {
            return Vec::new();
        };
        let mut at = (space.score(entry), entry);
        for level in (1..=usize::from(top)).rev() {
            at = self.greedy(space, at, level);
        }
        self.search_level(space, &[at], ef, 0, admit, visited)
    }

    /// HNSW's neighbour heuristic: walk `candidates` best first and keep one only if it is
    /// closer to the query than to every link kept so far, up to `m`. Keeps links spread in
    /// different directions instead of bunched in one.
    #[inline(always)]
    fn select<K: Kernels>(
        space: &F32Space<'_, K>,
        candidates: &[(Sim, u32)],
        m: usize,
    ) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for &(s, c) in candidates {
            if kept.len() >= m {
                break;
            }
            let mut diverse = true;
            for &k in &kept {
                if space.pair(c, k) > s {
                    diverse = false;
                    break;
                }
            }
            if diverse {
                kept.push(c);
            }
        }
        kept
    }

    /// Link `node` (already pushed, its vector in `space`'s rows) into the graph.
    /// `space.query` must be the node's own vector. Safe to run for different nodes on several
    /// threads at once when `locks` has stripes.
    #[inline(always)]
    pub(crate) fn insert<K: Kernels>(
        &self,
        space: &F32Space<'_, K>,
        node: u32,
        ef_construction: usize,
        locks: &Locks,
        visited: &mut Visited,
    ) {
        let level = self.levels[node as usize];
        let me = (u64::from(level) << 32) | u64::from(node);
        let (entry, top) = loop {
            if let Some(entry) = self.entry() {
                break entry;
            }
            // The first node; if another thread got there first, link to it instead.
            if self
                .entry
                .compare_exchange(NO_ENTRY, me, Atomic::AcqRel, Atomic::Acquire)
                .is_ok()
            {
                return;
            }
        };
        let mut at = (space.score(entry), entry);
        for l in (usize::from(level) + 1..=usize::from(top)).rev() {
            at = self.greedy(space, at, l);
        }
        let others = |n: u32| n != node;
        // (`others` calls no kernel, so being a closure costs nothing.)
        let mut entries = vec![at];
        for l in (0..=usize::from(level.min(top))).rev() {
            visited.reset(self.len());
            let found = self.search_level(space, &entries, ef_construction, l, &others, visited);
            let links = Self::select(space, &found, self.m);
            self.set_own_links(space, node, l, &links, locks);
            for &n in &links {
                self.link_back(space, n, node, l, locks);
            }
            if !found.is_empty() {
                entries = found;
            }
        }
        if level > top {
            // Raise the entry point unless another thread raised it higher meanwhile.
            let mut current = self.entry.load(Atomic::Acquire);
            while current == NO_ENTRY || (current >> 32) < u64::from(level) {
                match self
                    .entry
                    .compare_exchange(current, me, Atomic::AcqRel, Atomic::Acquire)
                {
                    Ok(_) => break,
                    Err(seen) => current = seen,
                }
            }
        }
    }

    /// Give a new `node` its chosen `links` on `level`. Threads inserting other nodes may have
    /// linked back to it already (they can reach it from a level above); those links are kept,
    /// and a list that would overflow is re-chosen by the heuristic.
    #[inline(always)]
    fn set_own_links<K: Kernels>(
        &self,
        space: &F32Space<'_, K>,
        node: u32,
        level: usize,
        links: &[u32],
        locks: &Locks,
    ) {
        let _guard = locks.lock(node);
        let mut row = [0u32; MAX_LINKS];
        let count = self.neighbours(node, level, &mut row);
        if count == 0 {
            self.set_links(node, level, links);
            return;
        }
        let mut all: Vec<u32> = row[..count].to_vec();
        all.extend(links.iter().filter(|n| !row[..count].contains(n)));
        let capacity = self.capacity(level);
        if all.len() <= capacity {
            self.set_links(node, level, &all);
            return;
        }
        let mut candidates: Vec<(Sim, u32)> =
            all.iter().map(|&n| (space.pair(node, n), n)).collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let kept = Self::select(space, &candidates, capacity);
        self.set_links(node, level, &kept);
    }

    /// Add `node` to the links of `to` on `level`; a full list is re-chosen by the heuristic
    /// from its links plus `node`.
    #[inline(always)]
    fn link_back<K: Kernels>(
        &self,
        space: &F32Space<'_, K>,
        to: u32,
        node: u32,
        level: usize,
        locks: &Locks,
    ) {
        let _guard = locks.lock(to);
        let mut links = [0u32; MAX_LINKS];
        let count = self.neighbours(to, level, &mut links);
        if links[..count].contains(&node) {
            return;
        }
        let capacity = self.capacity(level);
        if count < capacity {
            links[count] = node;
            self.set_links(to, level, &links[..=count]);
            return;
        }
        let mut candidates: Vec<(Sim, u32)> = Vec::with_capacity(count + 1);
        for &n in links[..count].iter().chain(std::iter::once(&node)) {
            candidates.push((space.pair(to, n), n));
        }
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let kept = Self::select(space, &candidates, capacity);
        self.set_links(to, level, &kept);
    }

    /// Every link row, for saving: level 0 rows, then upper rows in node order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (u32, usize, Vec<u32>)> + '_ {
        (0..self.len() as u32).flat_map(move |node| {
            (0..=usize::from(self.levels[node as usize])).map(move |level| {
                let mut links = [0u32; MAX_LINKS];
                let count = self.neighbours(node, level, &mut links);
                (node, level, links[..count].to_vec())
            })
        })
    }

    /// The most links a list on `level` may hold.
    pub(crate) fn max_links(&self, level: usize) -> usize {
        self.capacity(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Scalar;
    use crate::visited::with_visited;

    #[test]
    fn levels_follow_the_hnsw_distribution() {
        let levels: Vec<u8> = (0..100_000).map(|n| draw_level(n, 16)).collect();
        let above = levels.iter().filter(|&&l| l >= 1).count() as f64 / 1e5;
        // P(level ≥ 1) = 1/m.
        assert!((above - 1.0 / 16.0).abs() < 0.005, "{above}");
        assert!(levels.iter().all(|&l| l <= MAX_LEVEL));
        assert_eq!(draw_level(7, 16), draw_level(7, 16));
    }

    #[test]
    fn a_small_graph_finds_every_point_itself() {
        let dim = 3;
        let points: Vec<f32> = (0..300)
            .flat_map(|i| {
                let a = i as f32 * 0.021;
                let b = (i % 17) as f32 * 0.37;
                let v = [a.cos() * b.cos(), a.sin() * b.cos(), b.sin()];
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.map(|x| x / n)
            })
            .collect();
        let mut graph = Graph::new(8);
        for node in 0..300 {
            graph.push(draw_level(node, 8));
        }
        let locks = Locks::new(1);
        for node in 0..300u32 {
            let at = node as usize * dim;
            let space = F32Space {
                kernels: Scalar,
                vectors: &points,
                dim,
                query: &points[at..at + dim],
            };
            with_visited(300, |v| graph.insert(&space, node, 64, &locks, v));
        }
        for node in 0..300u32 {
            let links = graph
                .rows()
                .find(|r| r.0 == node && r.1 == 0)
                .map(|r| r.2)
                .unwrap_or_default();
            assert!(links.len() <= 16);
            assert!(!links.is_empty(), "node {node} is linked");
        }
        let mut found = 0;
        for node in 0..300u32 {
            let at = node as usize * dim;
            let space = F32Space {
                kernels: Scalar,
                vectors: &points,
                dim,
                query: &points[at..at + dim],
            };
            let hits = with_visited(300, |v| graph.search(&space, 16, &|_| true, v));
            if hits.first().map(|h| h.1) == Some(node) {
                found += 1;
            }
            let odd = with_visited(300, |v| graph.search(&space, 16, &|n| n % 2 == 1, v));
            assert!(odd.iter().all(|h| h.1 % 2 == 1));
            assert_eq!(odd.len(), 16);
        }
        assert!(found >= 297, "{found}/300 points found themselves");
    }
}
