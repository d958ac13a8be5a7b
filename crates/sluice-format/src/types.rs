//! Debezium's mapping of PostgreSQL types to Kafka Connect schemas, and the conversion of PostgreSQL's text form of
//! each value into its JSON representation.
//!
//! The kind of a column is chosen once per table (from the type OID, the type modifier and the configured
//! handling modes); converting a value is then a match on that kind. Values that do not parse as their type's
//! text form are errors, never panics and never silently dropped.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use sluice_core::ColumnSchema;

use crate::{
    decimal, hstore, json, time, BinaryHandlingMode, DecimalHandlingMode, EncoderOptions, HStoreHandlingMode,
    IntervalHandlingMode, TimePrecisionMode,
};

/// How one column is represented.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Bool,
    /// `bit(1)` / `varbit(1)`: Connect boolean from `0` / `1`.
    Bit,
    /// `bit(n)` / `varbit(n)`, n > 1: io.debezium.data.Bits, little-endian bytes sized to the content.
    Bits(u32),
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// A string with an optional Connect semantic name (`io.debezium.data.Json`, `…Uuid`, `…Xml`).
    Text(Option<&'static str>),
    Enum(String),
    Bytes(BinaryHandlingMode),
    Decimal {
        scale: u32,
        precision: Option<u32>,
    },
    VariableDecimal,
    DecimalAsDouble,
    DecimalAsString,
    /// money, with its fixed scale.
    Money(Box<Kind>, u32),
    /// Days since the epoch; `true` for Connect's Date, else io.debezium.time.Date.
    Date(bool),
    TimeMillis(&'static str),
    TimeMicros,
    /// `time.precision.mode=nanoseconds`: io.debezium.time.NanoTime.
    TimeNanos,
    TimeTz,
    TimestampMillis(&'static str),
    TimestampMicros,
    /// `time.precision.mode=nanoseconds`: io.debezium.time.NanoTimestamp.
    TimestampNanos,
    /// `time.precision.mode=isostring`: io.debezium.time.IsoDate, IsoTime and IsoTimestamp strings (crate::time).
    DateIso,
    TimeIso,
    TimestampIso,
    /// ZonedTimestamp, with the fraction padded to the column's precision (0–6).
    TimestampTz(u32),
    Interval,
    /// `interval.handling.mode=string`: io.debezium.time.Interval, `P<y>Y<m>M<d>DT<h>H<m>M<s>S` (crate::time).
    IntervalString,
    Array(Box<Kind>),
    /// `point`: io.debezium.data.geometry.Point {x, y, wkb, srid}.
    Point,
    /// `hstore` (an extension type, known by name) under `hstore.handling.mode=json`, Debezium's default: the map as
    /// a JSON object in a string (io.debezium.data.Json), see crate::hstore.
    HStore,
    /// `hstore` under `hstore.handling.mode=map`: a Connect map of string keys to optional string values.
    HStoreMap,
    /// include.unknown.datatypes=true: the text form's bytes, represented per binary.handling.mode.
    Unknown(BinaryHandlingMode),
}

pub(crate) const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// The kind for a column, or `None` when its type is unknown and unknown types are excluded.
pub fn kind_of(column: &ColumnSchema, opts: &EncoderOptions) -> Option<Kind> {
    if let Some(labels) = &column.enum_values {
        let e = Kind::Enum(labels.join(","));
        return Some(if column.base_type_oid == 1009 { Kind::Array(Box::new(e)) } else { e });
    }
    let oid = column.base_type_oid;
    if let Some(elem) = array_element(oid) {
        return scalar(elem, column.type_modifier, opts).map(|k| Kind::Array(Box::new(k)));
    }
    if oid >= FIRST_USER_OID {
        if let Some(kind) = extension_kind(&column.type_name, opts.hstore_handling_mode) {
            return Some(kind);
        }
    }
    match scalar(oid, column.type_modifier, opts) {
        Some(kind) => Some(kind),
        // Debezium has no converter for these arrays and leaves them out even with include.unknown.datatypes.
        None if matches!(oid, 791 | 1003 | 1187 | 143 | 1561 | 1563 | 1017 | 2201) => None,
        None if opts.include_unknown_datatypes => Some(Kind::Unknown(opts.binary_handling_mode)),
        None => None,
    }
}

/// OIDs below this are built into PostgreSQL; extension types get OIDs from here on, different in every database.
const FIRST_USER_OID: u32 = 16384;

/// Extension types Debezium recognises by name (their OIDs vary per database).
fn extension_kind(type_name: &str, hstore_mode: HStoreHandlingMode) -> Option<Kind> {
    const LTREE: Kind = Kind::Text(Some("io.debezium.data.Ltree"));
    let hstore = match hstore_mode {
        HStoreHandlingMode::Json => Kind::HStore,
        HStoreHandlingMode::Map => Kind::HStoreMap,
    };
    Some(match type_name {
        "citext" | "isbn" => Kind::Text(None),
        "ltree" => LTREE,
        "_citext" => Kind::Array(Box::new(Kind::Text(None))),
        "_ltree" => Kind::Array(Box::new(LTREE)),
        "_hstore" => Kind::Array(Box::new(hstore)),
        "hstore" => hstore,
        _ => return None,
    })
}

pub(crate) fn array_element(oid: u32) -> Option<u32> {
    Some(match oid {
        1000 => 16,
        1001 => 17,
        1002 => 18,
        1016 => 20,
        1005 => 21,
        1007 => 23,
        1009 => 25,
        1028 => 26,
        199 => 114,
        651 => 650,
        1021 => 700,
        1022 => 701,
        1040 => 829,
        1041 => 869,
        775 => 774,
        1014 => 1042,
        1015 => 1043,
        1182 => 1082,
        1183 => 1083,
        1115 => 1114,
        1185 => 1184,
        1270 => 1266,
        1231 => 1700,
        2951 => 2950,
        3807 => 3802,
        3905 => 3904,
        3907 => 3906,
        3909 => 3908,
        3911 => 3910,
        3913 => 3912,
        3927 => 3926,
        _ => return None,
    })
}

fn time_precision(typmod: i32) -> i32 {
    if typmod < 0 {
        6
    } else {
        typmod
    }
}

fn decimal_kind(mode: DecimalHandlingMode, scale: Option<u32>, precision: Option<u32>) -> Kind {
    match (mode, scale) {
        (DecimalHandlingMode::Precise, Some(scale)) => Kind::Decimal { scale, precision },
        (DecimalHandlingMode::Precise, None) => Kind::VariableDecimal,
        (DecimalHandlingMode::Double, _) => Kind::DecimalAsDouble,
        (DecimalHandlingMode::String, _) => Kind::DecimalAsString,
    }
}

fn scalar(oid: u32, typmod: i32, opts: &EncoderOptions) -> Option<Kind> {
    let mode = opts.time_precision_mode;
    let adaptive = mode == TimePrecisionMode::Adaptive;
    let connect = mode == TimePrecisionMode::Connect;
    Some(match oid {
        16 => Kind::Bool,
        21 => Kind::Int16,
        23 => Kind::Int32,
        20 | 26 => Kind::Int64,
        700 => Kind::Float32,
        701 => Kind::Float64,
        // Strings, network addresses and ranges.
        25 | 1043 | 1042 | 18 | 19 | 650 | 869 | 829 | 774 | 3904 | 3906 | 3908 | 3910 | 3912 | 3926 => {
            Kind::Text(None)
        }
        3614 => Kind::Text(Some("io.debezium.data.Tsvector")),
        600 => Kind::Point,
        1560 | 1562 if typmod == 1 => Kind::Bit,
        // varbit without a length: Debezium's length parameter is Integer.MAX_VALUE.
        1560 | 1562 => Kind::Bits(u32::try_from(typmod).unwrap_or(i32::MAX as u32)),
        114 | 3802 => Kind::Text(Some("io.debezium.data.Json")),
        2950 => Kind::Text(Some("io.debezium.data.Uuid")),
        142 => Kind::Text(Some("io.debezium.data.Xml")),
        17 => Kind::Bytes(opts.binary_handling_mode),
        1700 => {
            let (precision, scale) = if typmod >= 4 {
                let t = (typmod - 4) as u32;
                (Some(t >> 16), Some(t & 0xffff))
            } else {
                (None, None)
            };
            decimal_kind(opts.decimal_handling_mode, scale, precision)
        }
        790 => {
            let digits = u32::from(opts.money_fraction_digits);
            Kind::Money(Box::new(decimal_kind(opts.decimal_handling_mode, Some(digits), None)), digits)
        }
        // Debezium's TemporalPrecisionMode: isostring, microseconds and nanoseconds apply to every precision;
        // timetz and timestamptz keep ZonedTime and ZonedTimestamp under every mode.
        1082 if mode == TimePrecisionMode::IsoString => Kind::DateIso,
        1082 => Kind::Date(connect),
        1083 => match mode {
            TimePrecisionMode::Connect => Kind::TimeMillis("org.apache.kafka.connect.data.Time"),
            TimePrecisionMode::IsoString => Kind::TimeIso,
            TimePrecisionMode::Nanoseconds => Kind::TimeNanos,
            _ if adaptive && time_precision(typmod) <= 3 => Kind::TimeMillis("io.debezium.time.Time"),
            _ => Kind::TimeMicros,
        },
        1266 => Kind::TimeTz,
        1114 => match mode {
            TimePrecisionMode::Connect => Kind::TimestampMillis("org.apache.kafka.connect.data.Timestamp"),
            TimePrecisionMode::IsoString => Kind::TimestampIso,
            TimePrecisionMode::Microseconds => Kind::TimestampMicros,
            TimePrecisionMode::Nanoseconds => Kind::TimestampNanos,
            _ if time_precision(typmod) <= 3 => Kind::TimestampMillis("io.debezium.time.Timestamp"),
            _ => Kind::TimestampMicros,
        },
        1184 => Kind::TimestampTz(time_precision(typmod).clamp(0, 6) as u32),
        1186 => match opts.interval_handling_mode {
            IntervalHandlingMode::Numeric => Kind::Interval,
            IntervalHandlingMode::String => Kind::IntervalString,
        },
        _ => return None,
    })
}

impl Kind {
    /// Writes this kind's Connect schema for a field (`field` included when `Some`), with the field's default value
    /// (its JSON, crate::defaults) when it has one and the parameters a column mapper adds (`extra`, `"k":"v"` pairs,
    /// after the kind's own as Connect's `SchemaBuilder` keeps them in insertion order).
    pub fn write_schema(
        &self,
        out: &mut Vec<u8>,
        optional: bool,
        default: Option<&[u8]>,
        field: Option<&str>,
        extra: Option<&[u8]>,
    ) {
        let (ty, name, params): (&str, Option<&str>, Option<String>) = match self {
            Kind::Bool | Kind::Bit => ("boolean", None, None),
            Kind::Bits(length) => {
                ("bytes", Some("io.debezium.data.Bits"), Some(format!("{{\"length\":\"{length}\"}}")))
            }
            Kind::Int16 => ("int16", None, None),
            Kind::Int32 => ("int32", None, None),
            Kind::Int64 => ("int64", None, None),
            Kind::Float32 => ("float", None, None),
            Kind::Float64 | Kind::DecimalAsDouble => ("double", None, None),
            Kind::Text(name) => ("string", *name, None),
            Kind::HStore => ("string", Some("io.debezium.data.Json"), None),
            Kind::DecimalAsString => ("string", None, None),
            Kind::Enum(allowed) => {
                ("string", Some("io.debezium.data.Enum"), Some(format!("{{\"allowed\":{}}}", quoted(allowed))))
            }
            Kind::Bytes(BinaryHandlingMode::Bytes) | Kind::Unknown(BinaryHandlingMode::Bytes) => ("bytes", None, None),
            Kind::Bytes(_) | Kind::Unknown(_) => ("string", None, None),
            Kind::Decimal { scale, precision } => (
                "bytes",
                Some("org.apache.kafka.connect.data.Decimal"),
                Some(match precision {
                    Some(p) => format!("{{\"scale\":\"{scale}\",\"connect.decimal.precision\":\"{p}\"}}"),
                    None => format!("{{\"scale\":\"{scale}\"}}"),
                }),
            ),
            Kind::VariableDecimal => {
                out.extend_from_slice(
                    b"{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},\
                      {\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"optional\":",
                );
                out.extend_from_slice(if optional { b"true" } else { b"false" });
                out.extend_from_slice(b",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"");
                write_params(out, None, extra);
                close_field(out, None, field);
                return;
            }
            Kind::Money(inner, _) => return inner.write_schema(out, optional, default, field, extra),
            Kind::Date(true) => ("int32", Some("org.apache.kafka.connect.data.Date"), None),
            Kind::Date(false) => ("int32", Some("io.debezium.time.Date"), None),
            Kind::TimeMillis(name) => ("int32", Some(*name), None),
            Kind::TimeMicros => ("int64", Some("io.debezium.time.MicroTime"), None),
            Kind::TimeNanos => ("int64", Some("io.debezium.time.NanoTime"), None),
            Kind::DateIso => ("string", Some("io.debezium.time.IsoDate"), None),
            Kind::TimeIso => ("string", Some("io.debezium.time.IsoTime"), None),
            Kind::TimestampIso => ("string", Some("io.debezium.time.IsoTimestamp"), None),
            Kind::TimestampNanos => ("int64", Some("io.debezium.time.NanoTimestamp"), None),
            Kind::TimeTz => ("string", Some("io.debezium.time.ZonedTime"), None),
            Kind::TimestampMillis(name) => ("int64", Some(*name), None),
            Kind::TimestampMicros => ("int64", Some("io.debezium.time.MicroTimestamp"), None),
            Kind::TimestampTz(_) => ("string", Some("io.debezium.time.ZonedTimestamp"), None),
            Kind::Interval => ("int64", Some("io.debezium.time.MicroDuration"), None),
            Kind::IntervalString => ("string", Some("io.debezium.time.Interval"), None),
            Kind::HStoreMap => {
                // Kafka's JsonConverter: `keys` and `values` follow `type`; Debezium's keys are required, values
                // optional.
                out.extend_from_slice(
                    b"{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},\
                      \"values\":{\"type\":\"string\",\"optional\":true},\"optional\":",
                );
                out.extend_from_slice(if optional { b"true" } else { b"false" });
                write_params(out, None, extra);
                close_field(out, default, field);
                return;
            }
            Kind::Point => {
                out.extend_from_slice(
                    b"{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},\
                      {\"type\":\"double\",\"optional\":false,\"field\":\"y\"},{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},\
                      {\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":",
                );
                out.extend_from_slice(if optional { b"true" } else { b"false" });
                out.extend_from_slice(
                    b",\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":\"Geometry (POINT)\"",
                );
                write_params(out, None, extra);
                close_field(out, None, field);
                return;
            }
            Kind::Array(elem) => {
                out.extend_from_slice(b"{\"type\":\"array\",\"items\":");
                // Debezium builds element schemas optional, except enums'.
                elem.write_schema(out, !matches!(**elem, Kind::Enum(_)), None, None, None);
                out.extend_from_slice(b",\"optional\":");
                out.extend_from_slice(if optional { b"true" } else { b"false" });
                write_params(out, None, extra);
                close_field(out, None, field);
                return;
            }
        };
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\",\"optional\":");
        out.extend_from_slice(if optional { b"true" } else { b"false" });
        if let Some(name) = name {
            out.extend_from_slice(b",\"name\":\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\",\"version\":1");
        }
        write_params(out, params.as_deref(), extra);
        close_field(out, default, field);
    }

    /// Writes the JSON value for a value's text form; `Err` carries what was wrong.
    pub fn write_value(&self, out: &mut Vec<u8>, text: &[u8]) -> Result<(), String> {
        let s = || std::str::from_utf8(text).map_err(|_| "not UTF-8".to_string());
        let bad = |what: &str| format!("`{}` is not {what}", String::from_utf8_lossy(text));
        match self {
            Kind::Bool => out.extend_from_slice(match text {
                b"t" => b"true",
                b"f" => b"false",
                _ => return Err(bad("a boolean")),
            }),
            Kind::Bit => out.extend_from_slice(match text {
                b"1" => b"true",
                b"0" => b"false",
                _ => return Err(bad("a bit")),
            }),
            Kind::Bits(_) => write_base64(out, &bits_le(text).ok_or_else(|| bad("a bit string"))?, false),
            Kind::Int16 => {
                int_in_range(out, text, i64::from(i16::MIN), i64::from(i16::MAX)).ok_or_else(|| bad("an int2"))?
            }
            Kind::Int32 => {
                int_in_range(out, text, i64::from(i32::MIN), i64::from(i32::MAX)).ok_or_else(|| bad("an int4"))?
            }
            Kind::Int64 => int_in_range(out, text, i64::MIN, i64::MAX).ok_or_else(|| bad("an int8"))?,
            Kind::Float32 => json::java_float(out, parse_float(text).ok_or_else(|| bad("a real"))? as f32),
            Kind::Float64 | Kind::DecimalAsDouble => {
                json::java_double(out, parse_float(text).ok_or_else(|| bad("a number"))?)
            }
            Kind::Text(_) | Kind::Enum(_) => json::bytes_as_string(out, text),
            Kind::HStore => hstore::write_json(out, text)?,
            // Debezium prints special values by the names of its SpecialValueDecimal constants.
            Kind::DecimalAsString => match text {
                b"NaN" => json::string(out, "NAN"),
                b"Infinity" => json::string(out, "POSITIVE_INFINITY"),
                b"-Infinity" => json::string(out, "NEGATIVE_INFINITY"),
                _ if decimal::parse(text).is_some() => json::bytes_as_string(out, text),
                _ => return Err(bad("a decimal")),
            },
            Kind::Unknown(mode) => write_binary(out, text, *mode),
            Kind::Bytes(mode) => {
                let bytes = decode_bytea(text).ok_or_else(|| bad("bytea hex output"))?;
                write_binary(out, &bytes, *mode);
            }
            Kind::Decimal { scale, .. } => match decimal::parse(text) {
                Some(d) => write_base64(out, &d.rescale(*scale).unscaled_bytes(), false),
                None if is_special_numeric(text) => return Err(SPECIAL_DECIMAL.into()),
                None => return Err(bad("a decimal")),
            },
            Kind::VariableDecimal => match decimal::parse(text).map(decimal::Decimal::strip_trailing_zeros) {
                Some(d) => {
                    out.extend_from_slice(b"{\"scale\":");
                    json::uint(out, u64::from(d.scale));
                    out.extend_from_slice(b",\"value\":");
                    write_base64(out, &d.unscaled_bytes(), false);
                    out.push(b'}');
                }
                None if is_special_numeric(text) => return Err(SPECIAL_DECIMAL.into()),
                None => return Err(bad("a decimal")),
            },
            Kind::Money(inner, _) => {
                let cleaned: Vec<u8> =
                    text.iter().copied().filter(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-').collect();
                if cleaned.is_empty() {
                    return Err(bad("an amount of money"));
                }
                inner.write_value(out, &cleaned)?;
            }
            Kind::Date(_) => json::int(out, time::date_days(s()?).ok_or_else(|| bad("a date"))?),
            Kind::TimeMillis(_) => json::int(out, time::time_micros(s()?).ok_or_else(|| bad("a time"))? / 1000),
            Kind::TimeMicros => json::int(out, time::time_micros(s()?).ok_or_else(|| bad("a time"))?),
            Kind::TimeNanos => json::int(out, time::time_micros(s()?).ok_or_else(|| bad("a time"))? * 1000),
            Kind::DateIso => json::string(out, &time::iso_date(s()?).ok_or_else(|| bad("a date"))?),
            Kind::TimeIso => json::string(out, &time::iso_time(s()?).ok_or_else(|| bad("a time"))?),
            Kind::TimestampIso => json::string(out, &time::iso_timestamp(s()?).ok_or_else(|| bad("a timestamp"))?),
            Kind::TimestampNanos => json::int(out, time::timestamp_nanos(s()?)?.ok_or_else(|| bad("a timestamp"))?),
            Kind::TimeTz => json::string(out, &time::zoned_time(s()?).ok_or_else(|| bad("a time with time zone"))?),
            Kind::TimestampMillis(_) | Kind::TimestampMicros => {
                let millis = matches!(self, Kind::TimestampMillis(_));
                json::int(out, time::timestamp_number(s()?, millis).ok_or_else(|| bad("a timestamp"))?);
            }
            Kind::TimestampTz(precision) => {
                let us = time::timestamptz_micros(s()?).ok_or_else(|| bad("a timestamp with time zone"))?;
                json::string(out, &time::zoned_timestamp(us, *precision));
            }
            Kind::Interval => json::int(out, time::interval_micros(s()?).ok_or_else(|| bad("an interval"))?),
            Kind::IntervalString => json::string(out, &time::interval_iso(s()?).ok_or_else(|| bad("an interval"))?),
            Kind::HStoreMap => hstore::write_map(out, text)?,
            Kind::Array(elem) => write_array(out, elem, text)?,
            Kind::Point => {
                let (x, y) = parse_point(text).ok_or_else(|| bad("a point"))?;
                out.extend_from_slice(b"{\"x\":");
                json::java_double(out, x);
                out.extend_from_slice(b",\"y\":");
                json::java_double(out, y);
                out.extend_from_slice(b",\"wkb\":");
                // Well-known binary of a 2D point: little-endian marker, type 1, x, y.
                let mut wkb = Vec::with_capacity(21);
                wkb.push(1);
                wkb.extend_from_slice(&1u32.to_le_bytes());
                wkb.extend_from_slice(&x.to_le_bytes());
                wkb.extend_from_slice(&y.to_le_bytes());
                write_base64(out, &wkb, false);
                out.extend_from_slice(b",\"srid\":null}");
            }
        }
        Ok(())
    }

    /// The Java type Debezium holds this kind's converted value in, which decides what `column.truncate.to.<N>.chars`
    /// does to it: strings and byte buffers are cut, other values left alone.
    pub(crate) fn value_holder(&self) -> crate::columns::Holder {
        use crate::columns::Holder;
        match self {
            Kind::Text(_)
            | Kind::Enum(_)
            | Kind::HStore
            | Kind::IntervalString
            | Kind::DateIso
            | Kind::TimeIso
            | Kind::TimestampIso
            | Kind::DecimalAsString
            | Kind::TimeTz
            | Kind::TimestampTz(_)
            | Kind::Bytes(BinaryHandlingMode::Base64 | BinaryHandlingMode::Base64UrlSafe | BinaryHandlingMode::Hex)
            | Kind::Unknown(BinaryHandlingMode::Base64 | BinaryHandlingMode::Base64UrlSafe | BinaryHandlingMode::Hex) => {
                Holder::String
            }
            Kind::Bytes(BinaryHandlingMode::Bytes) => Holder::ByteBuffer,
            Kind::Money(inner, _) => inner.value_holder(),
            _ => Holder::Other,
        }
    }

    /// A Connect Decimal (`decimal.handling.mode=precise`), which has no NaN or infinities.
    pub fn is_precise_decimal(&self) -> bool {
        matches!(self, Kind::Decimal { .. } | Kind::VariableDecimal)
    }

    /// Writes the unavailable-value placeholder in this kind's representation (unchanged TOAST values), as
    /// Debezium's `UnchangedToastedPlaceholder` does: the string for string-like columns, its UTF-8 bytes for bytes,
    /// and for arrays a one-element list (text, json, bytea and uuid arrays — the uuid being
    /// `UUID.nameUUIDFromBytes(placeholder)`) or, for `integer[]`, `date[]` and `bigint[]`, the placeholder's bytes
    /// as numbers. Types Debezium has no placeholder for (numbers, times) get `null`.
    pub fn write_placeholder(&self, out: &mut Vec<u8>, placeholder: &str) {
        match self {
            Kind::Bytes(mode) | Kind::Unknown(mode) => match mode {
                BinaryHandlingMode::Bytes => write_base64(out, placeholder.as_bytes(), false),
                _ => json::string(out, placeholder),
            },
            Kind::Text(_) | Kind::Enum(_) | Kind::DecimalAsString => json::string(out, placeholder),
            Kind::HStore => hstore::write_placeholder(out, placeholder),
            Kind::HStoreMap => hstore::write_placeholder_map(out, placeholder),
            Kind::Array(elem) => match &**elem {
                Kind::Text(Some("io.debezium.data.Uuid")) => {
                    out.push(b'[');
                    json::string(out, &name_uuid(placeholder.as_bytes()));
                    out.push(b']');
                }
                Kind::Int32 | Kind::Int64 | Kind::Date(_) => {
                    out.push(b'[');
                    for (i, b) in placeholder.bytes().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        // Java bytes are signed.
                        json::int(out, i64::from(b as i8));
                    }
                    out.push(b']');
                }
                Kind::Text(_) | Kind::Bytes(_) => {
                    out.push(b'[');
                    elem.write_placeholder(out, placeholder);
                    out.push(b']');
                }
                _ => out.extend_from_slice(b"null"),
            },
            _ => out.extend_from_slice(b"null"),
        }
    }
}

/// Java's `UUID.nameUUIDFromBytes`: a version-3 (MD5) UUID.
fn name_uuid(bytes: &[u8]) -> String {
    use md5::Digest;
    let mut h: [u8; 16] = md5::Md5::digest(bytes).into();
    h[6] = (h[6] & 0x0f) | 0x30;
    h[8] = (h[8] & 0x3f) | 0x80;
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// What Debezium says when a NaN or infinite numeric meets `decimal.handling.mode=precise`.
const SPECIAL_DECIMAL: &str =
    "got a special value (NaN/Infinity) for a decimal column, which decimal.handling.mode=precise \
     cannot express; set decimal.handling.mode to string (or double) to capture it, as Debezium advises";

/// A float's text (`1.5`, `-2e+20`, `NaN`, `Infinity`, `-Infinity`), strictly in PostgreSQL's output forms.
fn parse_float(text: &[u8]) -> Option<f64> {
    match text {
        b"NaN" => Some(f64::NAN),
        b"Infinity" => Some(f64::INFINITY),
        b"-Infinity" => Some(f64::NEG_INFINITY),
        _ if json::is_number(text) => std::str::from_utf8(text).ok()?.parse().ok(),
        _ => None,
    }
}

/// `(x,y)` → the coordinates.
fn parse_point(text: &[u8]) -> Option<(f64, f64)> {
    let inner = text.strip_prefix(b"(")?.strip_suffix(b")")?;
    let comma = inner.iter().position(|&b| b == b',')?;
    Some((parse_float(&inner[..comma])?, parse_float(&inner[comma + 1..])?))
}

/// A bit string (`10110`) as Java's `BitSet.toByteArray`: the last character is bit 0, bytes little-endian, as
/// few as the highest set bit needs (none when all bits are 0).
fn bits_le(text: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; text.len().div_ceil(8)];
    for (i, &c) in text.iter().rev().enumerate() {
        match c {
            b'1' => bytes[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return None,
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

pub(crate) fn is_special_numeric(text: &[u8]) -> bool {
    matches!(text, b"NaN" | b"Infinity" | b"-Infinity")
}

/// Copies an integer's text when it is a JSON integer (`-?(0|[1-9][0-9]*)`) within `min..=max`. One pass over the
/// bytes: every integer column of every row comes through here.
fn int_in_range(out: &mut Vec<u8>, text: &[u8], min: i64, max: i64) -> Option<()> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, text),
    };
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    // Accumulated as a negative number, so that i64::MIN fits.
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    let v = if negative { v } else { v.checked_neg()? };
    (min..=max).contains(&v).then(|| out.extend_from_slice(text))
}

fn quoted(s: &str) -> String {
    let mut out = Vec::new();
    json::string(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// Ends a schema: Kafka's JsonConverter writes `default` after the parameters, and a struct adds `field` last.
/// `,"parameters":{…}`: the kind's own (a JSON object) followed by a column mapper's (`"k":"v"` pairs), if any.
fn write_params(out: &mut Vec<u8>, own: Option<&str>, extra: Option<&[u8]>) {
    match (own, extra) {
        (None, None) => {}
        (Some(own), None) => {
            out.extend_from_slice(b",\"parameters\":");
            out.extend_from_slice(own.as_bytes());
        }
        (own, Some(extra)) => {
            out.extend_from_slice(b",\"parameters\":{");
            if let Some(own) = own.and_then(|o| o.strip_prefix('{')).and_then(|o| o.strip_suffix('}')) {
                out.extend_from_slice(own.as_bytes());
                out.push(b',');
            }
            out.extend_from_slice(extra);
            out.push(b'}');
        }
    }
}

fn close_field(out: &mut Vec<u8>, default: Option<&[u8]>, field: Option<&str>) {
    if let Some(default) = default {
        out.extend_from_slice(b",\"default\":");
        out.extend_from_slice(default);
    }
    if let Some(f) = field {
        out.extend_from_slice(b",\"field\":");
        json::string(out, f);
    }
    out.push(b'}');
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8], url_safe: bool) {
    out.push(b'"');
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let start = out.len();
    out.resize(start + base64::encoded_len(bytes.len(), true).unwrap_or(0), 0);
    let n = engine.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + n);
    out.push(b'"');
}

/// Writes raw bytes per `binary.handling.mode`: base64 for Connect bytes (the JSON converter's form) and for
/// `base64`, the URL-safe alphabet for `base64-url-safe`, lower-case hex for `hex`.
pub fn write_binary(out: &mut Vec<u8>, bytes: &[u8], mode: BinaryHandlingMode) {
    match mode {
        BinaryHandlingMode::Bytes | BinaryHandlingMode::Base64 => write_base64(out, bytes, false),
        BinaryHandlingMode::Base64UrlSafe => write_base64(out, bytes, true),
        BinaryHandlingMode::Hex => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(b'"');
            for b in bytes {
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            out.push(b'"');
        }
    }
}

pub(crate) fn decode_bytea(text: &[u8]) -> Option<Vec<u8>> {
    let hex = text.strip_prefix(b"\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// Writes a PostgreSQL array literal (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`) as JSON arrays.
fn write_array(out: &mut Vec<u8>, elem: &Kind, text: &[u8]) -> Result<(), String> {
    // Skip an optional dimension decoration: `[1:2]={…}`.
    let text = match text.iter().position(|&b| b == b'=') {
        Some(i) if text.first() == Some(&b'[') => &text[i + 1..],
        _ => text,
    };
    let mut pos = 0;
    parse_array(out, elem, text, &mut pos, 1)?;
    if pos != text.len() {
        return Err(format!("`{}` has trailing characters after the array", String::from_utf8_lossy(text)));
    }
    Ok(())
}

/// PostgreSQL's `MAXDIM`: deeper text is not an array value, and refusing it bounds the recursion.
const MAX_ARRAY_DEPTH: usize = 6;

fn parse_array(out: &mut Vec<u8>, elem: &Kind, text: &[u8], pos: &mut usize, depth: usize) -> Result<(), String> {
    let bad = || format!("`{}` is not an array literal", String::from_utf8_lossy(text));
    if text.get(*pos) != Some(&b'{') || depth > MAX_ARRAY_DEPTH {
        return Err(bad());
    }
    *pos += 1;
    out.push(b'[');
    if text.get(*pos) == Some(&b'}') {
        *pos += 1;
        out.push(b']');
        return Ok(());
    }
    let mut first = true;
    loop {
        if !first {
            out.push(b',');
        }
        first = false;
        match text.get(*pos) {
            Some(b'{') => parse_array(out, elem, text, pos, depth + 1)?,
            Some(b'"') => {
                *pos += 1;
                let mut value = Vec::new();
                loop {
                    match text.get(*pos) {
                        Some(b'\\') => {
                            value.push(*text.get(*pos + 1).ok_or_else(bad)?);
                            *pos += 2;
                        }
                        Some(b'"') => {
                            *pos += 1;
                            break;
                        }
                        Some(&b) => {
                            value.push(b);
                            *pos += 1;
                        }
                        None => return Err(bad()),
                    }
                }
                elem.write_value(out, &value)?;
            }
            Some(_) => {
                let start = *pos;
                while let Some(&b) = text.get(*pos) {
                    if b == b',' || b == b'}' {
                        break;
                    }
                    *pos += 1;
                }
                let raw = &text[start..*pos];
                // Array elements are optional, so a NaN or infinite numeric element falls back to null under
                // decimal.handling.mode=precise, as a nullable column's value does.
                if raw == b"NULL" || (elem.is_precise_decimal() && is_special_numeric(raw)) {
                    out.extend_from_slice(b"null");
                } else {
                    elem.write_value(out, raw)?;
                }
            }
            None => return Err(bad()),
        }
        match text.get(*pos) {
            Some(b',') => *pos += 1,
            Some(b'}') => {
                *pos += 1;
                out.push(b']');
                return Ok(());
            }
            _ => return Err(bad()),
        }
    }
}

/// The Connect schema of Debezium's PostgreSQL `source` block (Debezium 3.5+: with `origin` and `origin_lsn`,
/// which stay null because Sluice does not track replication origins).
pub fn write_source_schema(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
    let fields: [(&str, &str, bool); 16] = [
        ("string", "version", false),
        ("string", "connector", false),
        ("string", "name", false),
        ("int64", "ts_ms", false),
        ("string", "snapshot", true),
        ("string", "db", false),
        ("string", "sequence", true),
        ("int64", "ts_us", true),
        ("int64", "ts_ns", true),
        ("string", "schema", false),
        ("string", "table", false),
        ("int64", "txId", true),
        ("int64", "lsn", true),
        ("int64", "xmin", true),
        ("string", "origin", true),
        ("int64", "origin_lsn", true),
    ];
    for (i, (ty, name, optional)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if *name == "snapshot" {
            out.extend_from_slice(b"{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":\"");
            out.extend_from_slice(SNAPSHOT_ALLOWED.as_bytes());
            out.extend_from_slice(b"\"},\"default\":\"false\",\"field\":\"snapshot\"}");
            continue;
        }
        out.extend_from_slice(format!("{{\"type\":\"{ty}\",\"optional\":{optional},\"field\":\"{name}\"}}").as_bytes());
    }
    out.extend_from_slice(
        b"],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"version\":1,\"field\":\"source\"}",
    );
}

/// The Connect schema of the `transaction` block (always null: transaction metadata is not provided yet).
pub const TRANSACTION_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}";

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// What `int_in_range` accepts, stated the slow way: a JSON integer that Rust parses into the range.
    fn reference(text: &[u8], min: i64, max: i64) -> bool {
        super::json::is_number(text)
            && !text.iter().any(|b| matches!(b, b'.' | b'e' | b'E'))
            && std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .is_some_and(|v| (min..=max).contains(&v))
    }

    proptest! {
        #[test]
        fn integer_text_is_accepted_exactly_when_it_is_a_json_integer_in_range(
            text in "-?[0-9]{0,21}|[-+0-9.eE ]{0,6}|\\PC{0,4}",
            bounds in prop::sample::select(vec![
                (i64::from(i16::MIN), i64::from(i16::MAX)),
                (i64::from(i32::MIN), i64::from(i32::MAX)),
                (i64::MIN, i64::MAX),
            ]),
        ) {
            let mut out = Vec::new();
            let accepted = super::int_in_range(&mut out, text.as_bytes(), bounds.0, bounds.1).is_some();
            prop_assert_eq!(accepted, reference(text.as_bytes(), bounds.0, bounds.1), "{:?}", text);
            prop_assert_eq!(out, if accepted { text.as_bytes().to_vec() } else { Vec::new() });
        }
    }

    #[test]
    fn integer_limits_and_non_json_forms() {
        for (text, ok) in [
            ("-9223372036854775808", true),
            ("9223372036854775807", true),
            ("9223372036854775808", false),
            ("-9223372036854775809", false),
            ("-0", true),
            ("007", false),
            ("+1", false),
            ("-", false),
            ("", false),
        ] {
            assert_eq!(
                super::int_in_range(&mut Vec::new(), text.as_bytes(), i64::MIN, i64::MAX).is_some(),
                ok,
                "{text}"
            );
        }
        assert!(super::int_in_range(&mut Vec::new(), b"32768", i64::from(i16::MIN), i64::from(i16::MAX)).is_none());
        assert!(super::int_in_range(&mut Vec::new(), b"-32768", i64::from(i16::MIN), i64::from(i16::MAX)).is_some());
    }
}
