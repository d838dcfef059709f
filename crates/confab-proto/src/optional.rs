//! Optional fields that may be left out but not sent as `null`. In a PATCH body, leaving a field
//! out means "keep it" and an empty string means "remove it"; a `null` would be a third spelling
//! of one of them, and the document (which types these fields as non-nullable strings) says it
//! is not one.

use serde::{Deserialize, Deserializer};

/// `#[serde(default, deserialize_with = "crate::optional::not_null")]`
pub fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Patch {
        #[serde(default, deserialize_with = "super::not_null")]
        topic: Option<String>,
    }

    #[test]
    fn absent_is_none_a_value_is_some_and_null_is_refused() {
        assert_eq!(serde_json::from_str::<Patch>("{}").unwrap().topic, None);
        assert_eq!(serde_json::from_str::<Patch>(r#"{"topic": ""}"#).unwrap().topic.as_deref(), Some(""));
        assert!(serde_json::from_str::<Patch>(r#"{"topic": null}"#).is_err());
    }
}
