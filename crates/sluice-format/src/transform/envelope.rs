//! Debezium's transforms that read a record's headers or its change-event envelope: `HeaderToValue` (headers
//! copied or moved into value fields) and `PartitionRouting` (the Kafka partition chosen from the envelope's
//! fields).
//!
//! Why here: like Kafka's field transforms (`super::fields`) they work on the encoded JSON's members, copying
//! what they do not change byte for byte, with the rewritten schema made once per schema and header set and
//! cached; `PartitionRouting` changes nothing but `Record::partition`, which the Kafka sink honours.
//!
//! `PartitionRouting` hashes each field as Debezium does, with the Java object Kafka Connect holds for it: the
//! field's schema (`schemas.enable`) says whether a number is an `Integer` or a `Long`, a `Float` or a `Double`, a
//! `BigDecimal` or a `java.util.Date`. Without a schema Sluice can only read the JSON, so a whole number is an
//! `Integer` when it fits one and a `Long` otherwise, a fraction a `Double`: equal to Debezium's hashes for text,
//! booleans and non-negative `int4`/`int8` values below 2^31 (where the two hash alike), but not for a negative
//! `int8` value, a `real`, a decimal or a date, which need the schema to hash as Debezium does.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;
use sluice_core::{Payload, Record};

use super::fields::{
    field_name, members, name, struct_parts, FieldType, Member, Schema, Side, DECIMAL, SCHEMA_CACHE_ENTRIES,
};
use crate::json;

/// `HeaderToValue`: each of `headers` put into the value field of the same position in `fields` (a dotted name
/// reaches into a nested struct, such as `after.origin`); with `moving`, the headers are then removed.
#[derive(Debug)]
pub struct HeaderToValue {
    pub headers: Vec<String>,
    pub fields: Vec<Vec<String>>,
    pub moving: bool,
    /// Rewritten schemas, by the schema and which headers the record had (a bit per header).
    schemas: HashMap<(usize, u64), (Schema, Schema)>,
}

impl HeaderToValue {
    pub fn new(headers: Vec<String>, fields: Vec<Vec<String>>, moving: bool) -> HeaderToValue {
        HeaderToValue { headers, fields, moving, schemas: HashMap::new() }
    }

    /// Applies the transform: a tombstone, or a record with none of the headers, passes unchanged. As in
    /// Debezium, a header listed twice on one record is an error (its `Collectors.toMap` fails on the duplicate),
    /// and so is a field name the struct already has (Connect refuses a schema with two fields of one name).
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let Some(value) = &record.value else { return Ok(()) };
        let mut found: Vec<Option<&[u8]>> = vec![None; self.headers.len()];
        for (header, bytes) in &record.headers {
            for (slot, wanted) in found.iter_mut().zip(&self.headers) {
                if wanted == header {
                    if slot.is_some() {
                        return Err(format!("Duplicate key {header}: the record has the header twice"));
                    }
                    *slot = Some(bytes);
                }
            }
        }
        if found.iter().all(Option::is_none) {
            return Ok(());
        }
        let (json, schema) = struct_parts(value, Side::Value)?;
        let added: Vec<(&[String], String)> = found
            .iter()
            .zip(&self.fields)
            .filter_map(|(bytes, path)| Some((path.as_slice(), String::from_utf8_lossy((*bytes)?).into_owned())))
            .collect();
        let mut out = Vec::with_capacity(json.len() + 64);
        insert(json, &[], &added, &mut out)?;
        let updated = match schema {
            None => Payload::Json(out),
            Some(schema) => {
                let mask =
                    found.iter().enumerate().fold(0u64, |m, (i, f)| if f.is_some() { m | 1 << (i % 64) } else { m });
                Payload::JsonWithSchema { schema: rewritten(&mut self.schemas, schema, mask, &added)?, payload: out }
            }
        };
        record.value = Some(updated);
        if self.moving {
            record.headers.retain(|(n, _)| !self.headers.contains(n));
        }
        Ok(())
    }
}

/// The value schema with the `added` fields, made once per schema and set of headers present (`mask`).
fn rewritten(
    cache: &mut HashMap<(usize, u64), (Schema, Schema)>,
    schema: &Schema,
    mask: u64,
    added: &[(&[String], String)],
) -> Result<Schema, String> {
    let address = Arc::as_ptr(schema) as *const u8 as usize;
    if let Some((held, made)) = cache.get(&(address, mask)) {
        if Arc::ptr_eq(held, schema) {
            return Ok(made.clone());
        }
    }
    let mut parsed: Value = serde_json::from_slice(schema).map_err(|e| e.to_string())?;
    for (path, _) in added {
        add_string_field(&mut parsed, path)?;
    }
    // Debezium rebuilds the value schema with `copySchemaBasics`, which makes it required.
    if let Some(object) = parsed.as_object_mut() {
        object.insert("optional".into(), Value::Bool(false));
    }
    let made: Schema = Arc::from(serde_json::to_vec(&parsed).map_err(|e| e.to_string())?);
    if cache.len() >= SCHEMA_CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert((address, mask), (schema.clone(), made.clone()));
    Ok(made)
}

/// Adds an optional string field at `path` (its last part the field's name) to a struct schema.
fn add_string_field(schema: &mut Value, path: &[String]) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else { return Ok(()) };
    let mut current = schema;
    for parent in parents {
        let fields = current.get_mut("fields").and_then(Value::as_array_mut).ok_or("the value is not a struct")?;
        current = fields
            .iter_mut()
            .find(|f| field_name(f) == parent)
            .ok_or_else(|| format!("the value has no struct field `{parent}` for `{}`", path.join(".")))?;
    }
    let fields = current
        .get_mut("fields")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("`{}` is not inside a struct", path.join(".")))?;
    if fields.iter().any(|f| field_name(f) == last) {
        return Err(format!("Cannot create field because of field name duplication {last}"));
    }
    fields.push(serde_json::json!({"type": "string", "optional": true, "field": last}));
    Ok(())
}

/// Appends the object `json` with the `added` fields whose path runs through `at`, recursing into the nested
/// structs they name; a null nested struct stays null. An error when `json` is not an object or already has a
/// field of an added name.
fn insert(json: &[u8], at: &[String], added: &[(&[String], String)], out: &mut Vec<u8>) -> Result<(), String> {
    let fields: Vec<Member> =
        members(json).ok_or("Only Struct objects supported for [Header field insertion]: the value is not a struct")?;
    let start = out.len();
    out.push(b'{');
    for member in &fields {
        if out.len() > start + 1 {
            out.push(b',');
        }
        out.extend_from_slice(&json[member.key.clone()]);
        out.push(b':');
        let value = &json[member.value.clone()];
        let field = name(json, member);
        let deeper = added
            .iter()
            .any(|(path, _)| path.len() > at.len() + 1 && path[..at.len()] == *at && path[at.len()] == *field);
        if deeper && value.first() == Some(&b'{') {
            let mut nested = at.to_vec();
            nested.push(field.into_owned());
            insert(value, &nested, added, out)?;
        } else {
            out.extend_from_slice(value);
        }
    }
    for (path, text) in added {
        if path.len() == at.len() + 1 && path[..at.len()] == *at {
            let field = &path[at.len()];
            if fields.iter().any(|m| name(json, m) == field.as_str()) {
                return Err(format!("Cannot create field because of field name duplication {field}"));
            }
            if out.len() > start + 1 {
                out.push(b',');
            }
            json::string(out, field);
            out.push(b':');
            json::string(out, text);
        }
    }
    out.push(b'}');
    Ok(())
}

/// `partition.hash.function`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFunction {
    /// `java`: each value's `Object.hashCode()`.
    Java,
    /// `murmur`: Debezium's `MurmurHash3.hash(Object)`.
    Murmur,
}

/// The type of each `partition.payload.fields` path, as read under `after` and under `before`.
type PathTypes = Arc<Vec<[Option<FieldType>; 2]>>;

/// `PartitionRouting`: the record's partition from the hashes of envelope fields.
#[derive(Debug)]
pub struct PartitionRouting {
    /// `partition.payload.fields`, each split on `.`.
    pub fields: Vec<Vec<String>>,
    pub partitions: i32,
    pub hash: HashFunction,
    /// Each field's type, per envelope schema: for a path through `change`, as read under `after` and `before`.
    types: HashMap<usize, (Schema, PathTypes)>,
}

impl PartitionRouting {
    pub fn new(fields: Vec<Vec<String>>, partitions: i32, hash: HashFunction) -> PartitionRouting {
        PartitionRouting { fields, partitions, hash, types: HashMap::new() }
    }

    /// Applies the transform. Records that are not change events (tombstones, messages, truncates, values
    /// `ExtractNewRecordState` made) pass unchanged, as in Debezium; so does an event none of whose fields is
    /// there and not null. A path through a struct that is null (`before.id` of an insert) is an error, as
    /// Debezium's (a `NullPointerException`, reported as "Unprocessable message").
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let Some(value) = &record.value else { return Ok(()) };
        let Ok((json, schema)) = struct_parts(value, Side::Value) else { return Ok(()) };
        let Some(top) = members(json) else { return Ok(()) };
        let member = |name_wanted: &str| top.iter().find(|m| name(json, m) == name_wanted);
        let Some(op) = member("op").map(|m| &json[m.value.clone()]) else { return Ok(()) };
        if member("source").is_none() || matches!(op, b"\"t\"" | b"\"m\"") {
            return Ok(());
        }
        let deleted = op == b"\"d\"";
        let types = schema.map(|s| self.types_of(s));
        let mut total: i32 = 0;
        let mut any = false;
        for (index, path) in self.fields.iter().enumerate() {
            let Some(raw) = lookup(json, path, deleted)? else { continue };
            if raw == b"null" {
                continue;
            }
            let field_type = types.as_ref().and_then(|t| t[index][usize::from(deleted)].as_ref());
            let hash = java_hash(raw, field_type).map_err(|e| format!("field `{}`: {e}", path.join(".")))?;
            let hash = match self.hash {
                HashFunction::Java => hash,
                HashFunction::Murmur => match (raw.first(), field_type.map(|t| t.kind.as_str())) {
                    (Some(b'"'), None | Some("string")) => {
                        murmur(serde_json::from_slice::<String>(raw).unwrap_or_default().as_bytes())
                    }
                    _ => murmur(&hash.to_le_bytes()),
                },
            };
            total = total.wrapping_add(hash);
            any = true;
        }
        if any {
            let mut normalized = total & i32::MAX;
            if normalized == i32::MAX {
                normalized = 0;
            }
            record.partition = Some(normalized % self.partitions);
        }
        Ok(())
    }

    fn types_of(&mut self, schema: &Schema) -> PathTypes {
        let address = Arc::as_ptr(schema) as *const u8 as usize;
        if let Some((held, types)) = self.types.get(&address) {
            if Arc::ptr_eq(held, schema) {
                return types.clone();
            }
        }
        let parsed: Value = serde_json::from_slice(schema).unwrap_or(Value::Null);
        let types: Vec<[Option<FieldType>; 2]> =
            self.fields.iter().map(|path| [schema_at(&parsed, path, false), schema_at(&parsed, path, true)]).collect();
        let types = Arc::new(types);
        if self.types.len() >= SCHEMA_CACHE_ENTRIES {
            self.types.clear();
        }
        self.types.insert(address, (schema.clone(), types.clone()));
        types
    }
}

/// The struct a path part names: `change` is `before` for a delete, `after` otherwise.
fn resolved(part: &str, deleted: bool) -> &str {
    match part {
        "change" if deleted => "before",
        "change" => "after",
        other => other,
    }
}

/// The type of the field at `path` in a struct schema.
fn schema_at(schema: &Value, path: &[String], deleted: bool) -> Option<FieldType> {
    let mut current = schema;
    for part in path {
        let part = resolved(part, deleted);
        current = current.get("fields")?.as_array()?.iter().find(|f| field_name(f) == part)?;
    }
    let text = |key: &str| current.get(key).and_then(Value::as_str).map(String::from);
    let scale = current.get("parameters").and_then(|p| p.get("scale")).and_then(Value::as_str).map(String::from);
    Some(FieldType { kind: text("type").unwrap_or_default(), logical: text("name"), scale })
}

/// The JSON of the field at `path`: `Ok(None)` when a part is not there (Debezium skips the field), an error when
/// a struct on the way is null.
fn lookup<'a>(json: &'a [u8], path: &[String], deleted: bool) -> Result<Option<&'a [u8]>, String> {
    let mut current = json;
    for (depth, part) in path.iter().enumerate() {
        let part = resolved(part, deleted);
        let Some(fields) = members(current) else { return Ok(None) };
        let Some(member) = fields.iter().find(|m| name(current, m) == part) else { return Ok(None) };
        let value = &current[member.value.clone()];
        if depth + 1 < path.len() && value == b"null" {
            return Err(format!(
                "Unprocessable message: `{}` is null, so `{}` cannot be read (Debezium: NullPointerException)",
                path[..=depth].join("."),
                path.join(".")
            ));
        }
        current = value;
    }
    Ok(Some(current))
}

/// Java's `hashCode()` of the object Kafka Connect holds for a value of this type.
fn java_hash(raw: &[u8], field_type: Option<&FieldType>) -> Result<i32, String> {
    let unreadable = || format!("the value `{}` does not match its schema", String::from_utf8_lossy(raw));
    let number = || std::str::from_utf8(raw).ok().and_then(|t| t.parse::<i64>().ok()).ok_or_else(unreadable);
    let float =
        || std::str::from_utf8(raw).ok().and_then(|t| t.trim_matches('"').parse::<f64>().ok()).ok_or_else(unreadable);
    let text = || serde_json::from_slice::<String>(raw).map_err(|_| unreadable());
    let long_hash = |v: i64| ((v as u64) ^ ((v as u64) >> 32)) as i32;
    let Some(t) = field_type else {
        return match raw.first() {
            Some(b'"') => Ok(string_hash(&text()?)),
            Some(b't') => Ok(1231),
            Some(b'f') => Ok(1237),
            Some(b'{' | b'[') => Err("Sluice cannot hash a struct, map or array as Java does".into()),
            _ if raw.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) => Ok(double_hash(float()?)),
            _ => {
                let n = number()?;
                Ok(i32::try_from(n).unwrap_or_else(|_| long_hash(n)))
            }
        };
    };
    Ok(match (t.kind.as_str(), t.logical.as_deref()) {
        ("int32", Some("org.apache.kafka.connect.data.Date")) => long_hash(number()?.saturating_mul(86_400_000)),
        ("int32", Some("org.apache.kafka.connect.data.Time")) => long_hash(number()?),
        ("int8" | "int16" | "int32", _) => number()? as i32,
        ("int64", _) => long_hash(number()?),
        ("float32", _) => {
            let f = float()? as f32;
            (if f.is_nan() { 0x7fc0_0000 } else { f.to_bits() }) as i32
        }
        ("float64", _) => double_hash(float()?),
        ("boolean", _) => {
            if raw == b"true" {
                1231
            } else {
                1237
            }
        }
        ("string", _) => string_hash(&text()?),
        ("bytes", logical) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(text()?).map_err(|_| unreadable())?;
            if logical == Some(DECIMAL) {
                let scale: i32 = t.scale.as_deref().unwrap_or("0").parse().map_err(|_| unreadable())?;
                decimal_hash(&bytes, scale)?
            } else {
                // `ByteBuffer.hashCode()`: the bytes from last to first.
                bytes.iter().rev().fold(1i32, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(*b as i8)))
            }
        }
        (other, _) => return Err(format!("Sluice cannot hash a value of type {other} as Java does")),
    })
}

fn double_hash(d: f64) -> i32 {
    let bits = if d.is_nan() { 0x7ff8_0000_0000_0000 } else { d.to_bits() };
    (bits ^ (bits >> 32)) as i32
}

/// `String.hashCode()`: over UTF-16 code units.
pub(super) fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// `BigDecimal.hashCode()`: `31 * unscaled.hashCode() + scale`, the `BigInteger`'s hash taken over the 32-bit
/// words of its magnitude, times its sign.
fn decimal_hash(bytes: &[u8], scale: i32) -> Result<i32, String> {
    if bytes.len() > 16 {
        return Err(format!("a Decimal of {} bytes is beyond the 38 digits Sluice hashes", bytes.len()));
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut full = [fill; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    let unscaled = i128::from_be_bytes(full);
    let magnitude = unscaled.unsigned_abs().to_be_bytes();
    let hash = magnitude
        .chunks(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .skip_while(|w| *w == 0)
        .fold(0i32, |h, w| h.wrapping_mul(31).wrapping_add(w as i32));
    let signed = hash.wrapping_mul(unscaled.signum() as i32);
    Ok(signed.wrapping_mul(31).wrapping_add(scale))
}

/// Debezium's `MurmurHash3.hash(byte[])`: MurmurHash3 x64, seed 9001, the top 32 bits of its first 64-bit half.
/// The tail bytes are widened with their sign, as Java's `(long) key[i]` does.
pub(super) fn murmur(key: &[u8]) -> i32 {
    const SEED: u64 = 9001;
    let mut h1: u64 = 0x9368_e53c_2f6a_f274 ^ SEED;
    let mut h2: u64 = 0x586d_cd20_8f7c_d3fd ^ SEED;
    let mut c1: u64 = 0x87c3_7b91_1142_53d5;
    let mut c2: u64 = 0x4cf5_ad43_2745_937f;
    let mut mix = |mut k1: u64, mut k2: u64, h1: &mut u64, h2: &mut u64| {
        k1 = k1.wrapping_mul(c1).rotate_left(23).wrapping_mul(c2);
        *h1 ^= k1;
        *h1 = h1.wrapping_add(*h2);
        *h2 = h2.rotate_left(41);
        k2 = k2.wrapping_mul(c2).rotate_left(23).wrapping_mul(c1);
        *h2 ^= k2;
        *h2 = h2.wrapping_add(*h1);
        *h1 = h1.wrapping_mul(3).wrapping_add(0x52dc_e729);
        *h2 = h2.wrapping_mul(3).wrapping_add(0x3849_5ab5);
        c1 = c1.wrapping_mul(5).wrapping_add(0x7b7d_159c);
        c2 = c2.wrapping_mul(5).wrapping_add(0x6bce_6396);
    };
    let blocks = key.chunks_exact(16);
    let tail = blocks.remainder();
    for block in blocks {
        let k1 = u64::from_le_bytes(block[..8].try_into().unwrap_or_default());
        let k2 = u64::from_le_bytes(block[8..].try_into().unwrap_or_default());
        mix(k1, k2, &mut h1, &mut h2);
    }
    if !tail.is_empty() {
        let (mut k1, mut k2) = (0u64, 0u64);
        for (i, b) in tail.iter().enumerate() {
            let widened = i64::from(*b as i8) as u64;
            if i < 8 {
                k1 ^= widened << (8 * i);
            } else {
                k2 ^= widened << (8 * (i - 8));
            }
        }
        mix(k1, k2, &mut h1, &mut h2);
    }
    h2 ^= key.len() as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    (h1 >> 32) as i32
}

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests;
