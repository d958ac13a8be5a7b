//! Debezium's per-column options: which columns make a table's key (`message.key.columns`), and the column mappers
//! that rewrite a column's values or annotate its schema (`column.mask.with.<N>.chars`,
//! `column.mask.hash[.v2].<algorithm>.with.salt.<salt>`, `column.truncate.to.<N>.chars`,
//! `column.propagate.source.type`, `datatype.propagate.source.type`).
//!
//! They live in the format, not the source, because Debezium applies them where it builds a table's Connect schema
//! (`TableSchemaBuilder`): the source still reads every column as it is, and only the encoding changes. So they are
//! decided, like the rest of the encoder's per-table work, once per table version into a [`ColumnPlan`] per column
//! and a key column list; per event only a mapped column takes a slower path, rewriting the value it has just written.
//!
//! What Debezium does, and Sluice with it (Debezium 3's `Key.CustomKeyMapper`, `ColumnMappers`, `MaskStrings`,
//! `TruncateColumn`, `PropagateSourceMetadataToSchemaParameter`):
//! - Names are matched as `<schema>.<table>.<column>` (`<schema>.<table>.<type>` for `datatype.propagate.source.type`)
//!   by anchored, case-insensitive regular expressions.
//! - A key entry `<table regex>:<col>,<col>` becomes one expression `<table regex>.<col>` per column; a table's key is
//!   every column matched, expression by expression in the order given; a table none of them matches, or whose
//!   listed columns do not exist, keeps its primary key. Key fields are never masked.
//! - A column takes the first mapper that matches it, in Debezium's order: truncation, masking with `*`, column
//!   source types, data-type source types, hashing (v1, then v2). A column both masked and propagated is only masked.
//! - Masking and hashing rewrite character columns only (`char`, `varchar`, `text`, `name`, `bpchar`, enums and
//!   domains over them, which pgjdbc reports as CHAR/VARCHAR); masking turns nulls into the mask too, hashing keeps
//!   them null. Either marks the field's schema `"masked":"true"`, whatever the column's type.
//! - Truncation applies where the column's length (pgjdbc's) is above the limit or unknown, adding the schema
//!   parameter `truncateLength`, and shortens whatever value Debezium holds as a Java string (to that many UTF-16
//!   units) or byte buffer (`bytea` under `binary.handling.mode=bytes`, to that many bytes).
//! - Hashes are lower-case hex of the digest of the salt's bytes followed by the value: v1 hashes the value's Java
//!   serialization (`ObjectOutputStream.writeObject(String)`), v2 its UTF-8 bytes; the hex is cut to the column's
//!   length (`varchar(20)` gives 20 characters).
//! - `__debezium.source.column.type` is the type's name upper-cased (a domain's own name; `SERIAL`, `BIGSERIAL`,
//!   `SMALLSERIAL` for integer columns defaulting to a sequence, as pgjdbc reports them), `…length` and `…scale` are
//!   pgjdbc's precision and scale for the type modifier, `…name` the column's name.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use regex::Regex;
use sluice_core::{ColumnSchema, TableSchema};

use crate::json;
use crate::types::Kind;

/// pgjdbc's `unknownLength`: the length it reports for types without one (`text`, `bytea`, `money`, …).
const UNKNOWN_LENGTH: i64 = i32::MAX as i64;

/// An anchored, case-insensitive regular expression, compared by its source.
#[derive(Clone, Debug)]
pub struct Pattern(Regex);

impl Pattern {
    /// `^(?:expr)$`, case-insensitive, as Debezium's `Predicates.includes` matches.
    pub fn new(expr: &str) -> Result<Self, regex::Error> {
        sluice_config::name_pattern(expr).map(Pattern)
    }

    fn matches(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

impl From<Regex> for Pattern {
    fn from(r: Regex) -> Self {
        Pattern(r)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// A digest Java's `MessageDigest` offers under the name Debezium's key carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl HashAlgorithm {
    /// The algorithm for a Java Cryptography Architecture name or alias, compared without regard to case as
    /// `MessageDigest.getInstance` does.
    pub fn from_java_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => HashAlgorithm::Md5,
            "SHA-1" | "SHA1" | "SHA" => HashAlgorithm::Sha1,
            "SHA-224" | "SHA224" => HashAlgorithm::Sha224,
            "SHA-256" | "SHA256" => HashAlgorithm::Sha256,
            "SHA-384" | "SHA384" => HashAlgorithm::Sha384,
            "SHA-512" | "SHA512" => HashAlgorithm::Sha512,
            "SHA-512/224" | "SHA512/224" => HashAlgorithm::Sha512_224,
            "SHA-512/256" | "SHA512/256" => HashAlgorithm::Sha512_256,
            "SHA3-224" => HashAlgorithm::Sha3_224,
            "SHA3-256" => HashAlgorithm::Sha3_256,
            "SHA3-384" => HashAlgorithm::Sha3_384,
            "SHA3-512" => HashAlgorithm::Sha3_512,
            _ => return None,
        })
    }

    /// The names accepted, for error messages.
    pub const NAMES: &'static str =
        "MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256, SHA3-224, SHA3-256, SHA3-384, SHA3-512";

    fn digest(self, salt: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<D: sha2::Digest>(salt: &[u8], data: &[u8]) -> Vec<u8> {
            let mut d = D::new();
            d.update(salt);
            d.update(data);
            d.finalize().to_vec()
        }
        match self {
            HashAlgorithm::Md5 => run::<md5::Md5>(salt, data),
            HashAlgorithm::Sha1 => run::<sha1::Sha1>(salt, data),
            HashAlgorithm::Sha224 => run::<sha2::Sha224>(salt, data),
            HashAlgorithm::Sha256 => run::<sha2::Sha256>(salt, data),
            HashAlgorithm::Sha384 => run::<sha2::Sha384>(salt, data),
            HashAlgorithm::Sha512 => run::<sha2::Sha512>(salt, data),
            HashAlgorithm::Sha512_224 => run::<sha2::Sha512_224>(salt, data),
            HashAlgorithm::Sha512_256 => run::<sha2::Sha512_256>(salt, data),
            HashAlgorithm::Sha3_224 => run::<sha3::Sha3_224>(salt, data),
            HashAlgorithm::Sha3_256 => run::<sha3::Sha3_256>(salt, data),
            HashAlgorithm::Sha3_384 => run::<sha3::Sha3_384>(salt, data),
            HashAlgorithm::Sha3_512 => run::<sha3::Sha3_512>(salt, data),
        }
    }
}

/// What a column mapper does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapper {
    /// `column.truncate.to.<N>.chars`.
    Truncate(usize),
    /// `column.mask.with.<N>.chars`: N `*`.
    Mask(usize),
    /// `column.mask.hash[.v2].<algorithm>.with.salt.<salt>`.
    Hash { algorithm: HashAlgorithm, salt: Vec<u8>, v2: bool },
    /// `column.propagate.source.type` / `datatype.propagate.source.type`.
    PropagateSourceType,
}

/// One mapper and the columns it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapperRule {
    pub patterns: Vec<Pattern>,
    /// Matched against `<schema>.<table>.<type name>` rather than `<schema>.<table>.<column>`.
    pub by_data_type: bool,
    pub mapper: Mapper,
}

/// The per-column options, as configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnOptions {
    /// `message.key.columns`: one `<table regex>.<column>` expression per listed column, in order.
    pub key_columns: Vec<Pattern>,
    /// The mappers, in the order Debezium tries them.
    pub mappers: Vec<MapperRule>,
}

/// Parses `message.key.columns` as Debezium does: `;`-separated `<table regex>:<column>,<column>` entries (a trailing
/// `;` allowed), each checked against Debezium's `^\s*([^:]+):([^:,]+(,[^:,]+)*)\s*$`. `Err` says which entry is
/// malformed.
pub fn parse_key_columns(value: &str) -> Result<Vec<Pattern>, String> {
    let mut entries: Vec<&str> = value.split(';').collect();
    // Java's String.split drops trailing empty strings.
    while entries.last().is_some_and(|e| e.is_empty()) {
        entries.pop();
    }
    if entries.is_empty() {
        return Err("must not be empty".into());
    }
    let mut patterns = Vec::new();
    for entry in entries {
        let malformed = || {
            format!(
                "`{entry}` is not `<fully-qualified table regex>:<column>,<column>` (entries are separated by `;`, \
                 e.g. `inventory.customers:id,email;(.*).purchaseorders:pk3`)"
            )
        };
        let (table, columns) = entry.split_once(':').ok_or_else(malformed)?;
        let table = table.trim();
        let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
        if table.is_empty() || columns.iter().any(|c| c.is_empty() || c.contains(':')) {
            return Err(malformed());
        }
        for column in columns {
            let expr = format!("{table}.{column}");
            patterns.push(Pattern::new(&expr).map_err(|e| format!("`{expr}` is not a valid regular expression: {e}"))?);
        }
    }
    Ok(patterns)
}

/// What the encoder does with one column's values and schema.
#[derive(Clone, Debug, Default)]
pub(crate) struct ColumnPlan {
    /// The rewrite of the column's values in `before` and `after`, when one applies.
    pub value: Option<ValueMapping>,
    /// Schema parameters the mapper adds, as `"name":"value"` pairs joined by commas.
    pub params: Option<Box<[u8]>>,
}

/// The rewrite of a column's values.
#[derive(Clone, Debug)]
pub(crate) enum ValueMapping {
    /// Every value, null included, becomes this JSON string.
    Mask(Box<[u8]>),
    /// Strings cut to this many UTF-16 units.
    TruncateChars(usize),
    /// Byte values cut to this many bytes.
    TruncateBytes(usize),
    /// Strings replaced by their salted hash's hex, cut to `max_chars`.
    Hash { algorithm: HashAlgorithm, salt: Vec<u8>, v2: bool, max_chars: Option<usize> },
}

impl ColumnOptions {
    /// The columns that make `table`'s key under `message.key.columns`, in key order; `None` when no expression
    /// matches one of its columns (the primary key then).
    pub(crate) fn key_columns(&self, table: &TableSchema) -> Option<Vec<usize>> {
        let mut found = Vec::new();
        for pattern in &self.key_columns {
            for (i, c) in table.columns.iter().enumerate() {
                // A column matched twice would be a duplicate field, which Kafka Connect's SchemaBuilder refuses.
                if !found.contains(&i) && pattern.matches(&column_id(table, &c.name)) {
                    found.push(i);
                }
            }
        }
        (!found.is_empty()).then_some(found)
    }

    /// The plan for one column of `table`, of kind `kind`.
    pub(crate) fn plan(&self, table: &TableSchema, column: &ColumnSchema, kind: &Kind) -> ColumnPlan {
        let Some(rule) = self.mappers.iter().find(|r| {
            let name = if r.by_data_type { &column.type_name } else { &column.name };
            let id = column_id(table, name);
            r.patterns.iter().any(|p| p.matches(&id))
        }) else {
            return ColumnPlan::default();
        };
        let length = column_length(column);
        match &rule.mapper {
            Mapper::Truncate(max) => {
                if length >= 0 && length <= *max as i64 {
                    return ColumnPlan::default();
                }
                let value = match kind.value_holder() {
                    Holder::String => Some(ValueMapping::TruncateChars(*max)),
                    Holder::ByteBuffer => Some(ValueMapping::TruncateBytes(*max)),
                    Holder::Other => None,
                };
                ColumnPlan { value, params: Some(params(&[("truncateLength", &max.to_string())])) }
            }
            Mapper::Mask(n) => {
                let value = is_character(column).then(|| {
                    let mut mask = Vec::with_capacity(n + 2);
                    json::string(&mut mask, &"*".repeat(*n));
                    ValueMapping::Mask(mask.into_boxed_slice())
                });
                ColumnPlan { value, params: Some(params(&[("masked", "true")])) }
            }
            Mapper::Hash { algorithm, salt, v2 } => {
                let value = is_character(column).then(|| ValueMapping::Hash {
                    algorithm: *algorithm,
                    salt: salt.clone(),
                    v2: *v2,
                    max_chars: usize::try_from(length).ok().filter(|l| *l > 0),
                });
                ColumnPlan { value, params: Some(params(&[("masked", "true")])) }
            }
            Mapper::PropagateSourceType => {
                let type_name = source_type_name(column).to_ascii_uppercase();
                let base = element_or_self(column.base_type_oid);
                let params = params(&[
                    ("__debezium.source.column.type", &type_name),
                    ("__debezium.source.column.length", &length.to_string()),
                    ("__debezium.source.column.scale", &scale(base, column.type_modifier).to_string()),
                    ("__debezium.source.column.name", &column.name),
                ]);
                ColumnPlan { value: None, params: Some(params) }
            }
        }
    }
}

/// `<schema>.<table>.<name>`, Debezium's `ColumnId` for a PostgreSQL table (no catalogue part).
fn column_id(table: &TableSchema, name: &str) -> String {
    format!("{}.{}.{name}", table.id.schema, table.id.table)
}

fn params(pairs: &[(&str, &str)]) -> Box<[u8]> {
    let mut out = Vec::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::string(&mut out, name);
        out.push(b':');
        json::string(&mut out, value);
    }
    out.into_boxed_slice()
}

/// What Java type Debezium holds a column's converted value in, which decides what truncation does to it.
pub(crate) enum Holder {
    String,
    ByteBuffer,
    Other,
}

/// Whether pgjdbc reports the column's (root) type as CHAR or VARCHAR, the types Debezium masks and hashes.
fn is_character(column: &ColumnSchema) -> bool {
    matches!(column.base_type_oid, 18 | 19 | 25 | 1042 | 1043)
        || (column.enum_values.is_some() && column.base_type_oid != TEXT_ARRAY_OID)
}

const TEXT_ARRAY_OID: u32 = 1009;

/// The type name pgjdbc reports: `serial`, `bigserial` and `smallserial` for integer columns whose default draws
/// from a sequence.
fn source_type_name(column: &ColumnSchema) -> &str {
    let serial = column.default_expression.as_deref().is_some_and(|d| d.contains("nextval("));
    match column.type_name.as_str() {
        "int4" if serial => "serial",
        "int8" if serial => "bigserial",
        "int2" if serial => "smallserial",
        name => name,
    }
}

/// pgjdbc treats an array as its element type here (`convertArrayToBaseOid`).
fn element_or_self(oid: u32) -> u32 {
    crate::types::array_element(oid).unwrap_or(oid)
}

/// The column's length as Debezium's PostgreSQL connector records it: pgjdbc's precision for the type and modifier,
/// or its display size where the precision is 0 (`numeric` without a modifier).
pub(crate) fn column_length(column: &ColumnSchema) -> i64 {
    let oid = element_or_self(column.base_type_oid);
    let typmod = column.type_modifier;
    match precision(oid, typmod) {
        0 => display_size(oid, typmod),
        p => p,
    }
}

/// pgjdbc's `TypeInfoCache.getPrecision`.
fn precision(oid: u32, typmod: i32) -> i64 {
    let typmod = i64::from(typmod);
    match oid {
        21 => 5,
        26 | 23 => 10,
        20 => 19,
        700 => 8,
        701 => 17,
        1700 if typmod == -1 => 0,
        1700 => ((typmod - 4) & 0xFFFF_0000) >> 16,
        18 | 16 => 1,
        1042 | 1043 if typmod == -1 => UNKNOWN_LENGTH,
        1042 | 1043 => typmod - 4,
        1082 | 1083 | 1266 | 1186 | 1114 | 1184 => display_size(oid, typmod as i32),
        1560 => typmod,
        1562 if typmod == -1 => UNKNOWN_LENGTH,
        1562 => typmod,
        _ => UNKNOWN_LENGTH,
    }
}

/// pgjdbc's `TypeInfoCache.getDisplaySize`.
fn display_size(oid: u32, typmod: i32) -> i64 {
    let typmod = i64::from(typmod);
    match oid {
        21 => 6,
        23 => 11,
        26 => 10,
        20 => 20,
        700 => 15,
        701 => 25,
        18 | 16 => 1,
        1082 => 13,
        1083 | 1266 | 1114 | 1184 => {
            let seconds = match typmod {
                -1 => 7,
                0 => 0,
                1 => 3,
                t => t + 1,
            };
            match oid {
                1083 => 8 + seconds,
                1266 => 8 + seconds + 6,
                1114 => 13 + 1 + 8 + seconds,
                _ => 13 + 1 + 8 + seconds + 6,
            }
        }
        1186 => 49,
        1042 | 1043 if typmod == -1 => UNKNOWN_LENGTH,
        1042 | 1043 => typmod - 4,
        1700 if typmod == -1 => 131_089,
        1700 => {
            let precision = ((typmod - 4) >> 16) & 0xFFFF;
            let scale = (typmod - 4) & 0xFFFF;
            1 + precision + i64::from(scale != 0)
        }
        1560 => typmod,
        1562 if typmod == -1 => UNKNOWN_LENGTH,
        1562 => typmod,
        _ => UNKNOWN_LENGTH,
    }
}

/// pgjdbc's `TypeInfoCache.getScale`.
fn scale(oid: u32, typmod: i32) -> i64 {
    let typmod = i64::from(typmod);
    match oid {
        700 => 8,
        701 => 17,
        1700 if typmod == -1 => 0,
        1700 => (typmod - 4) & 0xFFFF,
        1083 | 1266 | 1114 | 1184 if typmod == -1 => 6,
        1083 | 1266 | 1114 | 1184 => typmod,
        1186 if typmod == -1 => 6,
        1186 => typmod & 0xFFFF,
        _ => 0,
    }
}

impl ValueMapping {
    /// Rewrites the value just written at `out[start..]`; `null` says whether the column's datum was null.
    pub(crate) fn rewrite(&self, out: &mut Vec<u8>, start: usize, null: bool) {
        if let ValueMapping::Mask(mask) = self {
            out.truncate(start);
            out.extend_from_slice(mask);
            return;
        }
        if null || out.get(start) != Some(&b'"') {
            return;
        }
        let Ok(value) = serde_json::from_slice::<String>(&out[start..]) else { return };
        out.truncate(start);
        match self {
            ValueMapping::Mask(_) => unreachable!("handled above"),
            ValueMapping::TruncateChars(max) => json::string(out, truncate_utf16(&value, *max)),
            ValueMapping::TruncateBytes(max) => match STANDARD.decode(&value) {
                Ok(mut bytes) => {
                    bytes.truncate(*max);
                    json::string(out, &STANDARD.encode(bytes));
                }
                Err(_) => json::string(out, &value),
            },
            ValueMapping::Hash { algorithm, salt, v2, max_chars } => {
                let data = if *v2 { value.into_bytes() } else { java_serialized(&value) };
                let mut hex: String = algorithm.digest(salt, &data).iter().map(|b| format!("{b:02x}")).collect();
                if let Some(max) = max_chars {
                    hex.truncate(*max);
                }
                json::string(out, &hex);
            }
        }
    }
}

/// Java's `String.substring(0, max)` on a string's UTF-16 units, never splitting a surrogate pair.
fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

/// A string as `ObjectOutputStream.writeObject` writes it: the stream header, then `TC_STRING` with a 16-bit length
/// (`TC_LONGSTRING` with a 64-bit one beyond 65535 bytes) and the modified UTF-8 (NUL as two bytes, characters outside
/// the BMP as two three-byte surrogates).
fn java_serialized(s: &str) -> Vec<u8> {
    let mut utf = Vec::with_capacity(s.len());
    for c in s.chars() {
        let mut units = [0u16; 2];
        for &u in c.encode_utf16(&mut units).iter() {
            match u {
                0x0001..=0x007F => utf.push(u as u8),
                0x0000 | 0x0080..=0x07FF => {
                    utf.push(0xC0 | (u >> 6) as u8);
                    utf.push(0x80 | (u & 0x3F) as u8);
                }
                _ => {
                    utf.push(0xE0 | (u >> 12) as u8);
                    utf.push(0x80 | ((u >> 6) & 0x3F) as u8);
                    utf.push(0x80 | (u & 0x3F) as u8);
                }
            }
        }
    }
    let mut out = vec![0xAC, 0xED, 0x00, 0x05];
    match u16::try_from(utf.len()) {
        Ok(len) => {
            out.push(0x74);
            out.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => {
            out.push(0x7C);
            out.extend_from_slice(&(utf.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&utf);
    out
}

/// Reads one `column.mask.*` / `column.truncate.*` key name into its mapper; `Err` explains a malformed name.
pub fn mapper_for_key(name: &str) -> Result<(Family, Mapper), String> {
    const FORMS: &str = "column.mask.with.<N>.chars, column.mask.hash.<algorithm>.with.salt.<salt>, \
                         column.mask.hash.v2.<algorithm>.with.salt.<salt> or column.truncate.to.<N>.chars";
    let count = |n: &str| -> Result<usize, String> {
        n.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| n.parse::<i32>().ok())
            .flatten()
            .map(|n| n as usize)
            .ok_or_else(|| format!("`{n}` is not a number of characters (0 to {})", i32::MAX))
    };
    if let Some(n) = name.strip_prefix("column.truncate.to.").and_then(|r| r.strip_suffix(".chars")) {
        return Ok((Family::Truncate, Mapper::Truncate(count(n)?)));
    }
    if let Some(n) = name.strip_prefix("column.mask.with.").and_then(|r| r.strip_suffix(".chars")) {
        return Ok((Family::Mask, Mapper::Mask(count(n)?)));
    }
    if let Some(rest) = name.strip_prefix("column.mask.hash.") {
        let (family, rest) = match rest.strip_prefix("v2.") {
            Some(r) if r.contains(".with.salt.") => (Family::HashV2, r),
            _ => (Family::Hash, rest),
        };
        let Some((algorithm, salt)) = rest.split_once(".with.salt.").filter(|(a, s)| !a.is_empty() && !s.is_empty())
        else {
            return Err(format!("the name is not one of {FORMS}"));
        };
        if algorithm.contains('.') {
            return Err(format!("the name is not one of {FORMS}"));
        }
        let algorithm = HashAlgorithm::from_java_name(algorithm).ok_or_else(|| {
            format!("`{algorithm}` is not a hash algorithm Sluice has; use one of {}", HashAlgorithm::NAMES)
        })?;
        return Ok((family, Mapper::Hash { algorithm, salt: salt.as_bytes().to_vec(), v2: family == Family::HashV2 }));
    }
    Err(format!("the name is not one of {FORMS}"))
}

/// The kinds of mapper rule, in the order Debezium registers them (`ColumnMappers.create`): a column takes the first
/// rule that matches it in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Truncate,
    Mask,
    PropagateColumn,
    PropagateDataType,
    Hash,
    HashV2,
}

/// The rules in Debezium's order: by family, and within a family by key name (Debezium's order among keys of one
/// family follows a hash map; a fixed one is at least reproducible).
pub fn ordered(mut rules: Vec<(Family, String, MapperRule)>) -> Vec<MapperRule> {
    rules.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    rules.into_iter().map(|(_, _, rule)| rule).collect()
}

#[cfg(test)]
mod tests;
