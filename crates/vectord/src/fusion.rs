//! Fusing ranked lists into one ranking: reciprocal rank fusion (RRF) or z-score normalisation.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// How ranked lists are merged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Reciprocal rank fusion: `sum 1 / (k + rank)` over the lists an item is in.
    Rrf {
        /// The damping constant (60 in the original paper and by default).
        k: f32,
    },
    /// Each list's scores become z-scores (`(s - mean) / std`), summed per item.
    Zscore,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Rrf { k: 60.0 }
    }
}

impl std::str::FromStr for Fusion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rrf" => Ok(Fusion::default()),
            "zscore" => Ok(Fusion::Zscore),
            other => Err(format!("unknown fusion {other:?}: expected rrf or zscore")),
        }
    }
}

/// Fuse `lists` (each best first, with scores) into one list, best first. Items with equal
/// scores in a list share a rank; ties in the result keep the order in which items were first
/// seen.
pub fn fuse<T: Eq + Hash + Clone>(lists: &[Vec<(T, f32)>], fusion: Fusion) -> Vec<(T, f32)> {
    let mut total: HashMap<T, (f32, usize)> = HashMap::new();
    let mut seen = 0usize;
    for list in lists {
        let contribution: Vec<f32> = match fusion {
            // Equal scores share a rank (the first of them), so RRF never invents an order
            // between items its inputs could not tell apart.
            Fusion::Rrf { k } => {
                let mut rank = 0;
                (0..list.len())
                    .map(|r| {
                        if r == 0 || list[r].1 != list[r - 1].1 {
                            rank = r;
                        }
                        1.0 / (k + rank as f32 + 1.0)
                    })
                    .collect()
            }
            Fusion::Zscore => {
                let n = list.len() as f32;
                let mean = list.iter().map(|x| x.1).sum::<f32>() / n.max(1.0);
                let var = list.iter().map(|x| (x.1 - mean).powi(2)).sum::<f32>() / n.max(1.0);
                let std = var.sqrt();
                list.iter()
                    .map(|x| if std > 0.0 { (x.1 - mean) / std } else { 0.0 })
                    .collect()
            }
        };
        for ((item, _), c) in list.iter().zip(contribution) {
            let entry = total.entry(item.clone()).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += c;
        }
    }
    let mut out: Vec<(T, f32, usize)> = total.into_iter().map(|(t, (s, o))| (t, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(t, s, _)| (t, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_items_in_both_lists() {
        let a = vec![("x", 0.9), ("y", 0.8), ("z", 0.1)];
        let b = vec![("y", 12.0), ("w", 11.0)];
        let fused = fuse(&[a, b], Fusion::default());
        assert_eq!(fused[0].0, "y");
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(fused.len(), 4);
        assert_eq!(
            fused[1].0, "x",
            "rank 1 in one list beats rank 2 in one list"
        );
    }

    #[test]
    fn equal_scores_share_a_rank() {
        let a = vec![("x", 0.5), ("y", 0.5), ("z", 0.1)];
        let fused = fuse(&[a], Fusion::default());
        assert_eq!(fused[0].1, fused[1].1, "{fused:?}");
        assert!(fused[1].1 > fused[2].1);
        assert!(
            (fused[2].1 - 1.0 / 63.0).abs() < 1e-6,
            "z keeps its own rank"
        );
    }

    #[test]
    fn zscore_normalises_each_list() {
        let a = vec![("x", 100.0), ("y", 0.0)];
        let b = vec![("z", 0.9), ("w", 0.8)];
        let fused = fuse(&[a, b], Fusion::Zscore);
        assert!((fused[0].1 - 1.0).abs() < 1e-6, "{fused:?}");
        assert_eq!(fused.len(), 4);
        assert_eq!("zscore".parse::<Fusion>().unwrap(), Fusion::Zscore);
        assert!("max".parse::<Fusion>().is_err());
    }
}
