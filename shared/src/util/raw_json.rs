//! JSON objects whose member values stay the text they were sent as.
//!
//! `serde_json::Value` holds numbers as `u64`/`i64`/`f64`, so a retailer's
//! `123456789012345678901234` or `0.12345678901234567890` would come out rounded.
//! Payloads are only passed through, so they are kept as [`RawValue`]s: a value
//! that is not changed is written back byte for byte. (serde_json's
//! `arbitrary_precision` would do it for every `Value`, but it is a
//! workspace-wide switch that changes how numbers reach serde's buffered enums
//! and flattened structs, and how `serde_dynamo` stores them.)

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON object's members in the order sent, duplicates included, each value
/// its original text.
#[derive(Debug, Clone, Default)]
pub struct RawObject(Vec<(String, Box<RawValue>)>);

impl RawObject {
    /// `json` as an object; `None` when it is not one.
    pub fn parse(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    /// The value of `name`; the last one when sent more than once (as
    /// `serde_json::Value` keeps it).
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.0.iter().rev().find(|(key, _)| key == name).map(|(_, v)| &**v)
    }

    /// Every value of `name`, in the order sent: what must be looked at before
    /// hiding one, since the text written back carries every copy.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s RawValue> + 's {
        self.0.iter().filter(move |(key, _)| key == name).map(|(_, v)| &**v)
    }

    /// The value of `name` (the last one), to change in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Box<RawValue>> {
        self.0.iter_mut().rev().find(|(key, _)| key == name).map(|(_, v)| v)
    }

    /// Sets every member named `name` to `value`, or adds one at the end.
    pub fn set(&mut self, name: &str, value: Box<RawValue>) {
        let mut found = false;
        for (_, old) in self.0.iter_mut().filter(|(key, _)| key == name) {
            old.clone_from(&value);
            found = true;
        }
        if !found {
            self.0.push((name.to_owned(), value));
        }
    }

    /// Removes every member named `name`; the value `get` would have read.
    pub fn remove(&mut self, name: &str) -> Option<Box<RawValue>> {
        let mut last = None;
        self.0.retain_mut(|(key, value)| {
            let keep = key != name;
            if !keep {
                last = Some(std::mem::take(value));
            }
            keep
        });
        last
    }

    /// The object as JSON text: the members' values exactly as they were.
    pub fn to_raw(&self) -> Box<RawValue> {
        // Members that are themselves JSON text serialise without error.
        serde_json::value::to_raw_value(self).unwrap_or_else(|_| RawValue::NULL.to_owned())
    }
}

/// `value` (a string, a number) as JSON text.
pub fn raw(value: impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// True when `value` is JSON `null`.
pub fn is_null(value: &RawValue) -> bool {
    value.get() == "null"
}

impl Serialize for RawObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawObject;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = r#"{"id": 123456789012345678901234, "amt":0.12345678901234567890,"id":7, "n": {"x": 1.0e3}}"#;

    #[test]
    fn unchanged_members_keep_their_text() {
        // GIVEN an object with numbers no f64 holds, a duplicate key and nesting
        let mut object = RawObject::parse(SENT).expect("an object");
        // WHEN one member is replaced
        object.set("amt", raw("****"));
        // THEN the others read as sent, in order; the duplicate reads its last value
        assert_eq!(
            object.to_raw().get(),
            r#"{"id":123456789012345678901234,"amt":"****","id":7,"n":{"x": 1.0e3}}"#
        );
        assert_eq!(object.get("id").map(RawValue::get), Some("7"));
        let ids: Vec<&str> = object.get_all("id").map(RawValue::get).collect();
        assert_eq!(ids, ["123456789012345678901234", "7"]);
        assert_eq!(object.remove("id").map(|v| v.get().to_owned()).as_deref(), Some("7"));
        assert_eq!(object.to_raw().get(), r#"{"amt":"****","n":{"x": 1.0e3}}"#);
    }

    #[test]
    fn only_objects_parse() {
        assert!(RawObject::parse("[1]").is_none());
        assert!(RawObject::parse("12").is_none());
        assert!(is_null(&raw(())));
    }
}
