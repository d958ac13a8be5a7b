//! Kafka Connect's transforms that change the type of a value: `Cast` and `TimestampConverter` (each as `$Value`
//! and `$Key`), on a top-level field of the key or value struct, or on the whole key or value.
//!
//! Why here and how: like the other field transforms (`super::fields`) they rewrite the encoded JSON's top level,
//! copying every member they do not convert byte for byte. A converted value is read as the Java object Kafka
//! Connect's JsonConverter would have made of it — by the field's schema where `schemas.enable` gives one (so an
//! `int32` is an `Integer`, a `Decimal` a `BigDecimal`, a Connect `Timestamp` a `java.util.Date`), else by the JSON
//! itself as the converter reads it without a schema (a whole number a `Long`, a fraction a `Double`) — and
//! converted with Java's rules (`Number.byteValue()` wraps, `Byte.parseByte` is strict, `Boolean.parseBoolean` is
//! true only for "true"). Each field's type is read once per schema, and the rewritten schema is made once per
//! schema and cached, so a record costs one scan and the conversions.
//!
//! Debezium's own time types (`io.debezium.time.Date`, `MicroTimestamp`, …) are plain `int32`/`int64` in the
//! Connect schema, so both transforms treat them as Kafka Connect does: as numbers (`Cast`), as a Unix time when
//! `int64` (`TimestampConverter`, read with `unix.precision`), and not a timestamp at all when `int32`.
//!
//! A value that cannot be converted is an error, as Kafka's `DataException` is: it stops the pipeline, naming the
//! transform, like every record transform's error.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};
use sluice_core::{Payload, Record};

use super::fields::{
    append_missing_as_null, members, name, operand, operand_ref, struct_parts, FieldType, FieldTypes, Schema,
    SchemaCache, Side, DECIMAL, SCHEMA_CACHE_ENTRIES,
};
use super::java::DateFormat;
use crate::json;

const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// A type `Cast` converts to (Kafka's `SUPPORTED_CAST_OUTPUT_TYPES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
}

impl CastType {
    /// The Connect schema type's name, as the JSON converter writes it.
    fn schema_type(self) -> &'static str {
        match self {
            CastType::Int8 => "int8",
            CastType::Int16 => "int16",
            CastType::Int32 => "int32",
            CastType::Int64 => "int64",
            CastType::Float32 => "float32",
            CastType::Float64 => "float64",
            CastType::Boolean => "boolean",
            CastType::String => "string",
        }
    }

    /// Kafka's `Schema.Type.valueOf(name.trim().toUpperCase())`, then its check that it is a type Cast makes.
    fn parse(name: &str) -> Result<CastType, String> {
        let upper = name.trim().to_ascii_uppercase();
        Ok(match upper.as_str() {
            "INT8" => CastType::Int8,
            "INT16" => CastType::Int16,
            "INT32" => CastType::Int32,
            "INT64" => CastType::Int64,
            "FLOAT32" => CastType::Float32,
            "FLOAT64" => CastType::Float64,
            "BOOLEAN" => CastType::Boolean,
            "STRING" => CastType::String,
            "BYTES" | "ARRAY" | "MAP" | "STRUCT" => {
                return Err(format!(
                    "Cast transformation does not support casting to {upper}; supported types are [INT8, INT16, \
                     INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
                ))
            }
            _ => return Err(format!("Invalid type found in casting spec: {}", name.trim())),
        })
    }
}

/// `Cast`'s `spec`: one type for the whole key or value, or `field:type` pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CastSpec {
    Whole(CastType),
    Fields(Vec<(String, CastType)>),
}

impl CastSpec {
    /// Kafka's `parseFieldTypes`: each entry split on `:` as Java's `String.split` splits (trailing empty parts
    /// dropped); one part is a whole-value type, which must then be the only entry; a later entry for the same
    /// field replaces an earlier one. Errors are Kafka's.
    pub fn parse(entries: &[String]) -> Result<CastSpec, String> {
        if entries.is_empty() {
            return Err("Must specify at least one field to cast.".into());
        }
        let mut whole = None;
        let mut fields: Vec<(String, CastType)> = Vec::new();
        for entry in entries {
            let mut parts: Vec<&str> = entry.split(':').collect();
            while parts.len() > 1 && parts.last() == Some(&"") {
                parts.pop();
            }
            match parts.as_slice() {
                [whole_type] => whole = Some(CastType::parse(whole_type)?),
                [field, field_type] => {
                    let (field, field_type) = (field.trim().to_string(), CastType::parse(field_type)?);
                    fields.retain(|(f, _)| *f != field);
                    fields.push((field, field_type));
                }
                _ => return Err(format!("Invalid rename mapping: {entry}")),
            }
        }
        match whole {
            Some(_) if entries.len() > 1 => {
                Err("Cast transformations that specify a type to cast the entire value to \
                                                 may ony specify a single cast in their spec"
                    .into())
            }
            Some(whole) => Ok(CastSpec::Whole(whole)),
            None => Ok(CastSpec::Fields(fields)),
        }
    }
}

/// A value as the Java object Kafka Connect's JsonConverter would make of it.
#[derive(Clone, Debug, PartialEq)]
enum Java {
    /// `Byte`, `Short`, `Integer` or `Long`.
    Integer(i64),
    Float(f32),
    Double(f64),
    Boolean(bool),
    Text(String),
    /// `byte[]` / `ByteBuffer`.
    Bytes(Vec<u8>),
    /// `BigDecimal`: unscaled value and scale.
    Decimal(i128, i32),
    /// `java.util.Date`, milliseconds since the epoch.
    Date(i64),
}

/// The Connect type of a value that has no schema, named as Kafka's messages name Java classes.
fn class_of(json: &[u8]) -> &'static str {
    match json.first() {
        Some(b'{') => "java.util.HashMap",
        Some(b'[') => "java.util.ArrayList",
        Some(b'"') => "java.lang.String",
        Some(b't' | b'f') => "java.lang.Boolean",
        _ if is_fraction(json) => "java.lang.Double",
        _ => "java.lang.Long",
    }
}

fn is_fraction(json: &[u8]) -> bool {
    json.iter().any(|c| matches!(c, b'.' | b'e' | b'E'))
}

/// A JSON string's text.
fn text(json: &[u8]) -> Option<String> {
    serde_json::from_slice(json).ok()
}

/// A float as the JSON converter reads one: a number, or the strings Jackson writes for NaN and the infinities.
fn double(json: &[u8]) -> Option<f64> {
    match json {
        b"\"NaN\"" => Some(f64::NAN),
        b"\"Infinity\"" => Some(f64::INFINITY),
        b"\"-Infinity\"" => Some(f64::NEG_INFINITY),
        _ => std::str::from_utf8(json).ok()?.parse().ok(),
    }
}

/// Reads a non-null JSON value as Java would hold it: by its schema's type when there is one, else as the JSON
/// converter reads a schemaless value. Errors name what Kafka's do.
fn read(json: &[u8], field_type: Option<&FieldType>) -> Result<Java, String> {
    let unreadable = || format!("the value `{}` does not match its schema", String::from_utf8_lossy(json));
    let number = || std::str::from_utf8(json).ok().and_then(|t| t.parse::<i64>().ok()).ok_or_else(unreadable);
    let Some(t) = field_type else {
        return match json.first() {
            Some(b'"') => text(json).map(Java::Text).ok_or_else(unreadable),
            Some(b't') => Ok(Java::Boolean(true)),
            Some(b'f') => Ok(Java::Boolean(false)),
            Some(b'{') => Err(unsupported_input("MAP")),
            Some(b'[') => Err(unsupported_input("ARRAY")),
            _ if is_fraction(json) => double(json).map(Java::Double).ok_or_else(unreadable),
            _ => number().map(Java::Integer),
        };
    };
    Ok(match (t.kind.as_str(), t.logical.as_deref()) {
        ("int32", Some(DATE)) => Java::Date(number()?.saturating_mul(MILLIS_PER_DAY)),
        ("int32", Some(TIME)) | ("int64", Some(TIMESTAMP)) => Java::Date(number()?),
        ("int8" | "int16" | "int32" | "int64", _) => Java::Integer(number()?),
        ("float32", _) => Java::Float(double(json).ok_or_else(unreadable)? as f32),
        ("float64", _) => Java::Double(double(json).ok_or_else(unreadable)?),
        ("boolean", _) => Java::Boolean(json == b"true"),
        ("string", _) => Java::Text(text(json).ok_or_else(unreadable)?),
        ("bytes", logical) => {
            let encoded = text(json).ok_or_else(unreadable)?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| unreadable())?;
            if logical != Some(DECIMAL) {
                return Ok(Java::Bytes(bytes));
            }
            let scale: i32 = t.scale.as_deref().unwrap_or("0").parse().map_err(|_| unreadable())?;
            Java::Decimal(unscaled(&bytes)?, scale)
        }
        (other, _) => return Err(unsupported_input(&other.to_ascii_uppercase())),
    })
}

/// A `Decimal`'s unscaled value from its big-endian two's-complement bytes.
fn unscaled(bytes: &[u8]) -> Result<i128, String> {
    if bytes.len() > 16 {
        return Err(format!("a Decimal of {} bytes is beyond the 38 digits Sluice converts", bytes.len()));
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut full = [fill; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

fn unsupported_input(connect_type: &str) -> String {
    format!(
        "Cast transformation does not support casting from {connect_type}; supported types are [INT8, INT16, INT32, \
         INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
    )
}

/// `BigDecimal.toString()`: plain unless the exponent is positive or the adjusted exponent below -6.
fn decimal_string(unscaled: i128, scale: i32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let adjusted = i64::from(-scale) + digits.len() as i64 - 1;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        return if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        };
    }
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
    let exponent_sign = if adjusted > 0 { "+" } else { "" };
    format!("{sign}{first}{point}E{exponent_sign}{adjusted}")
}

/// `BigDecimal.toBigInteger()` (towards zero), wrapped to 64 bits as `BigInteger.longValue()` does.
fn decimal_long(unscaled: i128, scale: i32) -> i64 {
    let whole = if scale >= 0 {
        u32::try_from(scale).ok().and_then(|s| 10i128.checked_pow(s)).map_or(0, |p| unscaled / p)
    } else {
        unscaled.wrapping_mul(10i128.wrapping_pow(scale.unsigned_abs()))
    };
    whole as i64
}

/// `BigDecimal.doubleValue()`: the nearest double.
fn decimal_double(unscaled: i128, scale: i32) -> f64 {
    format!("{unscaled}e{}", -i64::from(scale)).parse().unwrap_or(f64::NAN)
}

/// Java's `Long`/`Double`/`Float`… `toString()`.
fn java_string(value: &Java) -> String {
    match value {
        Java::Integer(n) => n.to_string(),
        Java::Float(f) => unquoted(|out| json::java_float(out, *f)),
        Java::Double(d) => unquoted(|out| json::java_double(out, *d)),
        Java::Boolean(b) => b.to_string(),
        Java::Text(t) => t.clone(),
        Java::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Java::Decimal(u, s) => decimal_string(*u, *s),
        // Kafka's `Values.dateFormatFor`: a time of day before the first day's end, a date at midnight, else a
        // timestamp; in UTC.
        Java::Date(ms) => {
            let pattern = if *ms < MILLIS_PER_DAY {
                "HH:mm:ss.SSS'Z'"
            } else if ms % MILLIS_PER_DAY == 0 {
                "yyyy-MM-dd"
            } else {
                "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
            };
            DateFormat::parse(pattern).map(|f| f.format(*ms)).unwrap_or_default()
        }
    }
}

/// What `write` puts in the JSON, without the quotes Jackson adds around NaN and the infinities.
fn unquoted(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8_lossy(&out).trim_matches('"').to_string()
}

/// Java's `Float.parseFloat` / `Double.parseDouble` grammar, decimal form: surrounding whitespace, a sign, `NaN`,
/// `Infinity`, digits with a point and an exponent, and a type suffix `f`/`d`. (Hexadecimal forms are refused.)
fn parse_java_float(text: &str) -> Option<f64> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match trimmed.as_bytes().first()? {
        b'-' => (-1.0, &trimmed[1..]),
        b'+' => (1.0, &trimmed[1..]),
        _ => (1.0, trimmed),
    };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) || !exponent_ok {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// Java's `Byte.parseByte` … `Long.parseLong`: an optional sign and decimal digits, nothing else, within range.
fn parse_java_integer(text: &str, min: i64, max: i64) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// Kafka's `castValueToType` for a non-null value: the converted value's JSON.
fn cast(value: &Java, target: CastType, raw: &[u8]) -> Result<Vec<u8>, String> {
    let out_of_range = || {
        let shown = match value {
            Java::Text(t) => t.clone(),
            other => java_string(other),
        };
        format!("Value ({shown}) was out of range for requested data type")
    };
    let unexpected = |value: &Java| {
        let class = match value {
            Java::Bytes(_) => "class [B",
            _ => "an unexpected class",
        };
        format!("Unexpected type in Cast transformation: {class}")
    };
    // `Number.longValue()` / `intValue()` for each kind of number (a Date's own number: Kafka encodes Connect's
    // logical types to their integers for every target but string).
    let (as_long, as_int): (Option<i64>, Option<i32>) = match value {
        Java::Integer(n) => (Some(*n), Some(*n as i32)),
        Java::Date(_) => {
            let encoded: i64 = std::str::from_utf8(raw).ok().and_then(|t| t.parse().ok()).unwrap_or_default();
            (Some(encoded), Some(encoded as i32))
        }
        Java::Float(f) => (Some(*f as i64), Some(*f as i32)),
        Java::Double(d) => (Some(*d as i64), Some(*d as i32)),
        Java::Decimal(u, s) => {
            let long = decimal_long(*u, *s);
            (Some(long), Some(long as i32))
        }
        Java::Boolean(_) | Java::Text(_) | Java::Bytes(_) => (None, None),
    };
    let mut out = Vec::with_capacity(16);
    match target {
        CastType::Int8 | CastType::Int16 | CastType::Int32 | CastType::Int64 => {
            let (min, max) = match target {
                CastType::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                CastType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                CastType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            let n = match value {
                Java::Boolean(b) => i64::from(*b),
                Java::Text(t) => parse_java_integer(t, min, max).ok_or_else(out_of_range)?,
                Java::Bytes(_) => return Err(unexpected(value)),
                _ => match target {
                    CastType::Int8 => i64::from(as_int.unwrap_or_default() as i8),
                    CastType::Int16 => i64::from(as_int.unwrap_or_default() as i16),
                    CastType::Int32 => i64::from(as_int.unwrap_or_default()),
                    _ => as_long.unwrap_or_default(),
                },
            };
            json::int(&mut out, n);
        }
        CastType::Float32 | CastType::Float64 => {
            let d = match value {
                Java::Boolean(b) => f64::from(u8::from(*b)),
                Java::Text(t) => parse_java_float(t).ok_or_else(out_of_range)?,
                Java::Bytes(_) => return Err(unexpected(value)),
                Java::Integer(n) if target == CastType::Float32 => f64::from(*n as f32),
                Java::Integer(n) => *n as f64,
                Java::Float(f) => f64::from(*f),
                Java::Double(d) => *d,
                Java::Decimal(u, s) => decimal_double(*u, *s),
                Java::Date(_) => as_long.unwrap_or_default() as f64,
            };
            if target == CastType::Float32 {
                // `floatValue()` of a BigDecimal or a text rounds once, from the exact value.
                let f = match value {
                    Java::Text(t) => parse_java_float(t).map(|v| v as f32),
                    Java::Decimal(u, s) => format!("{u}e{}", -i64::from(*s)).parse::<f32>().ok(),
                    _ => Some(d as f32),
                };
                json::java_float(&mut out, f.unwrap_or(d as f32));
            } else {
                json::java_double(&mut out, d);
            }
        }
        CastType::Boolean => {
            let b = match value {
                Java::Boolean(b) => *b,
                Java::Text(t) => t.eq_ignore_ascii_case("true"),
                Java::Bytes(_) => return Err(unexpected(value)),
                _ => as_long.unwrap_or_default() != 0,
            };
            out.extend_from_slice(if b { b"true" } else { b"false" });
        }
        CastType::String => json::string(&mut out, &java_string(value)),
    }
    Ok(out)
}

/// A field schema's type, from the JSON schema of a field or a whole value.
fn schema_type(schema: &Value) -> FieldType {
    let text = |key: &str| schema.get(key).and_then(Value::as_str).map(String::from);
    let scale = schema.get("parameters").and_then(|p| p.get("scale")).and_then(Value::as_str).map(String::from);
    FieldType { kind: text("type").unwrap_or_default(), logical: text("name"), scale }
}

/// A value per schema, made once (by the schema's address, the schema held so the address is not reused).
#[derive(Debug)]
struct PerSchema<T>(HashMap<usize, (Schema, T)>);

impl<T> Default for PerSchema<T> {
    fn default() -> Self {
        PerSchema(HashMap::new())
    }
}

impl<T: Clone> PerSchema<T> {
    fn get_or(&mut self, schema: &Schema, make: impl FnOnce(&[u8]) -> T) -> T {
        let address = Arc::as_ptr(schema) as *const u8 as usize;
        if let Some((held, made)) = self.0.get(&address) {
            if Arc::ptr_eq(held, schema) {
                return made.clone();
            }
        }
        if self.0.len() >= SCHEMA_CACHE_ENTRIES {
            self.0.clear();
        }
        let made = make(schema);
        self.0.insert(address, (schema.clone(), made.clone()));
        made
    }
}

/// Rewrites the schema of the fields `convert` names, keeping the struct's own name, version, optionality and
/// default (Kafka's Cast and TimestampConverter rebuild it with `copySchemaBasics` and copy `optional`).
fn edit_fields(schema: &[u8], mut convert: impl FnMut(&str, &Value) -> Option<Value>) -> Option<Vec<u8>> {
    let mut parsed: Value = serde_json::from_slice(schema).ok()?;
    let object = parsed.as_object_mut()?;
    if object.get("type")? != "struct" {
        return None;
    }
    for field in object.get_mut("fields")?.as_array_mut()? {
        let name = super::fields::field_name(field).to_string();
        if let Some(mut converted) = convert(&name, field) {
            converted.as_object_mut()?.insert("field".into(), Value::String(name));
            *field = converted;
        }
    }
    serde_json::to_vec(&parsed).ok()
}

/// `Cast$Key` / `$Value`.
#[derive(Debug)]
pub struct Cast {
    pub side: Side,
    pub spec: CastSpec,
    types: FieldTypes,
    whole_types: PerSchema<FieldType>,
    schemas: SchemaCache,
}

impl Cast {
    pub fn new(side: Side, spec: CastSpec) -> Cast {
        Cast {
            side,
            spec,
            types: FieldTypes::default(),
            whole_types: PerSchema::default(),
            schemas: SchemaCache::default(),
        }
    }

    /// Applies the transform. A null key or value passes unchanged, as in Kafka.
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let (json, schema) = struct_parts(payload, side)?;
        if json == b"null" {
            return Ok(());
        }
        let casted = match &self.spec {
            CastSpec::Whole(target) => {
                let target = *target;
                let field_type = schema.map(|s| {
                    self.whole_types.get_or(s, |s| schema_type(&serde_json::from_slice(s).unwrap_or(Value::Null)))
                });
                let out = cast(&read(json, field_type.as_ref())?, target, json)?;
                match schema {
                    None => Payload::Json(out),
                    Some(schema) => {
                        let mut failure = None;
                        let schema = self.schemas.get_or(schema, |schema| {
                            whole_schema(schema, target).map_err(|e| failure = Some(e)).ok().flatten()
                        });
                        let schema =
                            schema.ok_or_else(|| failure.unwrap_or_else(|| "the schema is not JSON".into()))?;
                        Payload::JsonWithSchema { schema, payload: out }
                    }
                }
            }
            CastSpec::Fields(casts) => {
                let fields = members(json).ok_or_else(|| match schema {
                    Some(_) => format!("Only Struct objects supported for [cast types], found: {}", class_of(json)),
                    None => format!(
                        "Only Map objects supported in absence of schema for [cast types], found: {}",
                        class_of(json)
                    ),
                })?;
                let types = schema.map(|s| self.types.of(s));
                let mut out = Vec::with_capacity(json.len() + 16);
                out.push(b'{');
                for member in &fields {
                    if out.len() > 1 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&json[member.key.clone()]);
                    out.push(b':');
                    let value = &json[member.value.clone()];
                    let field = name(json, member);
                    match casts.iter().find(|(f, _)| *f == *field) {
                        Some((_, target)) if value != b"null" => {
                            let field_type = types.as_ref().and_then(|t| t.get(field.as_ref()));
                            let converted = read(value, field_type).and_then(|v| cast(&v, *target, value));
                            out.extend_from_slice(&converted.map_err(|e| format!("field `{field}`: {e}"))?);
                        }
                        _ => out.extend_from_slice(value),
                    }
                }
                // Without a schema Kafka puts every field of the spec, so one the value lacks appears as null.
                if schema.is_none() {
                    append_missing_as_null(&mut out, json, &fields, casts.iter().map(|(field, _)| field.as_str()));
                }
                out.push(b'}');
                match schema {
                    None => Payload::Json(out),
                    Some(schema) => {
                        let mut failure = None;
                        let schema = self.schemas.get_or(schema, |schema| {
                            fields_schema(schema, casts).map_err(|e| failure = Some(e)).ok().flatten()
                        });
                        let schema =
                            schema.ok_or_else(|| failure.unwrap_or_else(|| "the schema is not JSON".into()))?;
                        Payload::JsonWithSchema { schema, payload: out }
                    }
                }
            }
        };
        *operand(record, side) = Some(casted);
        Ok(())
    }
}

/// A field's or value's `default`, cast as Kafka casts it into the new schema.
fn cast_default(schema: &Value, target: CastType) -> Result<Option<Value>, String> {
    let Some(default) = schema.get("default").filter(|d| !d.is_null()) else { return Ok(None) };
    let raw = serde_json::to_vec(default).map_err(|e| e.to_string())?;
    let converted = cast(&read(&raw, Some(&schema_type(schema)))?, target, &raw)?;
    serde_json::from_slice(&converted).map(Some).map_err(|e| e.to_string())
}

/// Kafka's schema for a cast field: a new schema of the target type, optional as the old one was, its default cast.
fn cast_field_schema(old: &Value, target: CastType) -> Result<Value, String> {
    let mut out = Map::new();
    out.insert("type".into(), Value::from(target.schema_type()));
    out.insert("optional".into(), Value::Bool(old.get("optional").and_then(Value::as_bool).unwrap_or(false)));
    if let Some(default) = cast_default(old, target)? {
        out.insert("default".into(), default);
    }
    Ok(Value::Object(out))
}

/// The schema of a struct with `casts` applied; `Ok(None)` when it is not a struct schema.
fn fields_schema(schema: &[u8], casts: &[(String, CastType)]) -> Result<Option<Vec<u8>>, String> {
    let mut failure = Ok(());
    let made = edit_fields(schema, |name, field| {
        let (_, target) = casts.iter().find(|(f, _)| f == name)?;
        cast_field_schema(field, *target).map_err(|e| failure = Err(format!("field `{name}`: {e}"))).ok()
    });
    failure.map(|()| made)
}

/// Kafka's schema for a whole-value cast: `copySchemaBasics` (name, version, doc, parameters kept) with the target
/// type, optional as before, its default cast.
fn whole_schema(schema: &[u8], target: CastType) -> Result<Option<Vec<u8>>, String> {
    let Ok(old) = serde_json::from_slice::<Value>(schema) else { return Ok(None) };
    let mut out = cast_field_schema(&old, target)?;
    let Some(object) = out.as_object_mut() else { return Ok(None) };
    let default = object.remove("default");
    for key in ["name", "version", "doc", "parameters"] {
        if let Some(v) = old.get(key) {
            object.insert(key.into(), v.clone());
        }
    }
    if let Some(default) = default {
        object.insert("default".into(), default);
    }
    Ok(serde_json::to_vec(&out).ok())
}

/// `TimestampConverter`'s `target.type` (and the type a value is read as).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeType {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl TimeType {
    /// The Connect schema Kafka's translator gives the type (`typeSchema`), as JSON.
    fn schema(self, optional: bool) -> Value {
        let logical = |kind: &str, name: &str| serde_json::json!({"type": kind, "optional": optional, "name": name, "version": 1});
        match self {
            TimeType::String => serde_json::json!({"type": "string", "optional": optional}),
            TimeType::Unix => serde_json::json!({"type": "int64", "optional": optional}),
            TimeType::Date => logical("int32", DATE),
            TimeType::Time => logical("int32", TIME),
            TimeType::Timestamp => logical("int64", TIMESTAMP),
        }
    }
}

/// `unix.precision`: the unit of a Unix time read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnixPrecision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// `TimestampConverter$Key` / `$Value`.
#[derive(Debug)]
pub struct TimestampConverter {
    pub side: Side,
    /// Empty: the whole key or value.
    pub field: String,
    pub target: TimeType,
    /// `format`, parsed, with its text for messages.
    pub format: Option<(DateFormat, String)>,
    pub precision: UnixPrecision,
    types: FieldTypes,
    whole_types: PerSchema<FieldType>,
    schemas: SchemaCache,
}

impl TimestampConverter {
    pub fn new(
        side: Side,
        field: String,
        target: TimeType,
        format: Option<(DateFormat, String)>,
        precision: UnixPrecision,
    ) -> TimestampConverter {
        TimestampConverter {
            side,
            field,
            target,
            format,
            precision,
            types: FieldTypes::default(),
            whole_types: PerSchema::default(),
            schemas: SchemaCache::default(),
        }
    }

    /// Applies the transform. A tombstone passes unchanged.
    pub fn apply(&mut self, record: &mut Record) -> Result<(), String> {
        let side = self.side;
        let Some(payload) = operand_ref(record, side) else { return Ok(()) };
        let (json, schema) = struct_parts(payload, side)?;
        let target = self.target;
        let converted = if self.field.is_empty() {
            let source = match schema {
                None => None,
                Some(s) => {
                    Some(self.whole_types.get_or(s, |s| schema_type(&serde_json::from_slice(s).unwrap_or(Value::Null))))
                }
            };
            let out = self.convert(json, source.as_ref())?;
            match schema {
                None => Payload::Json(out),
                Some(schema) => {
                    let made = self.schemas.get_or(schema, |schema| {
                        let old: Value = serde_json::from_slice(schema).ok()?;
                        let optional = old.get("optional").and_then(Value::as_bool).unwrap_or(false);
                        serde_json::to_vec(&target.schema(optional)).ok()
                    });
                    Payload::JsonWithSchema { schema: made.ok_or("the schema is not JSON")?, payload: out }
                }
            }
        } else {
            let out = if json == b"null" { json.to_vec() } else { self.convert_field(json, schema)? };
            match schema {
                None => Payload::Json(out),
                Some(schema) => {
                    let wanted = &self.field;
                    let made = self.schemas.get_or(schema, |schema| {
                        edit_fields(schema, |name, field| {
                            let optional = field.get("optional").and_then(Value::as_bool).unwrap_or(false);
                            (name == wanted).then(|| target.schema(optional))
                        })
                    });
                    Payload::JsonWithSchema { schema: made.ok_or_else(|| not_struct(true, json))?, payload: out }
                }
            }
        };
        *operand(record, side) = Some(converted);
        Ok(())
    }

    fn convert_field(&mut self, json: &[u8], schema: Option<&Schema>) -> Result<Vec<u8>, String> {
        let fields = members(json).ok_or_else(|| not_struct(schema.is_some(), json))?;
        let types = schema.map(|s| self.types.of(s));
        let mut found = false;
        let mut out = Vec::with_capacity(json.len() + 16);
        out.push(b'{');
        for member in &fields {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&json[member.key.clone()]);
            out.push(b':');
            let value = &json[member.value.clone()];
            if name(json, member) == self.field.as_str() {
                found = true;
                let field_type = types.as_ref().and_then(|t| t.get(self.field.as_str()));
                out.extend_from_slice(&self.convert(value, field_type)?);
            } else {
                out.extend_from_slice(value);
            }
        }
        // Without a schema Kafka puts the field, so one the value lacks appears as null.
        if !found && schema.is_none() {
            if out.len() > 1 {
                out.push(b',');
            }
            json::string(&mut out, &self.field);
            out.extend_from_slice(b":null");
        }
        out.push(b'}');
        Ok(out)
    }

    /// Kafka's `convertTimestamp`: the value read as its type says (the schema's, else inferred from the JSON),
    /// to a `java.util.Date`, then to the target type. Null stays null.
    fn convert(&self, json: &[u8], schema: Option<&FieldType>) -> Result<Vec<u8>, String> {
        if json == b"null" {
            return Ok(json.to_vec());
        }
        let source = match schema {
            Some(t) => match (t.kind.as_str(), t.logical.as_deref()) {
                (_, Some(TIMESTAMP)) => TimeType::Timestamp,
                (_, Some(DATE)) => TimeType::Date,
                (_, Some(TIME)) => TimeType::Time,
                ("string", _) => TimeType::String,
                ("int64", _) => TimeType::Unix,
                (kind, logical) => {
                    let shown = match logical {
                        Some(name) => format!("{name}:{}", kind.to_ascii_uppercase()),
                        None => kind.to_ascii_uppercase(),
                    };
                    return Err(format!(
                        "Schema Schema{{{shown}}} does not correspond to a known timestamp type format"
                    ));
                }
            },
            None => match json.first() {
                Some(b'"') => TimeType::String,
                _ if class_of(json) == "java.lang.Long" => TimeType::Unix,
                _ => {
                    return Err(format!(
                        "TimestampConverter does not support class {} objects as timestamps",
                        class_of(json)
                    ))
                }
            },
        };
        let number = || -> Result<i64, String> {
            std::str::from_utf8(json)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("the value `{}` is not a whole number", String::from_utf8_lossy(json)))
        };
        let millis = match source {
            TimeType::String => {
                let text = text(json).unwrap_or_default();
                let Some((format, pattern)) = &self.format else {
                    return Err(
                        "a string timestamp can only be read with `format` set (Kafka: NullPointerException)".into()
                    );
                };
                format.read(&text).ok_or_else(|| {
                    format!("Could not parse timestamp: value ({text}) does not match pattern ({pattern})")
                })?
            }
            TimeType::Unix => {
                let n = number()?;
                match self.precision {
                    UnixPrecision::Seconds => n.saturating_mul(1000),
                    UnixPrecision::Milliseconds => n,
                    UnixPrecision::Microseconds => n / 1000,
                    UnixPrecision::Nanoseconds => n / 1_000_000,
                }
            }
            TimeType::Date => number()?.saturating_mul(MILLIS_PER_DAY),
            TimeType::Time | TimeType::Timestamp => number()?,
        };
        let mut out = Vec::with_capacity(24);
        match self.target {
            TimeType::String => {
                let (format, _) = self.format.as_ref().ok_or("target.type=string needs `format`")?;
                json::string(&mut out, &format.format(millis));
            }
            TimeType::Unix => json::int(
                &mut out,
                match self.precision {
                    UnixPrecision::Seconds => millis / 1000,
                    UnixPrecision::Milliseconds => millis,
                    UnixPrecision::Microseconds => millis.saturating_mul(1000),
                    UnixPrecision::Nanoseconds => millis.saturating_mul(1_000_000),
                },
            ),
            TimeType::Date => json::int(&mut out, millis.div_euclid(MILLIS_PER_DAY)),
            TimeType::Time => json::int(&mut out, millis.rem_euclid(MILLIS_PER_DAY)),
            TimeType::Timestamp => json::int(&mut out, millis),
        }
        Ok(out)
    }
}

fn not_struct(with_schema: bool, json: &[u8]) -> String {
    if with_schema {
        format!("Only Struct objects supported for [converting timestamp formats], found: {}", class_of(json))
    } else {
        format!(
            "Only Map objects supported in absence of schema for [converting timestamp formats], found: {}",
            class_of(json)
        )
    }
}

#[cfg(test)]
mod tests;
