//! Lenient serde helpers for the shapes Synapse actually sends (ints for bools, nulls, numeric strings).
//!
//! Synapse's responses drift between versions and database backends: SQLite may hand back
//! `0`/`1` where the docs promise booleans, many fields are `null` rather than absent, and
//! pagination tokens are sometimes strings and sometimes integers. These helpers accept all of
//! those so that a response never fails to decode over a cosmetic difference.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Deserializes a boolean that may arrive as `true`/`false`, `0`/`1` (any integer: non-zero is
/// true), `"true"`/`"false"` or `null` (false).
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(lenient_opt_bool(d)?.unwrap_or(false))
}

/// Like [`lenient_bool`] but keeps `null` as `None`.
pub(crate) fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean, 0/1 or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v != 0))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v != 0))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" | "" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// Treats an explicit `null` like an absent field: yields `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An optional string that Synapse may send as a number (e.g. `next_token`, `appservice_id`).
pub(crate) fn opt_string_or_int<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, an integer or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// An optional non-negative integer that Synapse may send as a numeric string.
pub(crate) fn opt_u64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer, a numeric string or null")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim()
                .parse()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// Converts a timestamp that may be in seconds (Synapse's `users.creation_ts` column) or in
/// milliseconds into milliseconds. Uses the same cut-off Synapse uses to reject second-based
/// timestamps: anything below 30 000 000 000 (year 2920 in seconds, Dec 1970 in ms) is seconds.
pub(crate) fn ts_to_ms(ts: i64) -> i64 {
    if ts.abs() < 30_000_000_000 {
        ts.saturating_mul(1000)
    } else {
        ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "lenient_bool")]
        b: bool,
        #[serde(default, deserialize_with = "null_default")]
        v: Vec<u8>,
        #[serde(default, deserialize_with = "opt_string_or_int")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_u64_or_string")]
        n: Option<u64>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn lenient_values() {
        assert!(t(r#"{"b": true}"#).b);
        assert!(t(r#"{"b": 1}"#).b);
        assert!(!t(r#"{"b": 0}"#).b);
        assert!(!t(r#"{"b": null}"#).b);
        assert!(!t(r#"{}"#).b);
        assert!(t(r#"{"v": null}"#).v.is_empty());
        assert_eq!(t(r#"{"s": "100"}"#).s.as_deref(), Some("100"));
        assert_eq!(t(r#"{"s": 100}"#).s.as_deref(), Some("100"));
        assert_eq!(t(r#"{"s": null}"#).s, None);
        assert_eq!(t(r#"{"n": "42"}"#).n, Some(42));
        assert_eq!(t(r#"{"n": 42}"#).n, Some(42));
        assert_eq!(t(r#"{}"#).n, None);
        assert!(serde_json::from_str::<T>(r#"{"n": "x"}"#).is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts_to_ms(1_560_432_506), 1_560_432_506_000);
        assert_eq!(ts_to_ms(1_560_432_668_000), 1_560_432_668_000);
    }
}
