//! The file format of [`HnswIndex`]: one little-endian buffer, read back with every count,
//! level, link and key checked, so a damaged file is an error naming the problem, never a
//! panic or a wrong answer later.
//!
//! ```text
//! magic "LHHNSW" 0x00 0x01
//! u32 dim, u32 m, u32 ef_construction, u32 ef_search, u8 quantization (0 f32, 1 sq8),
//! u8 has scale, u16 zero, u64 nodes, u64 fitted on, u32 entry node, u8 entry level, 3 × u8 zero
//! nodes × u64 key, nodes × u8 deleted (0/1), nodes × u8 level, nodes × dim × f32 vector
//! if it has a scale: dim × f32 offset, dim × f32 step        (codes are recomputed on load)
//! per node, per level 0..=its level: u32 count, count × u32 linked node
//! ```

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use crate::graph::{Graph, MAX_LEVEL, MAX_M};
use crate::hnsw::HnswIndex;
use crate::sq8::Sq8;
use crate::{AnnParams, MAX_EF, Quantization};

const MAGIC: &[u8; 8] = b"LHHNSW\x00\x01";
const NO_ENTRY: u32 = u32::MAX;

/// Serialise `index`.
pub(crate) fn encode(index: &HnswIndex) -> Vec<u8> {
    let n = index.keys.len();
    let mut out = Vec::with_capacity(64 + n * (10 + 4 * index.dim + 4 * (index.graph.m() + 2)));
    out.extend_from_slice(MAGIC);
    let params = index.params();
    for v in [
        index.dim,
        params.m,
        params.ef_construction,
        params.ef_search,
    ] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    out.push(match params.quantization {
        Quantization::F32 => 0,
        Quantization::Sq8 => 1,
    });
    out.push(u8::from(index.sq8.is_some()));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(n as u64).to_le_bytes());
    out.extend_from_slice(&(index.fitted_on as u64).to_le_bytes());
    let (entry, level) = index.graph.entry().unwrap_or((NO_ENTRY, 0));
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&[level, 0, 0, 0]);
    for key in &index.keys {
        out.extend_from_slice(&key.to_le_bytes());
    }
    out.extend(index.deleted.iter().map(|&d| u8::from(d)));
    out.extend_from_slice(index.graph.levels());
    for v in &index.vectors {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some((sq8, _)) = &index.sq8 {
        for v in sq8.lo().iter().chain(sq8.step()) {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for (_, _, links) in index.graph.rows() {
        out.extend_from_slice(&(links.len() as u32).to_le_bytes());
        for id in links {
            out.extend_from_slice(&id.to_le_bytes());
        }
    }
    out
}

/// What is wrong with an index's bytes (it becomes [`AnnError::Corrupt`](crate::AnnError)).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FormatError(pub(crate) String);

/// A [`FormatError`] from a message with `format!` arguments.
macro_rules! bad {
    ($($arg:tt)*) => {
        $crate::format::FormatError(format!($($arg)*))
    };
}
pub(crate) use bad;

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        if self.buf.len() < n {
            return Err(bad!("truncated in the {what}"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// `count` items of `size` bytes, checked against what is left before anything is
    /// allocated (a damaged count must not ask for terabytes).
    fn items(&mut self, count: usize, size: usize, what: &str) -> Result<&'a [u8], FormatError> {
        let bytes = count
            .checked_mul(size)
            .filter(|&b| b <= self.buf.len())
            .ok_or_else(|| bad!("truncated in the {what} ({count} expected)"))?;
        self.take(bytes, what)
    }

    fn f32s(&mut self, count: usize, what: &str) -> Result<Vec<f32>, FormatError> {
        Ok(self
            .items(count, 4, what)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Read an index back; `Err` says what is wrong with the bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<HnswIndex, FormatError> {
    let mut r = Reader { buf: bytes };
    if r.take(MAGIC.len(), "header").ok() != Some(MAGIC.as_slice()) {
        return Err(bad!("not a lakehouse HNSW index (bad magic)"));
    }
    let dim = r.u32("header")? as usize;
    let m = r.u32("header")? as usize;
    let ef_construction = r.u32("header")? as usize;
    let ef_search = r.u32("header")? as usize;
    if dim == 0 || dim > 65_536 {
        return Err(bad!("implausible dimension {dim}"));
    }
    if !(2..=MAX_M).contains(&m)
        || !(1..=MAX_EF).contains(&ef_construction)
        || !(1..=MAX_EF).contains(&ef_search)
    {
        return Err(bad!(
            "implausible parameters m={m} ef_construction={ef_construction} ef_search={ef_search}"
        ));
    }
    let quantization = match r.u8("header")? {
        0 => Quantization::F32,
        1 => Quantization::Sq8,
        other => return Err(bad!("unknown vector kind {other}")),
    };
    let has_scale = match r.u8("header")? {
        0 => false,
        1 if quantization == Quantization::Sq8 => true,
        other => return Err(bad!("bad scale flag {other}")),
    };
    r.take(2, "header")?;
    let n = usize::try_from(r.u64("header")?).map_err(|_| bad!("node count overflows"))?;
    if n > u32::MAX as usize {
        return Err(bad!("{n} nodes (at most 2^32)"));
    }
    let fitted_on = usize::try_from(r.u64("header")?).unwrap_or(usize::MAX);
    let entry = r.u32("header")?;
    let entry_level = r.u8("header")?;
    r.take(3, "header")?;

    let keys: Vec<u64> = r
        .items(n, 8, "keys")?
        .chunks_exact(8)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
        .collect();
    let deleted = r
        .items(n, 1, "deletions")?
        .iter()
        .map(|&d| match d {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(bad!("bad deletion flag {other}")),
        })
        .collect::<Result<Vec<bool>, FormatError>>()?;
    let levels = r.items(n, 1, "levels")?.to_vec();
    if let Some(l) = levels.iter().find(|&&l| l > MAX_LEVEL) {
        return Err(bad!("node level {l} (at most {MAX_LEVEL})"));
    }
    let vectors = r.f32s(
        n.checked_mul(dim).ok_or(bad!("vector count overflows"))?,
        "vectors",
    )?;
    let scale = if has_scale {
        let lo = r.f32s(dim, "quantizer")?;
        let step = r.f32s(dim, "quantizer")?;
        Some(Sq8::from_parts(lo, step)?)
    } else {
        None
    };

    // Every level of every node has at least its link count: check the bytes are there before
    // allocating link rows for them.
    let least: usize = levels.iter().map(|&l| (usize::from(l) + 1) * 4).sum();
    if r.buf.len() < least {
        return Err(bad!(
            "truncated in the links: {} bytes left, at least {least} needed",
            r.buf.len()
        ));
    }
    let mut graph = Graph::new(m);
    for &level in &levels {
        graph.push(level);
    }
    for node in 0..n as u32 {
        for level in 0..=usize::from(levels[node as usize]) {
            let count = r.u32("links")? as usize;
            if count > graph.max_links(level) {
                return Err(bad!(
                    "node {node} has {count} links on level {level} (at most {})",
                    graph.max_links(level)
                ));
            }
            let links: Vec<u32> = r
                .items(count, 4, "links")?
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if let Some(bad) = links.iter().find(|&&l| l as usize >= n) {
                return Err(bad!("node {node} links to node {bad} of {n}"));
            }
            if let Some(bad) = links
                .iter()
                .find(|&&l| usize::from(levels[l as usize]) < level)
            {
                return Err(bad!(
                    "node {node} links on level {level} to node {bad}, which is not on it"
                ));
            }
            graph.set_links(node, level, &links);
        }
    }
    if !r.buf.is_empty() {
        return Err(bad!("{} bytes after the end of the index", r.buf.len()));
    }
    if n > 0 {
        if entry as usize >= n || levels[entry as usize] != entry_level {
            return Err(bad!(
                "entry point {entry} at level {entry_level} is not a node of that level"
            ));
        }
        graph.set_entry(entry, entry_level);
    } else if entry != NO_ENTRY {
        return Err(bad!("an empty index with an entry point"));
    }

    let mut nodes = HashMap::with_capacity(n);
    for (node, (&key, &gone)) in keys.iter().zip(&deleted).enumerate() {
        if !gone && nodes.insert(key, node as u32).is_some() {
            return Err(bad!("key {key} is live twice"));
        }
    }
    let sq8 = scale.map(|s| {
        let codes = s.encode_all(&vectors);
        (s, codes)
    });
    Ok(HnswIndex {
        dim,
        params: AnnParams {
            m,
            ef_construction,
            ef_search,
            quantization,
        },
        ef_search: AtomicUsize::new(ef_search),
        keys,
        deleted,
        vectors,
        graph,
        sq8,
        fitted_on: fitted_on.min(n),
        nodes,
    })
}
