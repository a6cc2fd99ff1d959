//! The request body as top-level fields whose values stay the exact bytes
//! the client sent: only the fields the gateway must change (`model`,
//! `stream_options`) are re-encoded; everything else, nested messages
//! included, is forwarded byte for byte and never parsed into a tree.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON object's top-level fields, in order, with raw values.
#[derive(Debug)]
pub struct RawObject(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut fields = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                    }
                    fields.push((k, v));
                }
                Ok(RawObject(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

impl RawObject {
    pub fn parse(bytes: &[u8]) -> Result<RawObject, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The raw value of a field (keys are unique).
    pub fn raw(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// A field decoded as `T`, `None` when absent or of another type.
    pub fn get<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Option<T> {
        self.raw(key).and_then(|v| serde_json::from_str(v.get()).ok())
    }

    /// Replaces (or appends) a field with `value` encoded as JSON.
    pub fn set(&mut self, key: &str, value: &impl Serialize) -> Result<(), serde_json::Error> {
        let raw = serde_json::value::to_raw_value(value)?;
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = raw,
            None => self.0.push((key.to_owned(), raw)),
        }
        Ok(())
    }

    /// The object as JSON bytes: untouched values exactly as received.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>() + 2);
        out.push(b'{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Encoding a string cannot fail.
            out.extend_from_slice(&serde_json::to_vec(k).unwrap_or_default());
            out.push(b':');
            out.extend_from_slice(v.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_re_encoded() {
        let sent = br#"{"model":"fast","messages":[{"role":"user","content":"h\u00e9 1e2 1.50"}],"temperature":1.50,"stream":true}"#;
        let mut body = RawObject::parse(sent).unwrap();
        assert_eq!(body.get::<String>("model").as_deref(), Some("fast"));
        assert_eq!(body.get::<bool>("stream"), Some(true));
        body.set("model", &"gpt-4o").unwrap();
        body.set("stream_options", &serde_json::json!({"include_usage": true}))
            .unwrap();
        let out = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9 1e2 1.50"}],"temperature":1.50,"stream":true,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        let duplicate = br#"{"model":"a","messages":[{"model":"nested is fine","x":1}],"model":"b"}"#;
        for bad in [
            &b"[]"[..],
            b"\"x\"",
            b"{",
            b"{\"a\":}",
            b"{} {}",
            duplicate,
            b"{\"x\":1,\"x\":1}",
        ] {
            assert!(RawObject::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let nested = br#"{"model":"a","messages":[{"role":"user","role":"x"}]}"#;
        assert!(RawObject::parse(nested).is_ok(), "only the top level is checked");
    }
}
