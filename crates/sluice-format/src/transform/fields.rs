//! Kafka Connect's transforms that read or change the fields of a record's key or value struct: `ReplaceField`,
//! `InsertField`, `MaskField`, `ExtractField`, `HeaderFrom`, `HoistField`, `SetSchemaMetadata` and `Flatten` (each
//! as `$Value` and `$Key`), `ValueToKey` and Debezium's `ByLogicalTableRouter`, on whatever struct the record
//! carries — the envelope, or the row `ExtractNewRecordState` made.
//!
//! Why on the encoded JSON, and how that stays cheap: these transforms run after the encoder (they must see the
//! envelope as well as the unwrapped row, and the topic a router gave), so they read the JSON the encoder wrote.
//! They only ever touch the top-level members of that object, so a scan finds each member's name and the byte range
//! of its value, and the new object is assembled from those ranges: values are copied byte for byte, never parsed
//! and printed again (a Java-printed double, a decimal's base64, stay exactly as they were). The schema
//! (`schemas.enable`) is the same for every record of a table version and is shared (`Arc`), so it is rewritten
//! once per schema and cached by that `Arc`. None of this runs unless such a transform is configured.
//!
//! The schema is rebuilt as Kafka's `SchemaUtil.copySchemaBasics` rebuilds it: name, version and parameters kept,
//! and no longer optional.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;
use sluice_core::{Payload, Record};

use crate::json;

/// One member of a JSON object: the range of its name (with the quotes) and of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) key: Range<usize>,
    pub(super) value: Range<usize>,
}

/// The members of the JSON object `json`, or `None` when it is not one.
pub(super) fn members(json: &[u8]) -> Option<Vec<Member>> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        i = skip_ws(json, i);
        match json.get(i)? {
            b'}' if out.is_empty() => return (skip_ws(json, i + 1) == json.len()).then_some(out),
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(json, i)?;
        let key = i..key_end;
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        let end = value_end(json, i)?;
        out.push(Member { key, value: i..end });
        i = skip_ws(json, end);
        match json.get(i)? {
            b',' => i += 1,
            b'}' => return (skip_ws(json, i + 1) == json.len()).then_some(out),
            _ => return None,
        }
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while matches!(json.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// With `i` at an opening quote: the index just after the closing one.
fn string_end(json: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// With `i` at a value's first byte: the index just after it.
fn value_end(json: &[u8], i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => string_end(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match json.get(j)? {
                    b'"' => {
                        j = string_end(json, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while json.get(j).is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// A member's name, unescaped.
/// Appends `"<field>":null` to the object being written in `out` for each of `wanted` that `fields` (the members
/// of `json`) lack: a schemaless value gets every field a transform names, as Kafka's map-based transforms put them.
pub(super) fn append_missing_as_null<'a>(
    out: &mut Vec<u8>,
    json: &[u8],
    fields: &[Member],
    wanted: impl IntoIterator<Item = &'a str>,
) {
    for field in wanted {
        if !fields.iter().any(|m| name(json, m) == field) {
            if out.len() > 1 {
                out.push(b',');
            }
            json::string(out, field);
            out.extend_from_slice(b":null");
        }
    }
}

pub(super) fn name<'a>(json: &'a [u8], member: &Member) -> Cow<'a, str> {
    let quoted = &json[member.key.clone()];
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains(&b'\\') {
        if let Ok(plain) = std::str::from_utf8(inner) {
            return Cow::Borrowed(plain);
        }
    }
    serde_json::from_slice::<String>(quoted).map_or_else(|_| String::from_utf8_lossy(inner), Cow::Owned)
}

/// Which struct of the record a transform works on (`$Key` or `$Value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub fn suffix(self) -> &'static str {
        match self {
            Side::Key => "Key",
            Side::Value => "Value",
        }
    }
}

/// Rewritten schemas, by the schema they were made from (held, so its address is not reused while cached).
#[derive(Debug, Default)]
pub struct SchemaCache(HashMap<usize, (Schema, Option<Schema>)>);

/// A Connect schema as JSON, shared by the records of a table version.
pub(super) type Schema = Arc<[u8]>;

pub(super) const SCHEMA_CACHE_ENTRIES: usize = 256;

impl SchemaCache {
    pub(super) fn get_or(
        &mut self,
        schema: &Arc<[u8]>,
        make: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
    ) -> Option<Arc<[u8]>> {
        let address = Arc::as_ptr(schema) as *const u8 as usize;
        if let Some((held, made)) = self.0.get(&address) {
            if Arc::ptr_eq(held, schema) {
                return made.clone();
            }
        }
        if self.0.len() >= SCHEMA_CACHE_ENTRIES {
            self.0.clear();
        }
        let made: Option<Arc<[u8]>> = make(schema).map(Arc::from);
        self.0.insert(address, (schema.clone(), made.clone()));
        made
    }
}

/// Rewrites a struct schema's `fields` with `edit`, as `copySchemaBasics` rebuilds it (no longer optional).
pub(super) fn edit_struct_schema(schema: &[u8], edit: impl FnOnce(&mut Vec<Value>)) -> Option<Vec<u8>> {
    let mut schema: Value = serde_json::from_slice(schema).ok()?;
    let object = schema.as_object_mut()?;
    if object.get("type")? != "struct" {
        return None;
    }
    edit(object.get_mut("fields")?.as_array_mut()?);
    object.insert("optional".into(), Value::Bool(false));
    serde_json::to_vec(&schema).ok()
}

/// A field schema's name.
pub(super) fn field_name(field: &Value) -> &str {
    field.get("field").and_then(Value::as_str).unwrap_or_default()
}

pub(super) fn operand_ref(record: &Record, side: Side) -> &Option<Payload> {
    match side {
        Side::Key => &record.key,
        Side::Value => &record.value,
    }
}

/// The struct a transform changes.
pub(super) fn operand(record: &mut Record, side: Side) -> &mut Option<Payload> {
    match side {
        Side::Key => &mut record.key,
        Side::Value => &mut record.value,
    }
}

/// What `ReplaceField` keeps and renames: the fields `include` names (all when empty) that `exclude` does not,
/// renamed per `renames`. Kafka's semantics: exclusion wins over inclusion, and both name the fields as they are
/// before renaming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSelection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub renames: Vec<(String, String)>,
}

impl FieldSelection {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name) && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.iter().find(|(from, _)| from == name).map_or(name, |(_, to)| to.as_str())
    }
}

/// `ReplaceField$Key` / `$Value`.
#[derive(Debug)]
pub struct ReplaceField {
    pub side: Side,
    pub selection: FieldSelection,
    pub schemas: SchemaCache,
}

impl ReplaceField {
    /// Applies the transform; an error when the struct is not a JSON object. A null struct passes unchanged.
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let replaced = self.replaced(payload)?;
        *operand(record, side) = Some(replaced);
        Ok(())
    }

    fn replaced(&mut self, payload: &Payload) -> Result<Payload, String> {
        let (json, schema) = struct_parts(payload, self.side)?;
        let fields = members(json).ok_or_else(|| not_a_struct(self.side))?;
        let selection = &self.selection;
        let mut out = Vec::with_capacity(json.len());
        out.push(b'{');
        for member in &fields {
            let name = name(json, member);
            if !selection.keeps(&name) {
                continue;
            }
            if out.len() > 1 {
                out.push(b',');
            }
            match selection.renames.iter().find(|(from, _)| *from == *name) {
                Some((_, to)) => json::string(&mut out, to),
                None => out.extend_from_slice(&json[member.key.clone()]),
            }
            out.push(b':');
            out.extend_from_slice(&json[member.value.clone()]);
        }
        out.push(b'}');
        let Some(schema) = schema else { return Ok(Payload::Json(out)) };
        let schema = self
            .schemas
            .get_or(schema, |schema| {
                edit_struct_schema(schema, |fields| {
                    fields.retain(|f| selection.keeps(field_name(f)));
                    for f in fields.iter_mut() {
                        let to = selection.renamed(field_name(f)).to_string();
                        f["field"] = Value::String(to);
                    }
                })
            })
            .ok_or_else(|| not_a_struct(self.side))?;
        Ok(Payload::JsonWithSchema { schema, payload: out })
    }
}

/// A field `InsertField` adds: its name and whether it is optional (`?`, the default) or required (`!`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insertion {
    pub name: String,
    pub optional: bool,
}

impl Insertion {
    /// Kafka's `InsertionSpec.parse`: a trailing `?` or `!` is the optionality, not part of the name.
    pub fn parse(spec: &str) -> Insertion {
        match (spec.strip_suffix('?'), spec.strip_suffix('!')) {
            (Some(name), _) => Insertion { name: name.into(), optional: true },
            (_, Some(name)) => Insertion { name: name.into(), optional: false },
            _ => Insertion { name: spec.into(), optional: true },
        }
    }
}

/// The schema type of an inserted timestamp: Connect's `Timestamp` (int64 milliseconds).
const TIMESTAMP: &str = "timestamp";

/// `InsertField`: the record's topic, partition and timestamp, and a static string, as new fields.
#[derive(Debug)]
pub struct InsertField {
    pub side: Side,
    pub topic: Option<Insertion>,
    pub partition: Option<Insertion>,
    pub timestamp: Option<Insertion>,
    pub static_field: Option<(Insertion, String)>,
    pub schemas: SchemaCache,
}

impl InsertField {
    /// Applies the transform; an error when the struct is not a JSON object. A null struct passes unchanged.
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let inserted = self.inserted(payload, record)?;
        *operand(record, side) = Some(inserted);
        Ok(())
    }

    /// The added fields in Kafka's order, with their JSON values (`None`: null) and schema types.
    fn additions(&self, record: &Record) -> Vec<(&Insertion, Option<Vec<u8>>, &'static str)> {
        let mut out = Vec::new();
        if let Some(field) = &self.topic {
            let mut v = Vec::new();
            json::string(&mut v, &record.topic);
            out.push((field, Some(v), "string"));
        }
        if let Some(field) = &self.partition {
            let v = record.partition.map(|p| p.to_string().into_bytes());
            out.push((field, v, "int32"));
        }
        if let Some(field) = &self.timestamp {
            let v = Some(record.timestamp_ms.to_string().into_bytes());
            out.push((field, v, TIMESTAMP));
        }
        if let Some((field, value)) = &self.static_field {
            let mut v = Vec::new();
            json::string(&mut v, value);
            out.push((field, Some(v), "string"));
        }
        out
    }

    fn inserted(&mut self, payload: &Payload, record: &Record) -> Result<Payload, String> {
        let (json, schema) = struct_parts(payload, self.side)?;
        let fields = members(json).ok_or_else(|| not_a_struct(self.side))?;
        let additions = self.additions(record);
        let mut out = Vec::with_capacity(json.len() + 64);
        out.push(b'{');
        // A field of the same name is replaced, in place (Kafka's schemaless `Map.put`).
        for member in &fields {
            let existing = name(json, member);
            let replaced = additions.iter().find(|(f, _, _)| f.name == *existing);
            if schema.is_none() && replaced.is_some_and(|(_, v, _)| v.is_none()) {
                continue;
            }
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&json[member.key.clone()]);
            out.push(b':');
            match replaced {
                Some((_, Some(v), _)) => out.extend_from_slice(v),
                Some((_, None, _)) => out.extend_from_slice(b"null"),
                None => out.extend_from_slice(&json[member.value.clone()]),
            }
        }
        for (field, value, _) in &additions {
            if fields.iter().any(|m| name(json, m) == field.name) {
                continue;
            }
            // Schemaless, Kafka leaves out a partition or timestamp the record lacks.
            if value.is_none() && schema.is_none() {
                continue;
            }
            if out.len() > 1 {
                out.push(b',');
            }
            json::string(&mut out, &field.name);
            out.push(b':');
            out.extend_from_slice(value.as_deref().unwrap_or(b"null"));
        }
        out.push(b'}');
        let Some(schema) = schema else { return Ok(Payload::Json(out)) };
        let heads: Vec<(String, bool, &'static str)> =
            additions.iter().map(|(f, _, head)| (f.name.clone(), f.optional, *head)).collect();
        let made = |schema: &[u8]| {
            edit_struct_schema(schema, |fields| {
                for (name, optional, head) in heads {
                    // Kafka's JsonConverter writes type, optional, then a logical type's name and version.
                    let text = match head {
                        TIMESTAMP => format!(
                            r#"{{"type":"int64","optional":{optional},"name":"org.apache.kafka.connect.data.Timestamp","version":1}}"#
                        ),
                        plain => format!(r#"{{"type":"{plain}","optional":{optional}}}"#),
                    };
                    let Ok(mut field) = serde_json::from_str::<Value>(&text) else { continue };
                    field["field"] = Value::String(name.clone());
                    match fields.iter_mut().find(|f| field_name(f) == name) {
                        Some(existing) => *existing = field,
                        None => fields.push(field),
                    }
                }
            })
        };
        let schema = self.schemas.get_or(schema, made).ok_or_else(|| not_a_struct(self.side))?;
        Ok(Payload::JsonWithSchema { schema, payload: out })
    }
}

/// A struct field's Connect type, from its schema: `type`, and a logical type's `name` and `scale`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FieldType {
    pub(super) kind: String,
    pub(super) logical: Option<String>,
    pub(super) scale: Option<String>,
}

/// Each field's type, by the schema it was read from.
#[derive(Debug, Default)]
pub struct FieldTypes(HashMap<usize, (Schema, Types)>);

/// The type of each field of a struct, by name.
pub(super) type Types = Arc<HashMap<String, FieldType>>;

impl FieldTypes {
    pub(super) fn of(&mut self, schema: &Schema) -> Types {
        let address = Arc::as_ptr(schema) as *const u8 as usize;
        if let Some((held, types)) = self.0.get(&address) {
            if Arc::ptr_eq(held, schema) {
                return types.clone();
            }
        }
        if self.0.len() >= SCHEMA_CACHE_ENTRIES {
            self.0.clear();
        }
        let parsed: Value = serde_json::from_slice(schema).unwrap_or(Value::Null);
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(String::from);
        let types: HashMap<String, FieldType> = parsed
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|f| {
                let scale = f.get("parameters").and_then(|p| p.get("scale")).and_then(Value::as_str).map(String::from);
                let kind = FieldType { kind: text(f, "type").unwrap_or_default(), logical: text(f, "name"), scale };
                (field_name(f).to_string(), kind)
            })
            .collect();
        let types = Arc::new(types);
        self.0.insert(address, (schema.clone(), types.clone()));
        types
    }
}

/// `MaskField$Key` / `$Value`: each named field's value replaced by its type's "empty" value (0, 0.0, false, "",
/// an empty array or map) or by `replacement` converted to its type, as Kafka's `MaskField` does. The type is the
/// schema's where there is one, else the JSON value's, as Kafka's JsonConverter reads it without schemas (a whole
/// number a Long, a fraction a Double). A null stays null.
#[derive(Debug)]
pub struct MaskField {
    pub side: Side,
    pub fields: Vec<String>,
    pub replacement: Option<String>,
    pub types: FieldTypes,
}

/// Connect's `Decimal` logical type.
pub(super) const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";

impl MaskField {
    /// Applies the transform. Errors are Kafka's: a type that has no empty value (bytes, a struct, a `Decimal`
    /// whose scale is not 0), a replacement for a type that takes none, or one that is not a number of the type.
    /// A null struct passes unchanged (Kafka's MaskField fails on it).
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let masked = self.masked(payload)?;
        *operand(record, side) = Some(masked);
        Ok(())
    }

    fn masked(&mut self, payload: &Payload) -> Result<Payload, String> {
        let (json, schema) = struct_parts(payload, self.side)?;
        let fields = members(json).ok_or_else(|| not_a_struct(self.side))?;
        let types = schema.map(|s| self.types.of(s));
        let mut out = Vec::with_capacity(json.len());
        out.push(b'{');
        for member in &fields {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&json[member.key.clone()]);
            out.push(b':');
            let value = &json[member.value.clone()];
            let name = name(json, member);
            if self.fields.iter().any(|f| *f == *name) {
                let field_type = types.as_ref().and_then(|t| t.get(name.as_ref()));
                self.mask(&name, value, field_type, &mut out)?;
            } else {
                out.extend_from_slice(value);
            }
        }
        // Without a schema Kafka puts every named field, so one the value lacks appears as null.
        if schema.is_none() {
            append_missing_as_null(&mut out, json, &fields, self.fields.iter().map(String::as_str));
        }
        out.push(b'}');
        Ok(match schema {
            Some(schema) => Payload::JsonWithSchema { schema: schema.clone(), payload: out },
            None => Payload::Json(out),
        })
    }

    fn mask(&self, field: &str, value: &[u8], field_type: Option<&FieldType>, out: &mut Vec<u8>) -> Result<(), String> {
        if value == b"null" {
            out.extend_from_slice(value);
            return Ok(());
        }
        enum Kind {
            Integer,
            Float,
            Boolean,
            Text,
            List,
            Map,
            Date,
            ZeroDecimal,
        }
        let kind = match field_type {
            Some(t) => match (t.kind.as_str(), t.logical.as_deref()) {
                ("bytes", Some(DECIMAL)) if t.scale.as_deref().is_none_or(|s| s == "0") => Kind::ZeroDecimal,
                (_, Some(DECIMAL)) => {
                    return Err(format!("field `{field}`: a Decimal of scale {} cannot be masked with zero (Kafka: BigDecimal has mismatching scale)", t.scale.as_deref().unwrap_or("?")))
                }
                ("int32" | "int64", Some(l)) if l.starts_with("org.apache.kafka.connect.data.") => Kind::Date,
                ("int8" | "int16" | "int32" | "int64", _) => Kind::Integer,
                ("float32" | "float64", _) => Kind::Float,
                ("boolean", _) => Kind::Boolean,
                ("string", _) => Kind::Text,
                ("array", _) => Kind::List,
                ("map", _) => Kind::Map,
                (other, _) => return Err(format!("field `{field}`: cannot mask a value of type {other}")),
            },
            None => match value.first() {
                Some(b'"') => Kind::Text,
                Some(b't' | b'f') => Kind::Boolean,
                Some(b'[') => Kind::List,
                Some(b'{') => Kind::Map,
                _ if value.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) => Kind::Float,
                _ => Kind::Integer,
            },
        };
        let Some(replacement) = &self.replacement else {
            let empty: &[u8] = match kind {
                Kind::Integer | Kind::Date => b"0",
                Kind::Float => b"0.0",
                Kind::Boolean => b"false",
                Kind::Text => b"\"\"",
                Kind::List => b"[]",
                Kind::Map => b"{}",
                Kind::ZeroDecimal => b"\"AA==\"",
            };
            out.extend_from_slice(empty);
            return Ok(());
        };
        match kind {
            Kind::Text => json::string(out, replacement),
            Kind::Integer => {
                let n: i64 = replacement
                    .parse()
                    .map_err(|_| format!("field `{field}`: unable to convert `{replacement}` to a whole number"))?;
                json::int(out, n);
            }
            Kind::Float => {
                let n: f64 = replacement
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| format!("field `{field}`: unable to convert `{replacement}` to a number"))?;
                out.extend_from_slice(format!("{n:?}").as_bytes());
            }
            _ => return Err(format!("field `{field}`: this type cannot be masked with a custom replacement")),
        }
        Ok(())
    }
}

/// A field's schema in a struct schema, as JSON text without its `field` name.
fn field_schema(schema: &[u8], wanted: &str) -> Option<Vec<u8>> {
    let parsed: Value = serde_json::from_slice(schema).ok()?;
    let mut field = parsed.get("fields")?.as_array()?.iter().find(|f| field_name(f) == wanted)?.clone();
    field.as_object_mut()?.remove("field");
    serde_json::to_vec(&field).ok()
}

/// `ExtractField$Key` / `$Value`: the struct is replaced by one of its fields' value (and schema). A null struct
/// passes unchanged; without a schema a missing field gives null; with one it is an error (Kafka: "Unknown field").
#[derive(Debug)]
pub struct ExtractField {
    pub side: Side,
    pub field: String,
    pub schemas: SchemaCache,
}

impl ExtractField {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let extracted = self.extracted(payload)?;
        *operand(record, side) = Some(extracted);
        Ok(())
    }

    fn extracted(&mut self, payload: &Payload) -> Result<Payload, String> {
        let (json, schema) = struct_parts(payload, self.side)?;
        let fields = members(json).ok_or_else(|| not_a_struct(self.side))?;
        let value = fields
            .iter()
            .find(|m| name(json, m) == self.field.as_str())
            .map_or(&b"null"[..], |m| &json[m.value.clone()])
            .to_vec();
        let Some(schema) = schema else { return Ok(Payload::Json(value)) };
        let field = &self.field;
        let schema = self
            .schemas
            .get_or(schema, |schema| field_schema(schema, field))
            .ok_or_else(|| format!("Unknown field: {field}"))?;
        Ok(Payload::JsonWithSchema { schema, payload: value })
    }
}

/// `ValueToKey`: the key becomes a struct of the value's `fields`, in the order given, with their schemas (a
/// struct without a name, as Kafka's `SchemaBuilder.struct()` makes it). The key has a schema when the record's key
/// had one (`debezium.format.key.schemas.enable`; for a table without a key, when the value has one). A null value
/// leaves the key as it is (Kafka's fails).
#[derive(Debug)]
pub struct ValueToKey {
    pub fields: Vec<String>,
    pub schemas: SchemaCache,
}

impl ValueToKey {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let Some(value) = &record.value else { return Ok(()) };
        let (json, schema) = struct_parts(value, Side::Value)?;
        let fields = members(json).ok_or_else(|| not_a_struct(Side::Value))?;
        let mut key = Vec::with_capacity(64);
        key.push(b'{');
        for wanted in &self.fields {
            if key.len() > 1 {
                key.push(b',');
            }
            json::string(&mut key, wanted);
            key.push(b':');
            match fields.iter().find(|m| name(json, m) == wanted.as_str()) {
                Some(m) => key.extend_from_slice(&json[m.value.clone()]),
                None if schema.is_some() => return Err(format!("Field does not exist: {wanted}")),
                None => key.extend_from_slice(b"null"),
            }
        }
        key.push(b'}');
        let key_schemas = match &record.key {
            Some(Payload::JsonWithSchema { .. }) => true,
            Some(_) => false,
            None => schema.is_some(),
        };
        if !key_schemas {
            record.key = Some(Payload::Json(key));
            return Ok(());
        }
        let key_schema = match schema {
            // Kafka's JsonConverter writes a schemaless key under `schemas.enable` with a null schema.
            None => Arc::from(&b"null"[..]),
            Some(schema) => {
                let wanted = &self.fields;
                self.schemas
                    .get_or(schema, |schema| {
                        let parsed: Value = serde_json::from_slice(schema).ok()?;
                        let all = parsed.get("fields")?.as_array()?;
                        let picked: Option<Vec<Value>> =
                            wanted.iter().map(|w| all.iter().find(|f| field_name(f) == w).cloned()).collect();
                        serde_json::to_vec(&serde_json::json!({"type": "struct", "fields": picked?, "optional": false}))
                            .ok()
                    })
                    .ok_or_else(|| format!("Field does not exist: one of {}", wanted.join(", ")))?
            }
        };
        record.key = Some(Payload::JsonWithSchema { schema: key_schema, payload: key });
        Ok(())
    }
}

/// `HeaderFrom$Key` / `$Value`: each of `fields` copied (or, with `move`, moved) to the header of the same position
/// in `headers`. A header's value is the field's text: a string unquoted, anything else as JSON, as Kafka's
/// `SimpleHeaderConverter` writes it; a null field makes no header (Sluice's headers have no null), a missing one
/// neither. A null struct passes unchanged (Kafka's fails).
#[derive(Debug)]
pub struct HeaderFrom {
    pub side: Side,
    pub fields: Vec<String>,
    pub headers: Vec<String>,
    pub moving: bool,
    pub schemas: SchemaCache,
}

impl HeaderFrom {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let (json, schema) = struct_parts(payload, side)?;
        let members = members(json).ok_or_else(|| not_a_struct(side))?;
        let mut added = Vec::new();
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let Some(member) = members.iter().find(|m| name(json, m) == field.as_str()) else { continue };
            let value = &json[member.value.clone()];
            let text = match value.first() {
                Some(b'n') => continue,
                Some(b'"') => serde_json::from_slice::<String>(value).map(String::into_bytes).unwrap_or_default(),
                _ => value.to_vec(),
            };
            added.push((header.clone(), text));
        }
        if self.moving {
            let mut out = Vec::with_capacity(json.len());
            out.push(b'{');
            for member in &members {
                if self.fields.iter().any(|f| name(json, member) == f.as_str()) {
                    continue;
                }
                if out.len() > 1 {
                    out.push(b',');
                }
                out.extend_from_slice(&json[member.key.clone()]);
                out.push(b':');
                out.extend_from_slice(&json[member.value.clone()]);
            }
            out.push(b'}');
            let moved = match schema {
                None => Payload::Json(out),
                Some(schema) => {
                    let fields = &self.fields;
                    let schema = self
                        .schemas
                        .get_or(schema, |schema| {
                            edit_struct_schema(schema, |all| all.retain(|f| !fields.iter().any(|n| n == field_name(f))))
                        })
                        .ok_or_else(|| not_a_struct(side))?;
                    Payload::JsonWithSchema { schema, payload: out }
                }
            };
            *operand(record, side) = Some(moved);
        }
        record.headers.extend(added);
        Ok(())
    }
}

/// `schema.name.adjustment.mode`: how `ByLogicalTableRouter` makes schema names from the new topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaNameAdjustment {
    /// Names as they are (the default).
    None,
    /// Avro-valid names: a character Avro does not allow becomes `_` (Debezium's `SchemaNameAdjuster`).
    Avro,
}

impl SchemaNameAdjustment {
    fn adjust(self, name: &str) -> String {
        match self {
            SchemaNameAdjustment::None => name.to_string(),
            SchemaNameAdjustment::Avro => name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let valid = c.is_ascii_alphabetic() || c == '_' || (i > 0 && (c.is_ascii_digit() || c == '.'));
                    if valid {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
        }
    }
}

/// Debezium's `ByLogicalTableRouter`: records of topics matching `topic_regex` go to the topic its replacement
/// names (Java's `matches` and `replaceFirst`, as `RegexRouter`), with the schema names that follow from it
/// (`<topic>.Key`, and for an envelope `<topic>.Value` and `<topic>.Envelope`), and with `key.enforce.uniqueness` a
/// key field naming the table the record came from, so equal keys of different tables stay distinct.
#[derive(Debug)]
pub struct LogicalTableRouter {
    pub topic_whole: regex::Regex,
    pub topic_find: regex::Regex,
    pub topic_replacement: super::java::Replacement,
    pub enforce_uniqueness: bool,
    pub key_field_name: String,
    /// `key.field.regex` (whole-match and find forms) and `key.field.replacement`.
    pub key_field: Option<(regex::Regex, regex::Regex, super::java::Replacement)>,
    pub adjustment: SchemaNameAdjustment,
    pub topics: HashMap<Arc<str>, (Arc<str>, String)>,
    pub key_schemas: SchemaCache,
    pub value_schemas: SchemaCache,
}

impl LogicalTableRouter {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let old = record.topic.clone();
        let (topic, identifier) = match self.topics.get(&old) {
            Some(hit) => hit.clone(),
            None => {
                if !self.topic_whole.is_match(&old) {
                    return Ok(());
                }
                let topic = super::java::replace_first(&self.topic_find, &self.topic_replacement, &old);
                if topic.is_empty() {
                    tracing::warn!(topic = %old, "ByLogicalTableRouter's topic.replacement gives an empty topic; the record keeps its topic");
                    return Ok(());
                }
                let identifier = match &self.key_field {
                    Some((whole, find, replacement)) if whole.is_match(&old) => {
                        super::java::replace_first(find, replacement, &old)
                    }
                    _ => old.to_string(),
                };
                if self.topics.len() >= SCHEMA_CACHE_ENTRIES {
                    self.topics.clear();
                }
                let made = (Arc::<str>::from(topic), identifier);
                self.topics.insert(old.clone(), made.clone());
                made
            }
        };
        if let Some(key) = record.key.take() {
            let rewritten = self.key(&key, &topic, &identifier);
            record.key = Some(rewritten.unwrap_or(key));
        }
        let renamed = match &record.value {
            Some(Payload::JsonWithSchema { schema, payload }) => {
                let adjustment = self.adjustment;
                let schema = self.value_schemas.get_or(schema, |schema| envelope_schema(schema, &topic, adjustment));
                schema.map(|schema| Payload::JsonWithSchema { schema, payload: payload.clone() })
            }
            _ => None,
        };
        if renamed.is_some() {
            record.value = renamed;
        }
        record.topic = topic;
        Ok(())
    }

    /// The key with the identifying field added and its schema renamed; `None` leaves it as it was (a key that is
    /// not a struct).
    fn key(&mut self, key: &Payload, topic: &str, identifier: &str) -> Option<Payload> {
        let (json, schema) = struct_parts(key, Side::Key).ok()?;
        let mut out = json.to_vec();
        if self.enforce_uniqueness {
            let fields = members(json)?;
            out.pop();
            if !fields.is_empty() {
                out.push(b',');
            }
            json::string(&mut out, &self.key_field_name);
            out.push(b':');
            json::string(&mut out, identifier);
            out.push(b'}');
        }
        let Some(schema) = schema else { return Some(Payload::Json(out)) };
        let (adjustment, enforce, field) = (self.adjustment, self.enforce_uniqueness, self.key_field_name.clone());
        let schema = self.key_schemas.get_or(schema, |schema| {
            let mut parsed: Value = serde_json::from_slice(schema).ok()?;
            let object = parsed.as_object_mut()?;
            if enforce {
                let fields = object.get_mut("fields")?.as_array_mut()?;
                fields.push(serde_json::json!({"type": "string", "optional": false, "field": field}));
            }
            object.insert("name".into(), Value::String(adjustment.adjust(&format!("{topic}.Key"))));
            serde_json::to_vec(&parsed).ok()
        })?;
        Some(Payload::JsonWithSchema { schema, payload: out })
    }
}

/// An envelope's schema renamed for a new topic: `before` and `after` become `<topic>.Value`, the envelope
/// `<topic>.Envelope`. `None` for a schema that is not an envelope (an unwrapped row, a message), which keeps its
/// own.
fn envelope_schema(schema: &[u8], topic: &str, adjustment: SchemaNameAdjustment) -> Option<Vec<u8>> {
    let mut parsed: Value = serde_json::from_slice(schema).ok()?;
    let object = parsed.as_object_mut()?;
    if !object.get("name")?.as_str()?.ends_with(".Envelope") {
        return None;
    }
    let value_name = adjustment.adjust(&format!("{topic}.Value"));
    for field in object.get_mut("fields")?.as_array_mut()? {
        if matches!(field_name(field), "before" | "after") {
            field["name"] = Value::String(value_name.clone());
        }
    }
    object.insert("name".into(), Value::String(adjustment.adjust(&format!("{topic}.Envelope"))));
    serde_json::to_vec(&parsed).ok()
}

/// `HoistField$Key` / `$Value`: the key or value wrapped in a struct of one field, `field`; with a schema, a struct
/// schema without a name holding the old schema as that field's. A null (a tombstone) passes unchanged (Kafka
/// wraps it, schemaless, as `{field: null}`).
#[derive(Debug)]
pub struct HoistField {
    pub side: Side,
    pub field: String,
    pub schemas: SchemaCache,
}

impl HoistField {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let (json, schema) = match payload {
            Payload::Json(bytes) => (bytes.as_slice(), None),
            Payload::JsonWithSchema { schema, payload } => (payload.as_slice(), Some(schema)),
            Payload::String(_) | Payload::Binary(_) => return Err(not_a_struct(side)),
        };
        let mut out = Vec::with_capacity(json.len() + self.field.len() + 5);
        out.push(b'{');
        json::string(&mut out, &self.field);
        out.push(b':');
        out.extend_from_slice(json);
        out.push(b'}');
        let hoisted = match schema {
            None => Payload::Json(out),
            Some(schema) => {
                let field = &self.field;
                let schema = self
                    .schemas
                    .get_or(schema, |inner| {
                        let mut inner: Value = serde_json::from_slice(inner).ok()?;
                        inner.as_object_mut()?.insert("field".into(), Value::String(field.clone()));
                        serde_json::to_vec(&serde_json::json!({"type": "struct", "fields": [inner], "optional": false}))
                            .ok()
                    })
                    .ok_or_else(|| not_a_struct(side))?;
                Payload::JsonWithSchema { schema, payload: out }
            }
        };
        *operand(record, side) = Some(hoisted);
        Ok(())
    }
}

/// `SetSchemaMetadata$Key` / `$Value`: the schema's `name` and/or `version` set; the payload is unchanged. It needs
/// a schema (`schemas.enable`), as Kafka's does; a null with no schema passes.
#[derive(Debug)]
pub struct SetSchemaMetadata {
    pub side: Side,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub schemas: SchemaCache,
}

impl SetSchemaMetadata {
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let updated = match operand_ref(record, side) {
            None => return Ok(()),
            Some(Payload::JsonWithSchema { schema, payload }) => {
                let (name, version) = (&self.name, self.version);
                let schema = self
                    .schemas
                    .get_or(schema, |schema| {
                        let mut parsed: Value = serde_json::from_slice(schema).ok()?;
                        let object = parsed.as_object_mut()?;
                        if let Some(name) = name {
                            object.insert("name".into(), Value::String(name.clone()));
                        }
                        if let Some(version) = version {
                            object.insert("version".into(), Value::from(version));
                        }
                        serde_json::to_vec(&parsed).ok()
                    })
                    .ok_or_else(|| not_a_struct(side))?;
                Payload::JsonWithSchema { schema, payload: payload.clone() }
            }
            Some(_) => return Err("Schema required for [updating schema metadata]".into()),
        };
        *operand(record, side) = Some(updated);
        Ok(())
    }
}

/// What `Flatten` learns from a struct schema, once per schema: the flattened schema, and for each nested struct
/// field (by its flattened name) the flattened names of the fields beneath it, written as null when it is null.
#[derive(Debug)]
struct FlatSchema {
    schema: Schema,
    structs: HashMap<String, Vec<String>>,
}

/// `Flatten$Key` / `$Value`: nested structs (maps, without a schema) become top-level fields named by their path,
/// joined with `delimiter`; arrays are left as they are. With a schema, a field under an optional struct becomes
/// optional, as in Kafka. A null passes unchanged.
#[derive(Debug)]
pub struct Flatten {
    pub side: Side,
    pub delimiter: String,
    flat: HashMap<usize, (Schema, Arc<FlatSchema>)>,
}

impl Flatten {
    pub fn new(side: Side, delimiter: String) -> Flatten {
        Flatten { side, delimiter, flat: HashMap::new() }
    }

    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let (json, schema) = struct_parts(payload, side)?;
        let flat = match schema {
            Some(schema) => Some(self.flat_schema(schema)?),
            None => None,
        };
        let mut out = Vec::with_capacity(json.len());
        out.push(b'{');
        self.flatten(json, "", flat.as_deref(), &mut out).ok_or_else(|| not_a_struct(side))?;
        out.push(b'}');
        let flattened = match flat {
            Some(flat) => Payload::JsonWithSchema { schema: flat.schema.clone(), payload: out },
            None => Payload::Json(out),
        };
        *operand(record, side) = Some(flattened);
        Ok(())
    }

    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    /// Appends the flattened members of the object `json` (without braces); `None` when it is not an object.
    fn flatten(&self, json: &[u8], prefix: &str, flat: Option<&FlatSchema>, out: &mut Vec<u8>) -> Option<()> {
        for member in members(json)? {
            let full = self.name(prefix, &name(json, &member));
            let value = &json[member.value.clone()];
            let nested = match flat {
                Some(flat) => flat.structs.get(&full).map(|leaves| (value == b"null", leaves)),
                None => (value.first() == Some(&b'{')).then_some((false, &EMPTY)),
            };
            match nested {
                Some((true, leaves)) => {
                    for leaf in leaves {
                        if out.len() > 1 {
                            out.push(b',');
                        }
                        json::string(out, leaf);
                        out.extend_from_slice(b":null");
                    }
                }
                Some((false, _)) => self.flatten(value, &full, flat, out)?,
                None => {
                    if out.len() > 1 {
                        out.push(b',');
                    }
                    json::string(out, &full);
                    out.push(b':');
                    out.extend_from_slice(value);
                }
            }
        }
        Some(())
    }

    fn flat_schema(&mut self, schema: &Schema) -> Result<Arc<FlatSchema>, String> {
        let address = Arc::as_ptr(schema) as *const u8 as usize;
        if let Some((held, flat)) = self.flat.get(&address) {
            if Arc::ptr_eq(held, schema) {
                return Ok(flat.clone());
            }
        }
        let mut parsed: Value = serde_json::from_slice(schema).map_err(|e| e.to_string())?;
        let optional = parsed.get("optional").and_then(Value::as_bool).unwrap_or(false);
        let nested = parsed.get("fields").and_then(Value::as_array).cloned().ok_or_else(|| not_a_struct(self.side))?;
        let mut fields = Vec::new();
        let mut structs = HashMap::new();
        self.flatten_schema(&nested, "", optional, &mut fields, &mut structs)?;
        let object = parsed.as_object_mut().ok_or_else(|| not_a_struct(self.side))?;
        object.insert("fields".into(), Value::Array(fields));
        object.insert("optional".into(), Value::Bool(false));
        let bytes = serde_json::to_vec(&parsed).map_err(|e| e.to_string())?;
        let flat = Arc::new(FlatSchema { schema: Arc::from(bytes), structs });
        if self.flat.len() >= SCHEMA_CACHE_ENTRIES {
            self.flat.clear();
        }
        self.flat.insert(address, (schema.clone(), flat.clone()));
        Ok(flat)
    }

    /// Kafka's `buildUpdatedSchema`: returns the flattened names of the leaves under these fields.
    fn flatten_schema(
        &self,
        nested: &[Value],
        prefix: &str,
        optional: bool,
        fields: &mut Vec<Value>,
        structs: &mut HashMap<String, Vec<String>>,
    ) -> Result<Vec<String>, String> {
        let mut leaves = Vec::new();
        for field in nested {
            let full = self.name(prefix, field_name(field));
            let field_optional = optional || field.get("optional").and_then(Value::as_bool).unwrap_or(false);
            match field.get("type").and_then(Value::as_str).unwrap_or_default() {
                "struct" => {
                    let inner = field.get("fields").and_then(Value::as_array).cloned().unwrap_or_default();
                    let under = self.flatten_schema(&inner, &full, field_optional, fields, structs)?;
                    leaves.extend(under.iter().cloned());
                    structs.insert(full, under);
                }
                "map" => {
                    return Err(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {full})"
                    ))
                }
                _ => {
                    let mut flat = field.clone();
                    flat["field"] = Value::String(full.clone());
                    if field_optional {
                        flat["optional"] = Value::Bool(true);
                    }
                    fields.push(flat);
                    leaves.push(full);
                }
            }
        }
        Ok(leaves)
    }
}

/// No leaves: a schemaless nested map has no schema to list them from.
static EMPTY: Vec<String> = Vec::new();

/// The JSON of a struct payload and its schema, when it has one.
pub(super) fn struct_parts(payload: &Payload, side: Side) -> Result<(&[u8], Option<&Schema>), String> {
    match payload {
        Payload::Json(bytes) => Ok((bytes, None)),
        Payload::JsonWithSchema { schema, payload } => Ok((payload, Some(schema))),
        Payload::String(_) | Payload::Binary(_) => Err(not_a_struct(side)),
    }
}

pub(super) fn not_a_struct(side: Side) -> String {
    let what = match side {
        Side::Key => "key",
        Side::Value => "value",
    };
    format!("the record's {what} is not a struct (a JSON object)")
}

#[cfg(test)]
pub(super) mod tests;
