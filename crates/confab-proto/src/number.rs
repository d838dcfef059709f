//! Integers in request bodies. JSON has one number type, and JSON Schema counts `203.0` as the
//! integer 203, so a field the document types as `integer` accepts a number with a zero
//! fraction, as every JSON library may write one; `203.5` and out-of-range values are refused.

use serde::{Deserialize, Deserializer, de};

struct Whole<T>(T);

impl<'de, T: TryFrom<i64> + TryFrom<u64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<T: TryFrom<i64> + TryFrom<u64>> de::Visitor<'_> for Visitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
                T::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
                T::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
                // Beyond 2^53 an f64 no longer holds every integer: such a value was not exact.
                const EXACT: f64 = 9_007_199_254_740_992.0;
                if v.fract() != 0.0 || !(-EXACT..=EXACT).contains(&v) {
                    return Err(E::custom(format!("{v} is not an integer")));
                }
                self.visit_i64(v as i64)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData)).map(Whole)
    }
}

/// `#[serde(deserialize_with = "crate::number::whole")]`
pub fn whole<'de, D: Deserializer<'de>, T: TryFrom<i64> + TryFrom<u64>>(deserializer: D) -> Result<T, D::Error> {
    Whole::deserialize(deserializer).map(|w| w.0)
}

/// The same for an optional field (with `#[serde(default)]`).
pub fn whole_opt<'de, D: Deserializer<'de>, T: TryFrom<i64> + TryFrom<u64>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<Whole<T>>::deserialize(deserializer).map(|w| w.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Body {
        #[serde(deserialize_with = "super::whole")]
        seq: i64,
        #[serde(default, deserialize_with = "super::whole_opt")]
        limit: Option<u32>,
    }

    #[test]
    fn whole_numbers_are_integers_whatever_their_spelling() {
        let body: Body = serde_json::from_str(r#"{"seq": 7.0, "limit": 203.0}"#).unwrap();
        assert_eq!((body.seq, body.limit), (7, Some(203)));
        let body: Body = serde_json::from_str(r#"{"seq": 2e3}"#).unwrap();
        assert_eq!((body.seq, body.limit), (2000, None));
        let body: Body = serde_json::from_str(r#"{"seq": -3, "limit": null}"#).unwrap();
        assert_eq!((body.seq, body.limit), (-3, None));
    }

    #[test]
    fn fractions_strings_and_out_of_range_values_are_refused() {
        for bad in [
            r#"{"seq": 7.5}"#,
            r#"{"seq": "7"}"#,
            r#"{"seq": 1e300}"#,
            r#"{"seq": 1, "limit": -1}"#,
            r#"{"seq": 1, "limit": 4294967296}"#,
            r#"{"seq": 1, "limit": 1.5}"#,
        ] {
            assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad} was accepted");
        }
    }
}
