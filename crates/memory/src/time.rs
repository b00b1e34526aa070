//! Times as RFC 3339 text (`2026-11-25T01:02:03.123456Z`) in stored events and output, and
//! parsing of `--as-of` values.

use chrono::{DateTime, SecondsFormat, Utc};
use lakehouse_store::Timestamp;
use serde::{Deserialize, Deserializer, Serializer};

use crate::MemoryError;

/// `t` as RFC 3339 text in UTC with microseconds.
pub fn format(t: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp_micros(t.as_micros())
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| format!("@{}us", t.as_micros()))
}

/// Parse RFC 3339 text (`2026-11-25T01:02:03Z`, any offset) into a timestamp.
pub fn parse(text: &str) -> Result<Timestamp, MemoryError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|d| Timestamp(d.timestamp_micros()))
        .map_err(|e| {
            MemoryError::InvalidInput(format!(
                "time {text:?} is not RFC 3339 (like 2026-11-25T01:02:03Z): {e}"
            ))
        })
}

pub(crate) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*t))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub(crate) mod list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub(crate) fn serialize<S: Serializer>(ts: &[Timestamp], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ts.len()))?;
        for t in ts {
            seq.serialize_element(&format(*t))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Timestamp>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| parse(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_input() {
        let t = Timestamp(1_795_000_000_123_456);
        assert_eq!(parse(&format(t)).unwrap(), t);
        assert_eq!(
            parse("2026-11-25T01:00:00+01:00").unwrap(),
            parse("2026-11-25T00:00:00Z").unwrap()
        );
        assert!(parse("yesterday").is_err());
    }
}
