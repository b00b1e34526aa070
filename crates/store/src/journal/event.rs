//! Events, their ids, and the JSON line each is stored as.

use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Timestamp;

/// The id of one journal handle (a writer); random unless injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriterId(pub u64);

impl WriterId {
    /// A fresh random id.
    pub fn random() -> Self {
        WriterId(rand::random())
    }
}

impl fmt::Display for WriterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why a stored event line, event id or writer id does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not 16 hex digits.
    #[error("writer id '{0}' is not 16 hex digits")]
    WriterId(String),
    /// Not `<writer>-<seq>`.
    #[error("event id '{0}' is not <writer>-<seq>")]
    EventId(String),
    /// The part after the `-` is not a number.
    #[error("event id '{0}' has a bad sequence number")]
    Sequence(String),
    /// Not a JSON object with `id`, `ts` and `data` (the parser's message).
    #[error("not an event line: {0}")]
    Line(String),
}

impl FromStr for WriterId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(ParseError::WriterId(s.to_string()));
        }
        u64::from_str_radix(s, 16)
            .map(WriterId)
            .map_err(|_| ParseError::WriterId(s.to_string()))
    }
}

/// The id of one event: its writer and its sequence number within that writer.
///
/// Shown as `<writer:016x>-<seq>`; unique across writers, increasing within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// The handle that appended it.
    pub writer: WriterId,
    /// 0 for a writer's first event, then one more per event.
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.writer, self.seq)
    }
}

impl FromStr for EventId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (writer, seq) = s
            .split_once('-')
            .ok_or_else(|| ParseError::EventId(s.to_string()))?;
        let seq = seq
            .parse()
            .map_err(|_| ParseError::Sequence(s.to_string()))?;
        Ok(EventId {
            writer: writer.parse()?,
            seq,
        })
    }
}

/// One event read from a journal.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// When it was appended (the writer's clock).
    pub ts: Timestamp,
    /// When its batch was flushed (the time in its object key); `None` while not yet flushed.
    pub batch_ts: Option<Timestamp>,
    /// The payload, exactly as appended.
    pub data: Box<RawValue>,
}

impl Event {
    /// Decode the payload into `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data.get())
    }
}

/// Append one event's line (with its trailing newline) to `out`.
pub(crate) fn encode_line(out: &mut Vec<u8>, id: EventId, ts: Timestamp, data: &RawValue) {
    // `write!` into a Vec cannot fail.
    let _ = write!(out, r#"{{"id":"{id}","ts":{ts},"data":"#);
    out.extend_from_slice(data.get().as_bytes());
    out.extend_from_slice(b"}\n");
}

/// A payload ready to be stored on one line: compact JSON, no raw newlines.
pub(crate) fn one_line(
    data: &RawValue,
) -> Result<std::borrow::Cow<'_, RawValue>, serde_json::Error> {
    if data.get().contains(['\n', '\r']) {
        let value: serde_json::Value = serde_json::from_str(data.get())?;
        Ok(std::borrow::Cow::Owned(serde_json::value::to_raw_value(
            &value,
        )?))
    } else {
        Ok(std::borrow::Cow::Borrowed(data))
    }
}

#[derive(Deserialize)]
struct LineRef<'a> {
    #[serde(borrow)]
    id: &'a str,
    ts: i64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Parse one stored line (its error becomes the reason of [`super::JournalError::Malformed`]).
pub(crate) fn decode_line(line: &[u8], batch_ts: Timestamp) -> Result<Event, ParseError> {
    let parsed: LineRef<'_> =
        serde_json::from_slice(line).map_err(|e| ParseError::Line(e.to_string()))?;
    Ok(Event {
        id: parsed.id.parse()?,
        ts: Timestamp(parsed.ts),
        batch_ts: Some(batch_ts),
        data: parsed.data.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = EventId {
            writer: WriterId(0xabc),
            seq: 42,
        };
        assert_eq!(id.to_string(), "0000000000000abc-42");
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        assert!("xyz-1".parse::<EventId>().is_err());
        assert!("0000000000000abc-x".parse::<EventId>().is_err());
        assert!("0000000000000abc".parse::<EventId>().is_err());
    }

    #[test]
    fn lines_round_trip() {
        let data = RawValue::from_string(r#"{"a":[1,"two\n"]}"#.into()).unwrap();
        let id = EventId {
            writer: WriterId(7),
            seq: 3,
        };
        let mut out = Vec::new();
        encode_line(&mut out, id, Timestamp(99), &data);
        assert_eq!(out.last(), Some(&b'\n'));
        let event = decode_line(&out[..out.len() - 1], Timestamp(100)).unwrap();
        assert_eq!(event.id, id);
        assert_eq!(event.ts, Timestamp(99));
        assert_eq!(event.batch_ts, Some(Timestamp(100)));
        assert_eq!(event.data.get(), data.get());
    }

    #[test]
    fn pretty_payloads_are_made_one_line() {
        let data = RawValue::from_string("{\n  \"a\": 1\n}".into()).unwrap();
        assert_eq!(one_line(&data).unwrap().get(), r#"{"a":1}"#);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(
            decode_line(b"{not json", Timestamp(0))
                .unwrap_err()
                .to_string()
                .contains("not an event line")
        );
        let err = decode_line(br#"{"id":"nope","ts":1,"data":1}"#, Timestamp(0)).unwrap_err();
        assert_eq!(err, ParseError::EventId("nope".into()));
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
