//! Real texts for the retrieval benchmarks, and the `.npy` files shared with the Python peers.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};

/// The text column of each real CSV used by the benchmarks.
pub(crate) const SOURCES: [(&str, &str); 3] = [
    ("chicago_permits.csv", "WORK_DESCRIPTION"),
    ("chicago_contracts.csv", "Purchase Order Description"),
    ("sf_building_permits.csv", "Description"),
];

/// Distinct non-empty texts of `column` in `file`, in file order.
pub(crate) fn column_texts(file: &Path, column: &str) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let Some(at) = headers.iter().position(|h| h == column) else {
        bail!("{} has no column {column:?}", file.display());
    };
    let mut out = Vec::new();
    for record in reader.byte_records() {
        let record = record?;
        if let Some(v) = record.get(at) {
            let text = String::from_utf8_lossy(v).trim().to_string();
            if !text.is_empty() {
                out.push(text);
            }
        }
    }
    Ok(out)
}

/// Up to `limit` distinct texts: every description of the three real files, then their halves
/// and quarters (word-split chunks of longer ones), deterministic order.
pub(crate) fn corpus_texts(data_dir: &Path, limit: usize) -> anyhow::Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut whole = Vec::new();
    for (file, column) in SOURCES {
        for t in column_texts(&data_dir.join(file), column)? {
            if seen.insert(t.clone()) {
                whole.push(t);
            }
        }
    }
    let mut out = whole.clone();
    for t in &whole {
        let words: Vec<&str> = t.split_whitespace().collect();
        let mut chunks = Vec::new();
        if words.len() >= 8 {
            let h = words.len() / 2;
            chunks.push(words[..h].join(" "));
            chunks.push(words[h..].join(" "));
        }
        if words.len() >= 16 {
            let q = words.len() / 4;
            for i in 0..4 {
                chunks.push(words[i * q..(i + 1) * q].join(" "));
            }
        }
        for c in chunks {
            if seen.insert(c.clone()) {
                out.push(c);
            }
        }
    }
    out.truncate(limit);
    Ok(out)
}

fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + dict + '\n' must be a multiple of 64.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(dict.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Write a row-major `rows x cols` f32 matrix as `.npy`.
pub(crate) fn write_f32(path: &Path, data: &[f32], cols: usize) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&npy_header("<f4", &[data.len() / cols.max(1), cols]))?;
    for x in data {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

/// Write a row-major `rows x cols` i64 matrix as `.npy`.
pub(crate) fn write_i64(path: &Path, data: &[i64], cols: usize) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&npy_header("<i8", &[data.len() / cols.max(1), cols]))?;
    for x in data {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

/// Read a 2-D little-endian f32 `.npy` file: (data, cols).
pub(crate) fn read_f32(path: &Path) -> anyhow::Result<(Vec<f32>, usize)> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .read_to_end(&mut bytes)?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("{} is not a .npy file", path.display());
    }
    let (header_len, start) = if bytes[6] == 1 {
        (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10)
    } else {
        let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        (usize::try_from(len)?, 12)
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len])?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        bail!(
            "{}: expected a C-order float32 array, header {header}",
            path.display()
        );
    }
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .context("no shape in .npy header")?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let cols = *dims.get(1).context("expected a 2-D array")?;
    let data: Vec<f32> = bytes[start + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if data.len() != dims[0] * cols {
        bail!(
            "{}: {} values for shape {dims:?}",
            path.display(),
            data.len()
        );
    }
    Ok((data, cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_f32(&p, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
        let (data, cols) = read_f32(&p).unwrap();
        assert_eq!((data, cols), (vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3));
        assert_eq!(std::fs::read(&p).unwrap().len(), 128 + 24);
    }
}
