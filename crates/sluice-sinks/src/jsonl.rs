//! The JSON Lines form shared by the file and stdout sinks (DESIGN §3):
//! `{"topic":…,"partition":…,"key":…,"value":…,"headers":{…},"timestamp":…}` and a newline.
//!
//! A `json` payload is embedded as JSON, a `simplestring` one as a JSON string, a `binary` one as
//! `key_base64`/`value_base64` (standard base64) in place of `key`/`value`. Header values are strings (bytes that
//! are not UTF-8 are rendered lossily).

use base64::Engine;
use sluice_core::{Payload, Record};

/// Appends one record as a JSON line, newline included.
pub fn render_json_line(record: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"topic\":");
    write_str(&record.topic, out);
    out.extend_from_slice(b",\"partition\":");
    match record.partition {
        Some(p) => out.extend_from_slice(p.to_string().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    write_payload("key", record.key.as_ref(), out);
    write_payload("value", record.value.as_ref(), out);
    out.extend_from_slice(b",\"headers\":{");
    for (i, (name, value)) in record.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(name, out);
        out.push(b':');
        write_str(&String::from_utf8_lossy(value), out);
    }
    out.extend_from_slice(b"},\"timestamp\":");
    out.extend_from_slice(record.timestamp_ms.to_string().as_bytes());
    out.extend_from_slice(b"}\n");
}

fn write_payload(field: &str, payload: Option<&Payload>, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(field.as_bytes());
    match payload {
        None => out.extend_from_slice(b"\":null"),
        Some(json @ (Payload::Json(_) | Payload::JsonWithSchema { .. })) => {
            out.extend_from_slice(b"\":");
            json.append_to(out);
        }
        Some(Payload::String(s)) => {
            out.extend_from_slice(b"\":");
            write_str(s, out);
        }
        Some(Payload::Binary(bytes)) => {
            out.extend_from_slice(b"_base64\":\"");
            out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(bytes).as_bytes());
            out.push(b'"');
        }
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::{Lsn, Position};

    fn record(key: Option<Payload>, value: Option<Payload>) -> Record {
        Record {
            topic: "app.public.t".into(),
            partition: None,
            key,
            value,
            headers: vec![("eventType".into(), b"Created".to_vec())],
            timestamp_ms: 1_700_000_000_000,
            position: Position::new(Lsn(1), 0),
        }
    }

    fn line(r: &Record) -> serde_json::Value {
        let mut out = Vec::new();
        render_json_line(r, &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn json_payloads_are_embedded_as_json() {
        let r = record(Some(Payload::Json(br#"{"id":1}"#.to_vec())), Some(Payload::Json(br#"{"a":"x\ny"}"#.to_vec())));
        assert_eq!(
            line(&r),
            serde_json::json!({"topic":"app.public.t","partition":null,"key":{"id":1},"value":{"a":"x\ny"},
                "headers":{"eventType":"Created"},"timestamp":1_700_000_000_000_i64})
        );
    }

    #[test]
    fn string_payloads_are_json_strings_and_tombstones_are_null() {
        let r = record(Some(Payload::String("Struct{id=1}".into())), None);
        let v = line(&r);
        assert_eq!(v["key"], "Struct{id=1}");
        assert_eq!(v["value"], serde_json::Value::Null);
    }

    #[test]
    fn binary_payloads_are_base64_under_their_own_field() {
        let r = record(None, Some(Payload::Binary(vec![0, 159, 146, 150])));
        let v = line(&r);
        assert_eq!(v["value_base64"], "AJ+Slg==");
        assert!(v.get("value").is_none());
        assert_eq!(v["key"], serde_json::Value::Null);
    }
}
