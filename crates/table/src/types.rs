//! Column types: inferring them from string columns, parsing `--schema` overrides, and turning
//! string columns into typed Arrow arrays — with every value that does not fit reported, so no
//! bad value is ever silently dropped.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use deltalake::arrow::array::{Array, ArrayRef, BooleanArray, PrimitiveArray, StringArray};
use deltalake::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType,
};

use crate::TableError;
use crate::raw::value;

/// The types a text column can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// `true` / `false`.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 or `YYYY-MM-DD HH:MM:SS[.f]`, stored as UTC microseconds.
    Timestamp,
    /// Anything.
    String,
}

impl ColumnType {
    /// Parse a type name as used in `--schema` (`int`, `bigint`, `float`, `double`, `bool`,
    /// `date`, `timestamp`, `string`, `text`).
    pub fn parse(name: &str) -> Option<ColumnType> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" | "bigint" | "int64" | "long" => ColumnType::Int,
            "float" | "double" | "float64" | "real" => ColumnType::Float,
            "bool" | "boolean" => ColumnType::Bool,
            "date" => ColumnType::Date,
            "timestamp" | "datetime" => ColumnType::Timestamp,
            "string" | "text" | "utf8" | "varchar" => ColumnType::String,
            _ => return None,
        })
    }

    /// The Arrow type it is stored as.
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::String => DataType::Utf8,
        }
    }

    /// The column type an existing Arrow column has, if text can be converted to it.
    pub fn from_arrow(data_type: &DataType) -> Option<ColumnType> {
        Some(match data_type {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => ColumnType::Int,
            DataType::Float32 | DataType::Float64 => ColumnType::Float,
            DataType::Boolean => ColumnType::Bool,
            DataType::Date32 => ColumnType::Date,
            DataType::Timestamp(_, _) => ColumnType::Timestamp,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::String,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            ColumnType::Int => "an integer",
            ColumnType::Float => "a number",
            ColumnType::Bool => "true or false",
            ColumnType::Date => "a date (YYYY-MM-DD)",
            ColumnType::Timestamp => "a timestamp",
            ColumnType::String => "text",
        }
    }
}

/// Parse `col:type,col:type` into pairs; names are matched later, raw or normalised.
pub fn parse_schema_spec(spec: &str) -> Result<Vec<(String, ColumnType)>, TableError> {
    let bad = |reason: String| TableError::InvalidSchema {
        spec: spec.to_string(),
        reason,
    };
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (name, ty) = part
                .rsplit_once(':')
                .ok_or_else(|| bad(format!("'{part}' is not <column>:<type>")))?;
            let ty = ColumnType::parse(ty).ok_or_else(|| {
                bad(format!(
                    "unknown type '{ty}' (use int, float, bool, date, timestamp, string)"
                ))
            })?;
            Ok((name.trim().to_string(), ty))
        })
        .collect()
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    // Leading zeros mark identifiers (ZIP codes, block numbers): keep those as text.
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'))
}

fn parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || !exponent_ok {
        return None;
    }
    if int.len() > 1 && int.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_date(s: &str) -> Option<i32> {
    if s.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// The narrowest type every non-null value of `column` fits.
pub(crate) fn infer(column: &StringArray) -> ColumnType {
    let mut candidates = [
        ColumnType::Int,
        ColumnType::Float,
        ColumnType::Bool,
        ColumnType::Date,
        ColumnType::Timestamp,
    ];
    let mut alive = [true; 5];
    let mut seen = false;
    for row in 0..column.len() {
        let Some(v) = value(column, row) else {
            continue;
        };
        seen = true;
        for (i, ty) in candidates.iter().enumerate() {
            if alive[i] && !fits(*ty, v) {
                alive[i] = false;
            }
        }
        if !alive.contains(&true) {
            return ColumnType::String;
        }
    }
    if !seen {
        return ColumnType::String;
    }
    candidates
        .iter_mut()
        .zip(alive)
        .find(|(_, a)| *a)
        .map_or(ColumnType::String, |(t, _)| *t)
}

fn fits(ty: ColumnType, v: &str) -> bool {
    match ty {
        ColumnType::Int => is_int(v) && v.parse::<i64>().is_ok(),
        // A run of digits too long for an integer is an identifier, not an approximate number.
        ColumnType::Float => parse_float(v).is_some() && (v.contains(['.', 'e', 'E']) || is_int(v)),
        ColumnType::Bool => parse_bool(v).is_some(),
        ColumnType::Date => parse_date(v).is_some(),
        ColumnType::Timestamp => parse_timestamp(v).is_some(),
        ColumnType::String => true,
    }
}

/// Convert a string column to `ty`. Values that do not fit become null and are returned as
/// `(row, reason)`.
pub(crate) fn convert(column: &StringArray, ty: ColumnType) -> (ArrayRef, Vec<(usize, String)>) {
    let mut bad = Vec::new();
    let array: ArrayRef = match ty {
        ColumnType::String => Arc::new(column.clone()),
        ColumnType::Int => Arc::new(parse_column::<Int64Type>(column, ty, &mut bad, |v| {
            v.parse().ok()
        })),
        ColumnType::Float => Arc::new(parse_column::<Float64Type>(column, ty, &mut bad, |v| {
            v.parse::<f64>().ok().filter(|n| n.is_finite())
        })),
        ColumnType::Date => Arc::new(parse_column::<Date32Type>(column, ty, &mut bad, parse_date)),
        ColumnType::Timestamp => Arc::new(
            parse_column::<TimestampMicrosecondType>(column, ty, &mut bad, parse_timestamp)
                .with_timezone("UTC"),
        ),
        ColumnType::Bool => {
            let values: BooleanArray = (0..column.len())
                .map(|row| {
                    let v = value(column, row)?;
                    let parsed = parse_bool(v);
                    if parsed.is_none() {
                        bad.push((row, not_a(v, ty)));
                    }
                    parsed
                })
                .collect();
            Arc::new(values)
        }
    };
    (array, bad)
}

fn not_a(v: &str, ty: ColumnType) -> String {
    let shown: String = v.chars().take(80).collect();
    format!("'{shown}' is not {}", ty.name())
}

/// Parse every value of `column` with `parse`; values it refuses become null and are reported.
fn parse_column<T: ArrowPrimitiveType>(
    column: &StringArray,
    ty: ColumnType,
    bad: &mut Vec<(usize, String)>,
    parse: impl Fn(&str) -> Option<T::Native>,
) -> PrimitiveArray<T> {
    (0..column.len())
        .map(|row| {
            let v = value(column, row)?;
            let parsed = parse(v);
            if parsed.is_none() {
                bad.push((row, not_a(v, ty)));
            }
            parsed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[Option<&str>]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    #[test]
    fn inference_picks_the_narrowest_type() {
        assert_eq!(
            infer(&strings(&[Some("1"), None, Some("-20")])),
            ColumnType::Int
        );
        assert_eq!(
            infer(&strings(&[Some("1"), Some("2.5")])),
            ColumnType::Float
        );
        assert_eq!(
            infer(&strings(&[Some("-136000000.00"), Some("25222.00")])),
            ColumnType::Float
        );
        assert_eq!(
            infer(&strings(&[Some("TRUE"), Some("false")])),
            ColumnType::Bool
        );
        assert_eq!(
            infer(&strings(&[Some("2025-01-31"), Some("2025-12-01")])),
            ColumnType::Date
        );
        assert_eq!(
            infer(&strings(&[Some("2025-01-31 10:00:00")])),
            ColumnType::Timestamp
        );
        assert_eq!(infer(&strings(&[None, None])), ColumnType::String);
    }

    #[test]
    fn identifiers_and_odd_dates_stay_text() {
        assert_eq!(
            infer(&strings(&[Some("0291"), Some("1234")])),
            ColumnType::String,
            "leading zeros"
        );
        assert_eq!(
            infer(&strings(&[Some("03/13/0201")])),
            ColumnType::String,
            "US date with year 0201"
        );
        assert_eq!(infer(&strings(&[Some("$20000.00")])), ColumnType::String);
        assert_eq!(
            infer(&strings(&[Some("NaN"), Some("inf")])),
            ColumnType::String
        );
        assert_eq!(
            infer(&strings(&[Some("12345678901234567890123")])),
            ColumnType::String,
            "too long for i64"
        );
        assert_eq!(
            infer(&strings(&[Some("PERMIT – EXPRESS PERMIT PROGRAM")])),
            ColumnType::String
        );
    }

    #[test]
    fn conversion_reports_every_value_that_does_not_fit() {
        let (array, bad) = convert(
            &strings(&[Some("10"), Some("12x"), None, Some("3")]),
            ColumnType::Int,
        );
        assert_eq!(array.len(), 4);
        assert_eq!(bad, vec![(1, "'12x' is not an integer".to_string())]);
    }

    #[test]
    fn schema_specs() {
        let spec = parse_schema_spec("amount:int, Start Date:date").unwrap();
        assert_eq!(
            spec,
            vec![
                ("amount".into(), ColumnType::Int),
                ("Start Date".into(), ColumnType::Date)
            ]
        );
        assert!(parse_schema_spec("amount").is_err());
        assert!(
            parse_schema_spec("amount:money")
                .unwrap_err()
                .to_string()
                .contains("unknown type 'money'")
        );
    }
}
