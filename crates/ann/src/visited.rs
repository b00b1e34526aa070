//! Which nodes a graph search has already seen, reset in O(1) between searches.
//!
//! A node is marked by writing the current search's generation into its slot; starting a new
//! search bumps the generation instead of clearing the array (hnswlib's visited-list trick).
//! Each thread keeps one set and reuses it for every search it runs, on any index.

use std::cell::RefCell;

/// A reusable visited set.
#[derive(Debug, Default)]
pub(crate) struct Visited {
    marks: Vec<u16>,
    generation: u16,
}

impl Visited {
    /// Start a search over `nodes` nodes: nothing is marked.
    pub(crate) fn reset(&mut self, nodes: usize) {
        if self.marks.len() < nodes {
            self.marks.resize(nodes, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: old marks could collide with the new generations.
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Mark `node`; true when it was not marked yet. Nodes past the size given to
    /// [`Visited::reset`] grow the set.
    #[inline(always)]
    pub(crate) fn insert(&mut self, node: u32) -> bool {
        let i = node as usize;
        if i >= self.marks.len() {
            self.marks.resize(i + 1, 0);
        }
        let slot = &mut self.marks[i];
        if *slot == self.generation {
            false
        } else {
            *slot = self.generation;
            true
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}

/// Run `f` with this thread's visited set, reset for `nodes` nodes. A nested call (which the
/// index never makes) gets a fresh set rather than failing.
pub(crate) fn with_visited<R>(nodes: usize, f: impl FnOnce(&mut Visited) -> R) -> R {
    VISITED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut visited) => {
            visited.reset(nodes);
            f(&mut visited)
        }
        Err(_) => {
            let mut visited = Visited::default();
            visited.reset(nodes);
            f(&mut visited)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_last_for_one_search_only_even_across_wraparound() {
        let mut v = Visited::default();
        v.reset(4);
        assert!(v.insert(2));
        assert!(!v.insert(2));
        assert!(v.insert(9), "nodes past the size grow the set");
        for _ in 0..70_000 {
            v.reset(4);
            assert!(v.insert(3));
        }
        assert!(v.insert(2) && !v.insert(2));
    }
}
