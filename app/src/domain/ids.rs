//! Ids in JSON bodies may come as numbers or as strings (`7` or `"7"`): automations differ.

use serde::{Deserialize, Deserializer, de::Error};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(i64),
    Text(String),
}

pub fn flexible_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match NumberOrText::deserialize(deserializer)? {
        NumberOrText::Number(n) => Ok(n),
        NumberOrText::Text(text) => text.trim().parse().map_err(|_| D::Error::custom(format!("{text:?} is not an id"))),
    }
}

pub fn flexible_optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NumberOrText::Number(n)) => Ok(Some(n)),
        Some(NumberOrText::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(NumberOrText::Text(text)) => {
            text.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("{text:?} is not an id")))
        }
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::flexible_id")]
        id: i64,
        #[serde(default, deserialize_with = "super::flexible_optional_id")]
        other: Option<i64>,
    }

    #[test]
    fn ids_come_as_numbers_or_strings() {
        let p: Probe = serde_json::from_str(r#"{"id": 7, "other": "8"}"#).unwrap();
        assert_eq!((p.id, p.other), (7, Some(8)));
        let p: Probe = serde_json::from_str(r#"{"id": " 9 "}"#).unwrap();
        assert_eq!((p.id, p.other), (9, None));
        assert!(serde_json::from_str::<Probe>(r#"{"id": "seven"}"#).is_err());
    }
}
