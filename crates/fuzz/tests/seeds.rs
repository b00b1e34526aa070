//! Every fuzz target over its seed corpus (`fuzz/corpus/<target>/`: valid inputs made by
//! `make-seeds`, and every input a fuzzing run found to crash, kept as a regression test) and
//! over mutations of each seed (bytes flipped, cut, repeated, spliced), deterministically: the
//! short fuzzing budget every test run spends. `scripts/fuzz.sh` runs the same targets under
//! libFuzzer for as long as it is given.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

/// Mutations tried per seed.
const MUTANTS: usize = 48;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}

/// xorshift64*: the same mutants on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !out.is_empty() => {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let at = rng.below(out.len());
                out[at] = [0, 0xff, b'"', b'{', b'\n', b',', b'9'][rng.below(7)];
            }
            2 => out.truncate(rng.below(out.len() + 1)),
            3 if !out.is_empty() => {
                let (a, b) = (rng.below(out.len()), rng.below(out.len()));
                let (lo, hi) = (a.min(b), a.max(b));
                let piece = out[lo..hi].to_vec();
                let at = rng.below(out.len());
                out.splice(at..at, piece);
            }
            4 if !other.is_empty() => {
                let at = rng.below(out.len() + 1);
                let from = rng.below(other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                let at = rng.below(out.len() + 1);
                out.insert(at, rng.next() as u8);
            }
        }
    }
    out
}

#[test]
fn every_target_survives_its_seeds_and_their_mutants() {
    for (name, target) in lakehouse_fuzz::TARGETS {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "{name} has no seeds");
        let mut rng = Rng(0x5eed ^ name.len() as u64);
        for (i, (path, seed)) in seeds.iter().enumerate() {
            target(seed);
            let other = &seeds[(i + 1) % seeds.len()].1;
            for _ in 0..MUTANTS {
                let input = mutate(seed, other, &mut rng);
                let caught = std::panic::catch_unwind(|| target(&input));
                assert!(
                    caught.is_ok(),
                    "{name} panicked on a mutant of {path}: {:?}",
                    String::from_utf8_lossy(&input[..input.len().min(400)])
                );
            }
        }
    }
}
