//! Kafka Connect's transforms of encoded records and its predicates: `RegexRouter`, `TimestampRouter`,
//! `InsertHeader`, `DropHeaders` and `Filter`, which read and change a record's topic, headers and tombstone-ness
//! only; the field transforms (`ReplaceField`, `InsertField`, `MaskField`, `ExtractField`, `ValueToKey`,
//! `HeaderFrom`, `HoistField`, `SetSchemaMetadata`, `Flatten`) and Debezium's `ByLogicalTableRouter`, which read or change its
//! key or value (`super::fields`); `Cast` and `TimestampConverter` (`super::values`); Debezium's `HeaderToValue` and
//! `PartitionRouting` (`super::envelope`); Debezium's scripted `Filter` and `ContentBasedRouter` (`super::script`);
//! and the predicates `TopicNameMatches`, `HasHeaderKey` and `RecordIsTombstone`.
//!
//! Why on encoded records rather than on events: they act on what the encoder made (a topic, a header list, the
//! top-level members of a JSON object), in a few comparisons per record, and the encoder's fast path stays as it
//! is. Behaviour follows Kafka's classes (connect/transforms in apache/kafka) option by option; where Kafka only
//! fails on the first record (a bad date pattern, a replacement naming a missing group), Sluice refuses the
//! configuration.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use sluice_core::{Payload, Record};

use super::envelope::{HashFunction, HeaderToValue, PartitionRouting};
use super::fields::{
    ExtractField, FieldSelection, FieldTypes, Flatten, HeaderFrom, HoistField, InsertField, Insertion,
    LogicalTableRouter, MaskField, ReplaceField, SchemaCache, SchemaNameAdjustment, SetSchemaMetadata, Side,
    ValueToKey,
};
use super::java::{self, DateFormat, Replacement};
use super::script::{NullHandling, ScriptKind, Scripted};
use super::values::{Cast, CastSpec, TimeType, TimestampConverter, UnixPrecision};

/// A predicate's configuration, checked by [`Predicate::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PredicateKind {
    /// `TopicNameMatches` with its `pattern`, matched against the whole topic name.
    TopicNameMatches { pattern: String },
    /// `HasHeaderKey` with its header `name`.
    HasHeaderKey { name: String },
    /// `RecordIsTombstone`.
    RecordIsTombstone,
}

/// A compiled predicate.
#[derive(Clone, Debug)]
pub enum Predicate {
    TopicNameMatches(Regex),
    HasHeaderKey(String),
    RecordIsTombstone,
}

impl Predicate {
    /// The predicate, or why its configuration is wrong (the message completes "`<option>`: …").
    pub fn new(kind: &PredicateKind) -> Result<Predicate, String> {
        Ok(match kind {
            PredicateKind::TopicNameMatches { pattern } => Predicate::TopicNameMatches(
                java::regex(pattern, true)
                    .map_err(|e| format!("`{pattern}` is not a regular expression Sluice can use: {e}"))?,
            ),
            PredicateKind::HasHeaderKey { name } => Predicate::HasHeaderKey(name.clone()),
            PredicateKind::RecordIsTombstone => Predicate::RecordIsTombstone,
        })
    }

    pub fn test(&self, record: &Record) -> bool {
        match self {
            Predicate::TopicNameMatches(pattern) => pattern.is_match(&record.topic),
            Predicate::HasHeaderKey(name) => record.headers.iter().any(|(n, _)| n == name),
            Predicate::RecordIsTombstone => is_null(&record.value),
        }
    }
}

/// Whether a value is Connect's `null`: no value (a tombstone), or the JSON converter's rendering of a null value
/// (`ExtractNewRecordState`'s `delete.handling.mode=none` writes one with its schema). Kafka's predicate sees the
/// value object before conversion, which is null in both cases.
fn is_null(value: &Option<Payload>) -> bool {
    match value {
        None => true,
        Some(Payload::Json(bytes)) => bytes == b"null",
        Some(Payload::JsonWithSchema { payload, .. }) => payload == b"null",
        Some(Payload::String(_) | Payload::Binary(_)) => false,
    }
}

/// A predicate as a transform applies it: `negate` is the transform's option, as in Kafka Connect.
#[derive(Clone, Debug)]
pub struct Condition {
    pub predicate: Predicate,
    pub negate: bool,
}

impl Condition {
    pub fn holds(&self, record: &Record) -> bool {
        self.predicate.test(record) != self.negate
    }
}

/// A record transform's configuration, checked by [`RecordTransform::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordTransformConfig {
    /// `org.apache.kafka.connect.transforms.RegexRouter`.
    RegexRouter { regex: String, replacement: String },
    /// `org.apache.kafka.connect.transforms.TimestampRouter`.
    TimestampRouter { topic_format: String, timestamp_format: String },
    /// `org.apache.kafka.connect.transforms.InsertHeader`.
    InsertHeader { header: String, value_literal: String },
    /// `org.apache.kafka.connect.transforms.DropHeaders`.
    DropHeaders { headers: Vec<String> },
    /// `org.apache.kafka.connect.transforms.Filter`.
    Filter,
    /// `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`.
    ReplaceField { side: Side, selection: FieldSelection },
    /// `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`.
    InsertField {
        side: Side,
        topic: Option<Insertion>,
        partition: Option<Insertion>,
        timestamp: Option<Insertion>,
        static_field: Option<(Insertion, String)>,
    },
    /// `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`.
    MaskField { side: Side, fields: Vec<String>, replacement: Option<String> },
    /// `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`.
    ExtractField { side: Side, field: String },
    /// `org.apache.kafka.connect.transforms.ValueToKey`.
    ValueToKey { fields: Vec<String> },
    /// `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`; `moving` for `operation=move`.
    HeaderFrom { side: Side, fields: Vec<String>, headers: Vec<String>, moving: bool },
    /// `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`.
    HoistField { side: Side, field: String },
    /// `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`.
    Flatten { side: Side, delimiter: String },
    /// `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`.
    SetSchemaMetadata { side: Side, name: Option<String>, version: Option<i32> },
    /// `io.debezium.transforms.ByLogicalTableRouter` (and its newer name `ToLogicalTopicRouter`).
    LogicalTableRouter {
        topic_regex: String,
        topic_replacement: String,
        enforce_uniqueness: bool,
        key_field_name: String,
        key_field_regex: Option<String>,
        key_field_replacement: String,
        adjustment: SchemaNameAdjustment,
    },
    /// `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`, with its `spec` entries as configured.
    Cast { side: Side, spec: Vec<String> },
    /// `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`; `field` empty for the whole key or
    /// value, `format` empty when unset.
    TimestampConverter { side: Side, field: String, target: TimeType, format: String, precision: UnixPrecision },
    /// `io.debezium.transforms.HeaderToValue`; `moving` for `operation=move`.
    HeaderToValue { headers: Vec<String>, fields: Vec<String>, moving: bool },
    /// `io.debezium.transforms.partitions.PartitionRouting`.
    PartitionRouting { fields: Vec<String>, partitions: i32, hash: HashFunction },
    /// `io.debezium.transforms.Filter` or `io.debezium.transforms.ContentBasedRouter`: the expression (`condition` or
    /// `topic.expression`), `topic.regex` and `null.handling.mode`.
    Scripted { kind: ScriptKind, expression: String, topic_regex: Option<String>, nulls: NullHandling },
}

/// Topics a router made, by the topic it was given, so a table's records share one `Arc` instead of allocating a
/// topic each. Bounded: cleared when full (a `TimestampRouter` earlier in the chain makes new inputs every day).
#[derive(Debug, Default)]
pub struct TopicCache(HashMap<Arc<str>, Arc<str>>);

const TOPIC_CACHE_ENTRIES: usize = 1024;

impl TopicCache {
    fn get_or(&mut self, topic: &Arc<str>, make: impl FnOnce(&str) -> String) -> Arc<str> {
        if let Some(hit) = self.0.get(topic) {
            return hit.clone();
        }
        if self.0.len() >= TOPIC_CACHE_ENTRIES {
            self.0.clear();
        }
        let made: Arc<str> = Arc::from(make(topic));
        self.0.insert(topic.clone(), made.clone());
        made
    }
}

/// A Java regex of an option, compiled, or the option and why not.
fn compiled(option: &'static str, pattern: &str, whole: bool) -> Result<Regex, (&'static str, String)> {
    java::regex(pattern, whole)
        .map_err(|e| (option, format!("`{pattern}` is not a regular expression Sluice can use: {e}")))
}

/// A compiled record transform.
#[derive(Debug)]
pub enum RecordTransform {
    RegexRouter { whole: Regex, find: Regex, replacement: Replacement, cache: TopicCache },
    TimestampRouter { topic_format: String, timestamp_format: DateFormat },
    InsertHeader { header: String, value: Vec<u8> },
    DropHeaders(Vec<String>),
    Filter,
    ReplaceField(ReplaceField),
    InsertField(InsertField),
    MaskField(MaskField),
    ExtractField(ExtractField),
    ValueToKey(ValueToKey),
    HeaderFrom(HeaderFrom),
    LogicalTableRouter(Box<LogicalTableRouter>),
    HoistField(HoistField),
    SetSchemaMetadata(SetSchemaMetadata),
    Flatten(Flatten),
    Cast(Cast),
    TimestampConverter(Box<TimestampConverter>),
    HeaderToValue(HeaderToValue),
    PartitionRouting(PartitionRouting),
    Scripted(Box<Scripted>),
}

impl RecordTransform {
    /// The transform, or the option that is wrong and why.
    pub fn new(config: &RecordTransformConfig) -> Result<RecordTransform, (&'static str, String)> {
        Ok(match config {
            RecordTransformConfig::RegexRouter { regex, replacement } => {
                let bad = |e: String| ("regex", format!("`{regex}` is not a regular expression Sluice can use: {e}"));
                let whole = java::regex(regex, true).map_err(bad)?;
                let find = java::regex(regex, false).map_err(bad)?;
                let replacement = Replacement::parse(replacement, &find)
                    .map_err(|e| ("replacement", format!("`{replacement}` for the regex `{regex}`: {e}")))?;
                RecordTransform::RegexRouter { whole, find, replacement, cache: TopicCache::default() }
            }
            RecordTransformConfig::TimestampRouter { topic_format, timestamp_format } => {
                RecordTransform::TimestampRouter {
                    topic_format: topic_format.clone(),
                    timestamp_format: DateFormat::parse(timestamp_format).map_err(|e| {
                        ("timestamp.format", format!("`{timestamp_format}` is not a SimpleDateFormat pattern: {e}"))
                    })?,
                }
            }
            RecordTransformConfig::InsertHeader { header, value_literal } => {
                RecordTransform::InsertHeader { header: header.clone(), value: value_literal.as_bytes().to_vec() }
            }
            RecordTransformConfig::DropHeaders { headers } => {
                if headers.is_empty() {
                    return Err(("headers", "the list of headers to drop is empty".into()));
                }
                RecordTransform::DropHeaders(headers.clone())
            }
            RecordTransformConfig::Filter => RecordTransform::Filter,
            RecordTransformConfig::ReplaceField { side, selection } => RecordTransform::ReplaceField(ReplaceField {
                side: *side,
                selection: selection.clone(),
                schemas: SchemaCache::default(),
            }),
            RecordTransformConfig::InsertField { side, topic, partition, timestamp, static_field } => {
                if topic.is_none() && partition.is_none() && timestamp.is_none() && static_field.is_none() {
                    return Err(("topic.field", "no field insertion configured".into()));
                }
                RecordTransform::InsertField(InsertField {
                    side: *side,
                    topic: topic.clone(),
                    partition: partition.clone(),
                    timestamp: timestamp.clone(),
                    static_field: static_field.clone(),
                    schemas: SchemaCache::default(),
                })
            }
            RecordTransformConfig::MaskField { side, fields, replacement } => {
                if fields.is_empty() {
                    return Err(("fields", "the list of fields to mask is empty".into()));
                }
                if replacement.as_deref() == Some("") {
                    return Err(("replacement", "String must be non-empty".into()));
                }
                RecordTransform::MaskField(MaskField {
                    side: *side,
                    fields: fields.clone(),
                    replacement: replacement.clone(),
                    types: FieldTypes::default(),
                })
            }
            RecordTransformConfig::ExtractField { side, field } => RecordTransform::ExtractField(ExtractField {
                side: *side,
                field: field.clone(),
                schemas: SchemaCache::default(),
            }),
            RecordTransformConfig::ValueToKey { fields } => {
                if fields.is_empty() {
                    return Err(("fields", "the list of value fields for the key is empty".into()));
                }
                RecordTransform::ValueToKey(ValueToKey { fields: fields.clone(), schemas: SchemaCache::default() })
            }
            RecordTransformConfig::HeaderFrom { side, fields, headers, moving } => {
                if fields.is_empty() {
                    return Err(("fields", "the list of fields is empty".into()));
                }
                if headers.len() != fields.len() {
                    return Err((
                        "headers",
                        format!(
                            "'fields' config must have the same number of elements as 'headers' config ({} and {})",
                            fields.len(),
                            headers.len()
                        ),
                    ));
                }
                RecordTransform::HeaderFrom(HeaderFrom {
                    side: *side,
                    fields: fields.clone(),
                    headers: headers.clone(),
                    moving: *moving,
                    schemas: SchemaCache::default(),
                })
            }
            RecordTransformConfig::HoistField { side, field } => RecordTransform::HoistField(HoistField {
                side: *side,
                field: field.clone(),
                schemas: SchemaCache::default(),
            }),
            RecordTransformConfig::Flatten { side, delimiter } => {
                RecordTransform::Flatten(Flatten::new(*side, delimiter.clone()))
            }
            RecordTransformConfig::SetSchemaMetadata { side, name, version } => {
                if name.is_none() && version.is_none() {
                    return Err(("schema.name", "neither schema name nor version configured".into()));
                }
                RecordTransform::SetSchemaMetadata(SetSchemaMetadata {
                    side: *side,
                    name: name.clone(),
                    version: *version,
                    schemas: SchemaCache::default(),
                })
            }
            RecordTransformConfig::LogicalTableRouter {
                topic_regex,
                topic_replacement,
                enforce_uniqueness,
                key_field_name,
                key_field_regex,
                key_field_replacement,
                adjustment,
            } => {
                let topic_whole = compiled("topic.regex", topic_regex, true)?;
                let topic_find = compiled("topic.regex", topic_regex, false)?;
                let topic_replacement = Replacement::parse(topic_replacement, &topic_find).map_err(|e| {
                    ("topic.replacement", format!("`{topic_replacement}` for the regex `{topic_regex}`: {e}"))
                })?;
                let key_field = match key_field_regex {
                    None => None,
                    Some(regex) => {
                        if key_field_replacement.is_empty() {
                            return Err((
                                "key.field.replacement",
                                "key.field.replacement must be non-empty if key.field.regex is set".into(),
                            ));
                        }
                        let whole = compiled("key.field.regex", regex, true)?;
                        let find = compiled("key.field.regex", regex, false)?;
                        let replacement = Replacement::parse(key_field_replacement, &find).map_err(|e| {
                            ("key.field.replacement", format!("`{key_field_replacement}` for the regex `{regex}`: {e}"))
                        })?;
                        Some((whole, find, replacement))
                    }
                };
                RecordTransform::LogicalTableRouter(Box::new(LogicalTableRouter {
                    topic_whole,
                    topic_find,
                    topic_replacement,
                    enforce_uniqueness: *enforce_uniqueness,
                    key_field_name: key_field_name.clone(),
                    key_field,
                    adjustment: *adjustment,
                    topics: HashMap::new(),
                    key_schemas: SchemaCache::default(),
                    value_schemas: SchemaCache::default(),
                }))
            }
            RecordTransformConfig::Cast { side, spec } => {
                RecordTransform::Cast(Cast::new(*side, CastSpec::parse(spec).map_err(|e| ("spec", e))?))
            }
            RecordTransformConfig::TimestampConverter { side, field, target, format, precision } => {
                let pattern = format.trim();
                if *target == TimeType::String && pattern.is_empty() {
                    return Err((
                        "format",
                        "TimestampConverter requires format option to be specified when using string timestamps".into(),
                    ));
                }
                let format = if pattern.is_empty() {
                    None
                } else {
                    let parsed = DateFormat::parse(format).map_err(|e| {
                        (
                            "format",
                            format!(
                                "TimestampConverter requires a SimpleDateFormat-compatible pattern for string \
                                 timestamps: {format} ({e})"
                            ),
                        )
                    })?;
                    Some((parsed, format.clone()))
                };
                RecordTransform::TimestampConverter(Box::new(TimestampConverter::new(
                    *side,
                    field.clone(),
                    *target,
                    format,
                    *precision,
                )))
            }
            RecordTransformConfig::HeaderToValue { headers, fields, moving } => {
                if headers.len() != fields.len() {
                    return Err((
                        "fields",
                        "'fields' config must have the same number of elements as 'headers' config.".into(),
                    ));
                }
                let paths = fields.iter().map(|f| f.split('.').map(String::from).collect()).collect();
                RecordTransform::HeaderToValue(HeaderToValue::new(headers.clone(), paths, *moving))
            }
            RecordTransformConfig::PartitionRouting { fields, partitions, hash } => {
                if *partitions <= 0 {
                    return Err(("partition.topic.num", "A positive integer is expected".into()));
                }
                let paths = fields.iter().map(|f| f.split('.').map(|p| p.trim().to_string()).collect()).collect();
                RecordTransform::PartitionRouting(PartitionRouting::new(paths, *partitions, *hash))
            }
            RecordTransformConfig::Scripted { kind, expression, topic_regex, nulls } => {
                RecordTransform::Scripted(Box::new(Scripted::new(*kind, expression, topic_regex.as_deref(), *nulls)?))
            }
        })
    }

    /// Applies the transform; `Ok(false)` when it drops the record (`Filter`), an error when the record is not what
    /// the transform needs (a key or value that is not a struct).
    pub fn apply(&mut self, record: &mut Record) -> Result<bool, String> {
        match self {
            RecordTransform::RegexRouter { whole, find, replacement, cache } => {
                // Kafka: `matcher.matches()`, then `replaceFirst`, which finds its own first match.
                if whole.is_match(&record.topic) {
                    record.topic = cache.get_or(&record.topic, |t| java::replace_first(find, replacement, t));
                }
            }
            RecordTransform::TimestampRouter { topic_format, timestamp_format } => {
                // Kafka replaces `${topic}` first and `${timestamp}` in the result, each literally.
                let stamp = timestamp_format.format(record.timestamp_ms);
                let topic = topic_format.replace("${topic}", &record.topic).replace("${timestamp}", &stamp);
                if *record.topic != *topic {
                    record.topic = Arc::from(topic);
                }
            }
            RecordTransform::InsertHeader { header, value } => record.headers.push((header.clone(), value.clone())),
            RecordTransform::DropHeaders(names) => record.headers.retain(|(n, _)| !names.contains(n)),
            RecordTransform::Filter => return Ok(false),
            RecordTransform::ReplaceField(t) => t.apply(record)?,
            RecordTransform::InsertField(t) => t.apply(record)?,
            RecordTransform::MaskField(t) => t.apply(record)?,
            RecordTransform::ExtractField(t) => t.apply(record)?,
            RecordTransform::ValueToKey(t) => t.apply(record)?,
            RecordTransform::HeaderFrom(t) => t.apply(record)?,
            RecordTransform::LogicalTableRouter(t) => t.apply(record)?,
            RecordTransform::HoistField(t) => t.apply(record)?,
            RecordTransform::SetSchemaMetadata(t) => t.apply(record)?,
            RecordTransform::Flatten(t) => t.apply(record)?,
            RecordTransform::Cast(t) => t.apply(record)?,
            RecordTransform::TimestampConverter(t) => t.apply(record)?,
            RecordTransform::HeaderToValue(t) => t.apply(record)?,
            RecordTransform::PartitionRouting(t) => t.apply(record)?,
            RecordTransform::Scripted(t) => return t.apply(record),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use sluice_core::Position;

    use super::*;

    fn record(topic: &str, headers: &[(&str, &str)], value: Option<Payload>) -> Record {
        Record {
            topic: Arc::from(topic),
            partition: None,
            key: Some(Payload::Json(b"{\"id\":1}".to_vec())),
            value,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect(),
            timestamp_ms: 1_483_425_001_864,
            position: Position::default(),
        }
    }

    fn value() -> Option<Payload> {
        Some(Payload::Json(b"{\"id\":1}".to_vec()))
    }

    fn regex_router(regex: &str, replacement: &str) -> RecordTransform {
        let config = RecordTransformConfig::RegexRouter { regex: regex.into(), replacement: replacement.into() };
        RecordTransform::new(&config).unwrap()
    }

    fn routed(transform: &mut RecordTransform, topic: &str) -> String {
        let mut r = record(topic, &[], value());
        assert!(transform.apply(&mut r).unwrap());
        r.topic.to_string()
    }

    #[test]
    fn regex_router_gives_kafka_s_results() {
        // Kafka's RegexRouterTest, case by case.
        assert_eq!(routed(&mut regex_router("foo", "bar"), "foo"), "bar");
        assert_eq!(routed(&mut regex_router("foo", "bar"), "orig"), "orig", "doesntMatch");
        assert_eq!(routed(&mut regex_router("(.*)", "$1"), "orig"), "orig", "identity");
        assert_eq!(routed(&mut regex_router("(.*)", "prefix-$1"), "orig"), "prefix-orig");
        assert_eq!(routed(&mut regex_router("(.*)", "$1-suffix"), "orig"), "orig-suffix");
        assert_eq!(routed(&mut regex_router("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1"), "index-20160117"), "index");
    }

    #[test]
    fn regex_router_needs_the_whole_topic_to_match() {
        // Debezium's documented use: dbserver1.inventory.customers_shard1 → dbserver1.inventory.customers_all_shards.
        let mut router = regex_router("(.*)customers_shard(.*)", "$1customers_all_shards");
        assert_eq!(
            routed(&mut router, "dbserver1.inventory.customers_shard1"),
            "dbserver1.inventory.customers_all_shards"
        );
        assert_eq!(
            routed(&mut router, "dbserver1.inventory.customers_shard2"),
            "dbserver1.inventory.customers_all_shards"
        );
        let mut partial = regex_router("inventory", "x");
        assert_eq!(routed(&mut partial, "dbserver1.inventory.orders"), "dbserver1.inventory.orders", "matches() only");
    }

    #[test]
    fn regex_router_keeps_everything_but_the_topic() {
        let mut r = record("a.b", &[("h", "v")], value());
        let before = r.clone();
        assert!(regex_router("a\\.(.*)", "c.$1").apply(&mut r).unwrap());
        assert_eq!(&*r.topic, "c.b");
        assert_eq!(
            (r.key, r.value, r.headers, r.timestamp_ms),
            (before.key, before.value, before.headers, before.timestamp_ms)
        );
    }

    #[test]
    fn regex_router_options_are_checked_with_the_option_named() {
        let bad = |regex: &str, replacement: &str| {
            let config = RecordTransformConfig::RegexRouter { regex: regex.into(), replacement: replacement.into() };
            RecordTransform::new(&config).unwrap_err()
        };
        assert_eq!(bad("(unclosed", "x").0, "regex");
        let (option, message) = bad("(.*)", "$2");
        assert_eq!(option, "replacement");
        assert!(message.contains("No group 2"), "{message}");
    }

    fn timestamp_router(topic_format: &str, timestamp_format: &str) -> RecordTransform {
        RecordTransform::new(&RecordTransformConfig::TimestampRouter {
            topic_format: topic_format.into(),
            timestamp_format: timestamp_format.into(),
        })
        .unwrap()
    }

    #[test]
    fn timestamp_router_defaults_give_kafka_s_topic() {
        // Kafka's TimestampRouterTest.defaultConfiguration: topic "test" at 1483425001864 → "test-20170103".
        assert_eq!(routed(&mut timestamp_router("${topic}-${timestamp}", "yyyyMMdd"), "test"), "test-20170103");
        assert_eq!(routed(&mut timestamp_router("${timestamp}.${topic}.${topic}", "yyyy-MM"), "t"), "2017-01.t.t");
        assert_eq!(routed(&mut timestamp_router("fixed", "yyyy"), "t"), "fixed", "no placeholders: a constant");
    }

    #[test]
    fn timestamp_router_rejects_a_bad_date_pattern_when_configured() {
        let config = RecordTransformConfig::TimestampRouter {
            topic_format: "${topic}".into(),
            timestamp_format: "yyyyq".into(),
        };
        let (option, message) = RecordTransform::new(&config).unwrap_err();
        assert_eq!(option, "timestamp.format");
        assert!(message.contains("Illegal pattern character 'q'"), "{message}");
    }

    fn headers(r: &Record) -> Vec<(&str, &str)> {
        r.headers.iter().map(|(n, v)| (n.as_str(), std::str::from_utf8(v).unwrap())).collect()
    }

    #[test]
    fn insert_header_appends_even_beside_a_header_of_the_same_name() {
        // Kafka's InsertHeaderTest: insertionWithExistingOtherHeader, insertionWithExistingSameHeader.
        let insert = |header: &str| {
            RecordTransform::new(&RecordTransformConfig::InsertHeader {
                header: header.into(),
                value_literal: "inserted-value".into(),
            })
            .unwrap()
        };
        let mut r = record("t", &[("existing", "existing-value")], value());
        insert("inserted").apply(&mut r).unwrap();
        assert_eq!(headers(&r), [("existing", "existing-value"), ("inserted", "inserted-value")]);
        let mut r = record("t", &[("existing", "preexisting-value")], value());
        insert("existing").apply(&mut r).unwrap();
        assert_eq!(headers(&r), [("existing", "preexisting-value"), ("existing", "inserted-value")]);
    }

    #[test]
    fn drop_headers_removes_every_header_of_each_name() {
        // Kafka's DropHeadersTest: dropExistingHeader, …WithMultipleValues, dropNonExistingHeader, configRejectsEmptyList.
        let mut drop =
            RecordTransform::new(&RecordTransformConfig::DropHeaders { headers: vec!["to-drop".into()] }).unwrap();
        let mut r = record("t", &[("existing", "v"), ("to-drop", "a"), ("to-drop", "b")], value());
        drop.apply(&mut r).unwrap();
        assert_eq!(headers(&r), [("existing", "v")]);
        let mut r = record("t", &[("existing", "v")], value());
        drop.apply(&mut r).unwrap();
        assert_eq!(headers(&r), [("existing", "v")]);
        assert_eq!(
            RecordTransform::new(&RecordTransformConfig::DropHeaders { headers: vec![] }).unwrap_err().0,
            "headers"
        );
    }

    #[test]
    fn filter_drops_every_record_it_is_applied_to() {
        assert!(!RecordTransform::Filter.apply(&mut record("t", &[], value())).unwrap());
        assert!(!RecordTransform::Filter.apply(&mut record("t", &[], None)).unwrap());
    }

    #[test]
    fn has_header_key_is_true_with_at_least_one_header_of_the_name() {
        // Kafka's HasHeaderKeyTest.testTest.
        let p = Predicate::new(&PredicateKind::HasHeaderKey { name: "foo".into() }).unwrap();
        let with = |names: &[&str]| {
            let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, "")).collect();
            p.test(&record("t", &pairs, value()))
        };
        assert!(with(&["foo"]));
        assert!(with(&["foo", "bar"]));
        assert!(with(&["bar", "foo", "bar", "foo"]));
        assert!(!with(&["bar"]));
        assert!(!with(&["bar", "bar"]));
        assert!(!with(&[]));
    }

    #[test]
    fn record_is_tombstone_is_true_for_a_null_value_however_it_is_written() {
        let p = Predicate::RecordIsTombstone;
        assert!(p.test(&record("t", &[], None)));
        assert!(p.test(&record("t", &[], Some(Payload::Json(b"null".to_vec())))), "unwrap's delete.handling.mode=none");
        let with_schema = Payload::JsonWithSchema { schema: Arc::from(&b"{}"[..]), payload: b"null".to_vec() };
        assert!(p.test(&record("t", &[], Some(with_schema))));
        assert!(!p.test(&record("t", &[], value())));
        assert!(!p.test(&record("t", &[], Some(Payload::String("null".into())))), "a string is a value");
    }

    #[test]
    fn topic_name_matches_needs_the_whole_name_and_negate_inverts_a_condition() {
        let p = Predicate::new(&PredicateKind::TopicNameMatches { pattern: "app\\..*".into() }).unwrap();
        assert!(p.test(&record("app.public.orders", &[], value())));
        assert!(!p.test(&record("x.app.public.orders", &[], value())));
        let negated = Condition { predicate: p, negate: true };
        assert!(!negated.holds(&record("app.public.orders", &[], value())));
        assert!(Predicate::new(&PredicateKind::TopicNameMatches { pattern: "(?=x)".into() }).is_err());
    }
}
