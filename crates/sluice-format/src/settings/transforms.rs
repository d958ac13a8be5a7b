//! `debezium.transforms` and `debezium.predicates`: Debezium Server's single message transforms, checked here so a
//! router misconfiguration fails before anything connects, with the option named.

use sluice_config::{closest, key, list, KeySet, Settings};

use crate::outbox::{AdditionalField, EventRouterOptions, InvalidOpBehavior, JsonNullBehavior, Placement};
use crate::transform::envelope::HashFunction;
use crate::transform::fields::{FieldSelection, Insertion, SchemaNameAdjustment, Side};
use crate::transform::records::{Predicate, PredicateKind, RecordTransform, RecordTransformConfig};
use crate::transform::script::{Expression, NullHandling, ScriptKind};
use crate::transform::values::{TimeType, UnixPrecision};
use crate::unwrap::{DeleteMode, MetaField, UnwrapOptions};
use crate::Converter;

const TRANSFORMS: &str = "debezium.transforms";
const PREDICATES: &str = "debezium.predicates";
pub const EVENT_ROUTER: &str = "io.debezium.transforms.outbox.EventRouter";
pub const DECODE_MESSAGE_CONTENT: &str =
    "io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent";
pub const EXTRACT_NEW_RECORD_STATE: &str = "io.debezium.transforms.ExtractNewRecordState";
/// `debezium.transforms` and `debezium.predicates`; each transform's and predicate's own keys are checked here, with
/// the transform they configure.
pub static TRANSFORM_KEYS: KeySet = KeySet {
    owner: "the transforms",
    prefix: "debezium.",
    keys: &[
        key("transforms", "", "the transforms to apply, in order"),
        key("predicates", "", "the predicates transforms may apply under"),
    ],
    open_prefixes: &["transforms.", "predicates."],
    ..KeySet::EMPTY
};

pub const REGEX_ROUTER: &str = "org.apache.kafka.connect.transforms.RegexRouter";
pub const TIMESTAMP_ROUTER: &str = "org.apache.kafka.connect.transforms.TimestampRouter";
pub const INSERT_HEADER: &str = "org.apache.kafka.connect.transforms.InsertHeader";
pub const DROP_HEADERS: &str = "org.apache.kafka.connect.transforms.DropHeaders";
pub const FILTER: &str = "org.apache.kafka.connect.transforms.Filter";
pub const REPLACE_FIELD_VALUE: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
pub const REPLACE_FIELD_KEY: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
pub const INSERT_FIELD_VALUE: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
pub const INSERT_FIELD_KEY: &str = "org.apache.kafka.connect.transforms.InsertField$Key";
pub const MASK_FIELD_VALUE: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
pub const MASK_FIELD_KEY: &str = "org.apache.kafka.connect.transforms.MaskField$Key";
const MASK_FIELD_OPTIONS: &[&str] = &["fields", "replacement", "replace.null.with.default"];
pub const EXTRACT_FIELD_VALUE: &str = "org.apache.kafka.connect.transforms.ExtractField$Value";
pub const EXTRACT_FIELD_KEY: &str = "org.apache.kafka.connect.transforms.ExtractField$Key";
const EXTRACT_FIELD_OPTIONS: &[&str] = &["field", "field.syntax.version", "replace.null.with.default"];
pub const VALUE_TO_KEY: &str = "org.apache.kafka.connect.transforms.ValueToKey";
pub const HEADER_FROM_VALUE: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Value";
pub const HEADER_FROM_KEY: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Key";
const HEADER_FROM_OPTIONS: &[&str] = &["fields", "headers", "operation", "replace.null.with.default"];
pub const HOIST_FIELD_VALUE: &str = "org.apache.kafka.connect.transforms.HoistField$Value";
pub const HOIST_FIELD_KEY: &str = "org.apache.kafka.connect.transforms.HoistField$Key";
pub const SET_SCHEMA_METADATA_VALUE: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value";
pub const SET_SCHEMA_METADATA_KEY: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key";
const SET_SCHEMA_METADATA_OPTIONS: &[&str] = &["schema.name", "schema.version", "replace.null.with.default"];
pub const FLATTEN_VALUE: &str = "org.apache.kafka.connect.transforms.Flatten$Value";
pub const FLATTEN_KEY: &str = "org.apache.kafka.connect.transforms.Flatten$Key";
pub const BY_LOGICAL_TABLE_ROUTER: &str = "io.debezium.transforms.ByLogicalTableRouter";
pub const TO_LOGICAL_TOPIC_ROUTER: &str = "io.debezium.transforms.ToLogicalTopicRouter";
const LOGICAL_ROUTER_OPTIONS: &[&str] = &[
    "topic.regex",
    "topic.replacement",
    "key.enforce.uniqueness",
    "key.field.name",
    "key.field.regex",
    "key.field.replacement",
    "schema.name.adjustment.mode",
    "logical.destination.cache.size",
    "logical.table.cache.size",
];

const REPLACE_FIELD_OPTIONS: &[&str] =
    &["exclude", "include", "renames", "replace.null.with.default", "blacklist", "whitelist"];
const INSERT_FIELD_OPTIONS: &[&str] = &[
    "topic.field",
    "partition.field",
    "offset.field",
    "timestamp.field",
    "static.field",
    "static.value",
    "replace.null.with.default",
];

pub const CAST_VALUE: &str = "org.apache.kafka.connect.transforms.Cast$Value";
pub const CAST_KEY: &str = "org.apache.kafka.connect.transforms.Cast$Key";
const CAST_OPTIONS: &[&str] = &["spec", "replace.null.with.default"];
pub const TIMESTAMP_CONVERTER_VALUE: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Value";
pub const TIMESTAMP_CONVERTER_KEY: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Key";
const TIMESTAMP_CONVERTER_OPTIONS: &[&str] =
    &["field", "target.type", "format", "unix.precision", "replace.null.with.default"];
pub const HEADER_TO_VALUE: &str = "io.debezium.transforms.HeaderToValue";
pub const PARTITION_ROUTING: &str = "io.debezium.transforms.partitions.PartitionRouting";
pub const SCRIPTED_FILTER: &str = "io.debezium.transforms.Filter";
pub const CONTENT_BASED_ROUTER: &str = "io.debezium.transforms.ContentBasedRouter";
/// The `language` values whose expressions Sluice evaluates (crate::transform::script).
const SCRIPT_LANGUAGES: &[&str] = &["jsr223.groovy", "jsr223.graal.js"];

const TOPIC_NAME_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
const HAS_HEADER_KEY: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";
const RECORD_IS_TOMBSTONE: &str = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";

/// Kafka Connect's record transforms: class, and the options each takes (Kafka's `ConfigDef`s).
const RECORD_TRANSFORMS: &[(&str, &[&str])] = &[
    (REGEX_ROUTER, &["regex", "replacement"]),
    (TIMESTAMP_ROUTER, &["topic.format", "timestamp.format"]),
    (INSERT_HEADER, &["header", "value.literal"]),
    (DROP_HEADERS, &["headers"]),
    (FILTER, &[]),
    (REPLACE_FIELD_VALUE, REPLACE_FIELD_OPTIONS),
    (REPLACE_FIELD_KEY, REPLACE_FIELD_OPTIONS),
    (INSERT_FIELD_VALUE, INSERT_FIELD_OPTIONS),
    (INSERT_FIELD_KEY, INSERT_FIELD_OPTIONS),
    (MASK_FIELD_VALUE, MASK_FIELD_OPTIONS),
    (MASK_FIELD_KEY, MASK_FIELD_OPTIONS),
    (EXTRACT_FIELD_VALUE, EXTRACT_FIELD_OPTIONS),
    (EXTRACT_FIELD_KEY, EXTRACT_FIELD_OPTIONS),
    (VALUE_TO_KEY, &["fields", "replace.null.with.default"]),
    (HEADER_FROM_VALUE, HEADER_FROM_OPTIONS),
    (HEADER_FROM_KEY, HEADER_FROM_OPTIONS),
    (HOIST_FIELD_VALUE, &["field"]),
    (HOIST_FIELD_KEY, &["field"]),
    (SET_SCHEMA_METADATA_VALUE, SET_SCHEMA_METADATA_OPTIONS),
    (SET_SCHEMA_METADATA_KEY, SET_SCHEMA_METADATA_OPTIONS),
    (FLATTEN_VALUE, &["delimiter"]),
    (FLATTEN_KEY, &["delimiter"]),
    (BY_LOGICAL_TABLE_ROUTER, LOGICAL_ROUTER_OPTIONS),
    (TO_LOGICAL_TOPIC_ROUTER, LOGICAL_ROUTER_OPTIONS),
    (CAST_VALUE, CAST_OPTIONS),
    (CAST_KEY, CAST_OPTIONS),
    (TIMESTAMP_CONVERTER_VALUE, TIMESTAMP_CONVERTER_OPTIONS),
    (TIMESTAMP_CONVERTER_KEY, TIMESTAMP_CONVERTER_OPTIONS),
    (HEADER_TO_VALUE, &["headers", "fields", "operation"]),
    (PARTITION_ROUTING, &["partition.payload.fields", "partition.topic.num", "partition.hash.function"]),
    (SCRIPTED_FILTER, &["topic.regex", "language", "condition", "null.handling.mode"]),
    (CONTENT_BASED_ROUTER, &["topic.regex", "language", "topic.expression", "null.handling.mode"]),
];

/// Kafka Connect's predicates: class, and the options each takes.
const PREDICATE_TYPES: &[(&str, &[&str])] =
    &[(TOPIC_NAME_MATCHES, &["pattern"]), (HAS_HEADER_KEY, &["name"]), (RECORD_IS_TOMBSTONE, &[])];

/// The router's options (after `debezium.transforms.<name>.`), besides `type`, `predicate` and `negate`.
const ROUTER_OPTIONS: &[&str] = &[
    "table.field.event.id",
    "table.field.event.key",
    "table.field.event.type",
    "table.field.event.timestamp",
    "table.field.event.payload",
    "table.field.event.schema.version",
    "table.fields.additional.placement",
    "table.fields.additional.error.on.missing",
    "route.by.field",
    "route.topic.regex",
    "route.topic.replacement",
    "route.tombstone.on.empty.payload",
    "table.op.invalid.behavior",
    "table.expand.json.payload",
    "table.json.payload.null.behavior",
    "tracing.span.context.field",
    "tracing.operation.name",
    "tracing.with.context.field.only",
];

/// `ExtractNewRecordState`'s options that Sluice carries out.
const UNWRAP_OPTIONS: &[&str] = &[
    "delete.tombstone.handling.mode",
    "delete.handling.mode",
    "drop.tombstones",
    "add.fields",
    "add.fields.prefix",
    "add.headers",
    "add.headers.prefix",
];

/// `ExtractNewRecordState`'s options that Sluice does not carry out yet, with the value that asks for nothing (their
/// default, or off), which is accepted.
const UNWRAP_NOT_YET: &[(&str, &str)] = &[
    ("route.by.field", ""),
    ("drop.fields.header.name", ""),
    ("drop.fields.from.key", "false"),
    ("drop.fields.keep.schema.compatible", "true"),
    ("replace.null.with.default", "true"),
];

/// The transforms Sluice carries out.
pub const SUPPORTED: &[&str] = &[
    EXTRACT_NEW_RECORD_STATE,
    EVENT_ROUTER,
    DECODE_MESSAGE_CONTENT,
    REGEX_ROUTER,
    TIMESTAMP_ROUTER,
    INSERT_HEADER,
    DROP_HEADERS,
    FILTER,
    REPLACE_FIELD_VALUE,
    REPLACE_FIELD_KEY,
    INSERT_FIELD_VALUE,
    INSERT_FIELD_KEY,
    MASK_FIELD_VALUE,
    MASK_FIELD_KEY,
    EXTRACT_FIELD_VALUE,
    EXTRACT_FIELD_KEY,
    VALUE_TO_KEY,
    HEADER_FROM_VALUE,
    HEADER_FROM_KEY,
    HOIST_FIELD_VALUE,
    HOIST_FIELD_KEY,
    SET_SCHEMA_METADATA_VALUE,
    SET_SCHEMA_METADATA_KEY,
    FLATTEN_VALUE,
    FLATTEN_KEY,
    BY_LOGICAL_TABLE_ROUTER,
    TO_LOGICAL_TOPIC_ROUTER,
    CAST_VALUE,
    CAST_KEY,
    TIMESTAMP_CONVERTER_VALUE,
    TIMESTAMP_CONVERTER_KEY,
    HEADER_TO_VALUE,
    PARTITION_ROUTING,
    SCRIPTED_FILTER,
    CONTENT_BASED_ROUTER,
];

/// The predicates Sluice evaluates.
pub const PREDICATES_SUPPORTED: &[&str] = &[TOPIC_NAME_MATCHES, HAS_HEADER_KEY, RECORD_IS_TOMBSTONE];

/// Transforms Debezium users often chain that Sluice does not have yet.
pub const NOT_YET: &[&str] = &[
    "io.debezium.transforms.ExtractChangedRecordState",
    "io.debezium.transforms.TimezoneConverter",
    "io.debezium.transforms.SchemaChangeEventFilter",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformType {
    EventRouter(Box<EventRouterOptions>),
    DecodeMessageContent,
    Unwrap(Box<UnwrapOptions>),
    /// One of Kafka Connect's record transforms (crate::transform::records).
    Record(RecordTransformConfig),
}

/// A predicate a transform is applied under, with the transform's `negate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredicateConfig {
    pub name: String,
    pub kind: PredicateKind,
    pub negate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformConfig {
    pub name: String,
    pub kind: TransformType,
    pub predicate: Option<PredicateConfig>,
}

/// Reads `debezium.transforms` and everything it names, reporting every mistake to `s`.
pub fn read(s: &mut Settings) -> Vec<TransformConfig> {
    let names = s.list(TRANSFORMS);
    let predicates = s.list(PREDICATES);
    check_transform_keys(s, &names, &predicates);
    names.iter().filter_map(|name| transform(s, name, &predicates)).collect()
}

/// The field transforms work on JSON structs: the key or value they change must be written by the `json` converter.
pub fn check_converters(s: &mut Settings, transforms: &[TransformConfig], key: &Converter, value: &Converter) {
    for t in transforms {
        let side = match &t.kind {
            TransformType::Record(RecordTransformConfig::ReplaceField { side, .. })
            | TransformType::Record(RecordTransformConfig::InsertField { side, .. })
            | TransformType::Record(RecordTransformConfig::MaskField { side, .. })
            | TransformType::Record(RecordTransformConfig::ExtractField { side, .. })
            | TransformType::Record(RecordTransformConfig::HeaderFrom { side, .. })
            | TransformType::Record(RecordTransformConfig::HoistField { side, .. })
            | TransformType::Record(RecordTransformConfig::Flatten { side, .. })
            | TransformType::Record(RecordTransformConfig::Cast { side, .. })
            | TransformType::Record(RecordTransformConfig::TimestampConverter { side, .. }) => *side,
            TransformType::Record(
                RecordTransformConfig::HeaderToValue { .. } | RecordTransformConfig::PartitionRouting { .. },
            ) => Side::Value,
            TransformType::Record(RecordTransformConfig::Scripted { expression, .. }) => {
                // Checked when read; the expression reads the key and value only as the json converter writes them.
                let Ok(parsed) = Expression::parse(expression) else { continue };
                for (reads, converter, format_key, what) in [
                    (parsed.reads_key(), key, "debezium.format.key", "key"),
                    (parsed.reads_value(), value, "debezium.format.value", "value"),
                ] {
                    if reads && !matches!(converter, Converter::Json { .. }) {
                        s.problem(format!(
                            "`{TRANSFORMS}.{}.type`: the expression reads the record's {what}, which needs `{format_key}=json`",
                            t.name
                        ));
                    }
                }
                continue;
            }
            TransformType::Record(RecordTransformConfig::SetSchemaMetadata { side, .. }) => {
                let (converter, format_key) = match side {
                    Side::Key => (key, "debezium.format.key"),
                    Side::Value => (value, "debezium.format.value"),
                };
                if *converter != (Converter::Json { schemas_enable: true }) {
                    s.problem(format!(
                        "`{TRANSFORMS}.{}.type`: SetSchemaMetadata changes the {} schema, which needs `{format_key}=json` with `{format_key}.schemas.enable=true` (Kafka: \"Schema required\")",
                        t.name,
                        side.suffix().to_ascii_lowercase()
                    ));
                }
                continue;
            }
            TransformType::Record(RecordTransformConfig::ValueToKey { .. }) => {
                for (converter, format_key) in [(key, "debezium.format.key"), (value, "debezium.format.value")] {
                    if !matches!(converter, Converter::Json { .. }) {
                        s.problem(format!(
                            "`{TRANSFORMS}.{}.type`: ValueToKey reads the value's fields and writes a struct key, which needs `{format_key}=json`",
                            t.name
                        ));
                    }
                }
                continue;
            }
            _ => continue,
        };
        let (converter, format_key) = match side {
            Side::Key => (key, "debezium.format.key"),
            Side::Value => (value, "debezium.format.value"),
        };
        if !matches!(converter, Converter::Json { .. }) {
            s.problem(format!(
                "`{TRANSFORMS}.{}.type`: this transform changes the fields of the record's {}, which needs `{format_key}=json`",
                t.name,
                side.suffix().to_ascii_lowercase()
            ));
        }
    }
}

/// Every key under `debezium.transforms.` / `debezium.predicates.` must belong to a listed name.
fn check_transform_keys(s: &mut Settings, names: &[String], predicates: &[String]) {
    let keys: Vec<String> = [TRANSFORMS, PREDICATES]
        .iter()
        .flat_map(|list_key| {
            s.below(&format!("{list_key}.")).into_iter().map(move |(rest, _)| format!("{list_key}.{rest}"))
        })
        .collect();
    for key in keys {
        let line = s.line(&key);
        let (list_key, listed) =
            if key.starts_with(TRANSFORMS) { (TRANSFORMS, names) } else { (PREDICATES, predicates) };
        let rest = &key[list_key.len() + 1..];
        if !listed.iter().any(|n| rest.starts_with(&format!("{n}."))) {
            let name = rest.split('.').next().unwrap_or(rest);
            s.problem(format!(
                "line {line}: `{key}` configures `{name}`, which is not listed in `{list_key}` ({}); add it there or remove the key",
                if listed.is_empty() { "empty".to_string() } else { listed.join(",") }
            ));
        }
    }
}

fn transform(s: &mut Settings, name: &str, predicates: &[String]) -> Option<TransformConfig> {
    let prefix = format!("{TRANSFORMS}.{name}.");
    let type_key = format!("{prefix}type");
    let Some(class) = s.get(&type_key).map(|t| t.trim().to_string()) else {
        s.problem(format!("missing required key `{type_key}` (the transform `{name}` is listed in {TRANSFORMS})"));
        return None;
    };
    let own: Vec<String> = s.below(&prefix).into_iter().map(|(k, _)| k).collect();
    let common = ["type", "predicate", "negate"];
    let kind = match class.as_str() {
        EVENT_ROUTER => {
            for option in own.iter().filter(|o| !common.contains(&o.as_str()) && !ROUTER_OPTIONS.contains(&o.as_str()))
            {
                let candidates: Vec<String> = ROUTER_OPTIONS.iter().map(|o| format!("{prefix}{o}")).collect();
                let full = format!("{prefix}{option}");
                s.problem(match closest(&full, &candidates) {
                    Some(best) => format!("unknown outbox router option `{full}`; did you mean `{best}`?"),
                    None => format!("unknown outbox router option `{full}` (see docs/outbox.md for the options)"),
                });
            }
            Some(TransformType::EventRouter(Box::new(router_options(s, &prefix))))
        }
        DECODE_MESSAGE_CONTENT => {
            for option in own.iter().filter(|o| !common.contains(&o.as_str()) && o.as_str() != "fields.null.include") {
                s.problem(format!("unknown option `{prefix}{option}` of {DECODE_MESSAGE_CONTENT}"));
            }
            s.boolean(&format!("{prefix}fields.null.include"), false);
            Some(TransformType::DecodeMessageContent)
        }
        EXTRACT_NEW_RECORD_STATE => {
            for option in own.iter().filter(|o| !common.contains(&o.as_str())) {
                let full = format!("{prefix}{option}");
                if UNWRAP_OPTIONS.contains(&option.as_str()) {
                    continue;
                }
                if let Some((_, off)) = UNWRAP_NOT_YET.iter().find(|(o, _)| o == option) {
                    let value = s.get(&full).unwrap_or_default().trim().to_string();
                    if !value.eq_ignore_ascii_case(off) {
                        s.problem(format!(
                            "`{full}` = `{value}`: this option of {EXTRACT_NEW_RECORD_STATE} is not supported yet"
                        ));
                    }
                    continue;
                }
                let candidates: Vec<String> = UNWRAP_OPTIONS
                    .iter()
                    .chain(UNWRAP_NOT_YET.iter().map(|(o, _)| o))
                    .map(|o| format!("{prefix}{o}"))
                    .collect();
                s.problem(match closest(&full, &candidates) {
                    Some(best) => format!("unknown option `{full}` of {EXTRACT_NEW_RECORD_STATE}; did you mean `{best}`?"),
                    None => format!(
                        "unknown option `{full}` of {EXTRACT_NEW_RECORD_STATE} (see docs/configuration.md for its options)"
                    ),
                });
            }
            Some(TransformType::Unwrap(Box::new(unwrap_options(s, &prefix))))
        }
        other if RECORD_TRANSFORMS.iter().any(|(class, _)| *class == other) => {
            record_transform(s, &prefix, other).map(TransformType::Record)
        }
        other if NOT_YET.contains(&other) => {
            s.problem(format!(
                "`{type_key}` = `{other}` is a transform Sluice does not support yet (it has {})",
                SUPPORTED.join(", ")
            ));
            None
        }
        other => {
            s.problem(format!(
                "`{type_key}` = `{other}` is not a transform Sluice knows; it has {}",
                SUPPORTED.join(", ")
            ));
            None
        }
    };
    let negate = s.boolean(&format!("{prefix}negate"), false);
    if s.get(&format!("{prefix}negate")).is_some() && s.get(&format!("{prefix}predicate")).is_none() {
        // Kafka Connect's ConnectorConfig refuses the same.
        s.problem(format!(
            "`{prefix}negate` is set but there is no `{prefix}predicate` defining a predicate to be negated"
        ));
    }
    let predicate = match s.get(&format!("{prefix}predicate")).map(|p| p.trim().to_string()) {
        None => None,
        Some(p) if !predicates.contains(&p) => {
            s.problem(format!(
                "`{prefix}predicate` = `{p}` is not listed in `{PREDICATES}`; add it there with its type and pattern"
            ));
            None
        }
        Some(p) => predicate(s, &p, negate),
    };
    Some(TransformConfig { name: name.to_string(), kind: kind?, predicate })
}

fn predicate(s: &mut Settings, name: &str, negate: bool) -> Option<PredicateConfig> {
    let prefix = format!("{PREDICATES}.{name}.");
    let class = s.get(&format!("{prefix}type")).map(|t| t.trim().to_string());
    let supported = || PREDICATE_TYPES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let options = match PREDICATE_TYPES.iter().find(|(c, _)| Some(*c) == class.as_deref()) {
        Some((_, options)) => *options,
        None => {
            s.problem(match class {
                Some(other) => {
                    format!("`{prefix}type` = `{other}` is not a predicate Sluice has; it has {}", supported())
                }
                None => format!("missing required key `{prefix}type` (one of {})", supported()),
            });
            return None;
        }
    };
    let class = class.unwrap_or_default();
    unknown_options(s, &prefix, &class, options, &["type"]);
    let kind = match class.as_str() {
        TOPIC_NAME_MATCHES => PredicateKind::TopicNameMatches {
            pattern: required(s, &prefix, "pattern", "a regular expression for topic names")?,
        },
        HAS_HEADER_KEY => {
            let name = required(s, &prefix, "name", "the header name")?;
            if name.is_empty() {
                s.problem(format!("`{prefix}name` is empty; HasHeaderKey needs a header name"));
                return None;
            }
            PredicateKind::HasHeaderKey { name }
        }
        _ => PredicateKind::RecordIsTombstone,
    };
    if let Err(e) = Predicate::new(&kind) {
        let option = options.first().copied().unwrap_or("type");
        s.problem(format!("`{prefix}{option}`: {e}"));
        return None;
    }
    Some(PredicateConfig { name: name.to_string(), kind, negate })
}

/// `replace.null.with.default` (Kafka 3.x, default `true`): Sluice writes a null column that has a default as the
/// default already (Kafka's JsonConverter does the same), so `false` cannot be carried out.
fn replace_null_with_default(s: &mut Settings, prefix: &str) {
    let key = format!("{prefix}replace.null.with.default");
    if !s.boolean(&key, true) {
        s.problem(format!(
            "`{key}` = `false` is not supported yet (a null column with a default is written as the default)"
        ));
    }
}

/// A list option that older Kafka releases named differently (`blacklist` for `exclude`, `whitelist` for
/// `include`): the old name is read with a deprecation warning; both at once is an error.
fn renamed_list(s: &mut Settings, prefix: &str, option: &str, old: &str) -> Vec<String> {
    let (key, old_key) = (format!("{prefix}{option}"), format!("{prefix}{old}"));
    match (s.get(&key).is_some(), s.get(&old_key).is_some()) {
        (true, true) => {
            s.problem(format!(
                "`{old_key}` and `{key}` are both set; `{old}` is the older name of `{option}`, keep one"
            ));
            Vec::new()
        }
        (false, true) => {
            s.warn(format!("`{old_key}` is deprecated (removed in Kafka 3.0); use `{key}`"));
            s.list(&old_key)
        }
        _ => s.list(&key),
    }
}

/// `renames`: `from:to` pairs. Kafka splits each on `:` as Java's `String.split` does (trailing empty parts
/// dropped) and wants exactly two parts.
fn renames(s: &mut Settings, prefix: &str) -> Option<Vec<(String, String)>> {
    let key = format!("{prefix}renames");
    let mut pairs = Vec::new();
    let mut bad = false;
    for mapping in s.list(&key) {
        let mut parts: Vec<&str> = mapping.split(':').collect();
        while parts.last() == Some(&"") {
            parts.pop();
        }
        match parts.as_slice() {
            [from, to] => pairs.push((from.to_string(), to.to_string())),
            _ => {
                s.problem(format!(
                    "`{key}`: invalid rename mapping `{mapping}` (expected `from:to`, e.g. foo:bar,abc:xyz)"
                ));
                bad = true;
            }
        }
    }
    (!bad).then_some(pairs)
}

/// One of an option's values, compared exactly as Kafka's `ValidString` compares them; a problem naming the key
/// and the allowed values otherwise.
fn exact_choice<T: Copy>(
    s: &mut Settings,
    prefix: &str,
    option: &str,
    value: &str,
    allowed: &[(&str, T)],
) -> Option<T> {
    let found = allowed.iter().find(|(name, _)| *name == value).map(|(_, t)| *t);
    if found.is_none() {
        let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
        s.problem(format!("`{prefix}{option}` = `{value}` is not valid; allowed values: {}", names.join(", ")));
    }
    found
}

/// A required Debezium list option: comma separated, each element trimmed, none empty
/// (`Field::notContainEmptyElements`) and, unless `spaces` allows it, none with a space inside
/// (`notContainSpaceInAnyElement`).
fn debezium_list(s: &mut Settings, prefix: &str, option: &str, what: &str, spaces: bool) -> Option<Vec<String>> {
    let raw = required(s, prefix, option, what)?;
    let elements: Vec<String> = raw.split(',').map(|e| e.trim().to_string()).collect();
    if elements.iter().any(String::is_empty) {
        s.problem(format!("`{prefix}{option}` = `{raw}`: Empty string element(s) not permitted"));
        return None;
    }
    if !spaces && elements.iter().any(|e| e.contains(char::is_whitespace)) {
        s.problem(format!("`{prefix}{option}` = `{raw}`: Element(s) containing space not permitted"));
        return None;
    }
    Some(elements)
}

/// A required option's value, trimmed as Kafka's `ConfigDef` trims strings (it may be empty); a problem naming the
/// key when it is missing.
fn required(s: &mut Settings, prefix: &str, option: &str, what: &str) -> Option<String> {
    let key = format!("{prefix}{option}");
    match s.get(&key) {
        Some(v) => Some(v.trim().to_string()),
        None => {
            s.problem(format!("missing required key `{key}` ({what})"));
            None
        }
    }
}

/// Every option below `prefix` other than `options` and `common` is a problem, with a "did you mean".
fn unknown_options(s: &mut Settings, prefix: &str, class: &str, options: &[&str], common: &[&str]) {
    let own: Vec<String> = s.below(prefix).into_iter().map(|(k, _)| k).collect();
    for option in own.iter().filter(|o| !options.contains(&o.as_str()) && !common.contains(&o.as_str())) {
        let full = format!("{prefix}{option}");
        let candidates: Vec<String> = options.iter().map(|o| format!("{prefix}{o}")).collect();
        s.problem(match closest(&full, &candidates) {
            Some(best) => format!("unknown option `{full}` of {class}; did you mean `{best}`?"),
            None if options.is_empty() => format!("unknown option `{full}`: {class} takes no options"),
            None => format!("unknown option `{full}` of {class}; its options are {}", options.join(", ")),
        });
    }
}

/// One of Kafka Connect's record transforms: its options read with Kafka's defaults, then compiled once here so
/// every mistake is reported with the configuration.
fn record_transform(s: &mut Settings, prefix: &str, class: &str) -> Option<RecordTransformConfig> {
    let options = RECORD_TRANSFORMS.iter().find(|(c, _)| *c == class).map_or(&[][..], |(_, o)| *o);
    unknown_options(s, prefix, class, options, &["type", "predicate", "negate"]);
    let config = match class {
        REGEX_ROUTER => {
            let regex = required(s, prefix, "regex", "the regular expression topics must match");
            let replacement = required(s, prefix, "replacement", "the new topic, with $1… for the regex's groups");
            if let (Some(regex), None) = (&regex, &replacement) {
                // Reported now too, so the next attempt does not meet it as a new problem.
                if let Err(e) = crate::transform::java::regex(regex, false) {
                    s.problem(format!("`{prefix}regex`: `{regex}` is not a regular expression Sluice can use: {e}"));
                }
            }
            let (Some(regex), Some(replacement)) = (regex, replacement) else {
                return None;
            };
            RecordTransformConfig::RegexRouter { regex, replacement }
        }
        TIMESTAMP_ROUTER => RecordTransformConfig::TimestampRouter {
            topic_format: s.string(&format!("{prefix}topic.format"), "${topic}-${timestamp}"),
            timestamp_format: s.string(&format!("{prefix}timestamp.format"), "yyyyMMdd"),
        },
        INSERT_HEADER => {
            let header = required(s, prefix, "header", "the name of the header");
            let value = required(s, prefix, "value.literal", "the header's value");
            RecordTransformConfig::InsertHeader { header: header?, value_literal: value? }
        }
        DROP_HEADERS => {
            required(s, prefix, "headers", "the names of the headers to remove")?;
            RecordTransformConfig::DropHeaders { headers: s.list(&format!("{prefix}headers")) }
        }
        REPLACE_FIELD_VALUE | REPLACE_FIELD_KEY => {
            let side = if class == REPLACE_FIELD_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let exclude = renamed_list(s, prefix, "exclude", "blacklist");
            let include = renamed_list(s, prefix, "include", "whitelist");
            let renames = renames(s, prefix)?;
            RecordTransformConfig::ReplaceField { side, selection: FieldSelection { include, exclude, renames } }
        }
        INSERT_FIELD_VALUE | INSERT_FIELD_KEY => {
            let side = if class == INSERT_FIELD_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let spec =
                |s: &Settings, option: &str| s.optional(&format!("{prefix}{option}")).map(|v| Insertion::parse(&v));
            if s.optional(&format!("{prefix}offset.field")).is_some() {
                s.problem(format!(
                    "`{prefix}offset.field`: the Kafka offset is only known to sink connectors; Kafka Connect fails \
                     every record of a source connector such as Debezium with it. Remove it"
                ));
            }
            let static_field = spec(s, "static.field");
            let static_value = s.get(&format!("{prefix}static.value")).map(|v| v.trim().to_string());
            let static_field = match (static_field, static_value) {
                (Some(field), Some(value)) => Some((field, value)),
                (Some(field), None) => {
                    s.problem(format!(
                        "missing required key `{prefix}static.value` (the value of the static field `{}`)",
                        field.name
                    ));
                    return None;
                }
                (None, _) => None,
            };
            RecordTransformConfig::InsertField {
                side,
                topic: spec(s, "topic.field"),
                partition: spec(s, "partition.field"),
                timestamp: spec(s, "timestamp.field"),
                static_field,
            }
        }
        MASK_FIELD_VALUE | MASK_FIELD_KEY => {
            let side = if class == MASK_FIELD_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            required(s, prefix, "fields", "the names of the fields to mask")?;
            RecordTransformConfig::MaskField {
                side,
                fields: s.list(&format!("{prefix}fields")),
                replacement: s.get(&format!("{prefix}replacement")).map(|v| v.trim().to_string()),
            }
        }
        EXTRACT_FIELD_VALUE | EXTRACT_FIELD_KEY => {
            let side = if class == EXTRACT_FIELD_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let version = format!("{prefix}field.syntax.version");
            match s.get(&version).map(|v| v.trim().to_ascii_uppercase()) {
                None => {}
                Some(v) if v == "V1" => {}
                Some(v) if v == "V2" => s.problem(format!(
                    "`{version}` = `V2` (nested field paths) is not supported yet; Sluice reads `field` as one top-level field (V1)"
                )),
                Some(v) => s.problem(format!("`{version}` = `{v}` is not valid; allowed values: V1, V2")),
            }
            RecordTransformConfig::ExtractField { side, field: required(s, prefix, "field", "the field to extract")? }
        }
        VALUE_TO_KEY => {
            replace_null_with_default(s, prefix);
            required(s, prefix, "fields", "the value fields that form the key")?;
            RecordTransformConfig::ValueToKey { fields: s.list(&format!("{prefix}fields")) }
        }
        HEADER_FROM_VALUE | HEADER_FROM_KEY => {
            let side = if class == HEADER_FROM_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let fields = required(s, prefix, "fields", "the fields to copy or move");
            let headers = required(s, prefix, "headers", "the header names, one per field");
            let operation = required(s, prefix, "operation", "move or copy");
            let moving = match operation?.as_str() {
                "move" => true,
                "copy" => false,
                other => {
                    s.problem(format!("`{prefix}operation` = `{other}` is not valid; allowed values: move, copy"));
                    return None;
                }
            };
            fields?;
            headers?;
            RecordTransformConfig::HeaderFrom {
                side,
                fields: s.list(&format!("{prefix}fields")),
                headers: s.list(&format!("{prefix}headers")),
                moving,
            }
        }
        FLATTEN_VALUE | FLATTEN_KEY => {
            let side = if class == FLATTEN_KEY { Side::Key } else { Side::Value };
            RecordTransformConfig::Flatten { side, delimiter: s.string(&format!("{prefix}delimiter"), ".") }
        }
        HOIST_FIELD_VALUE | HOIST_FIELD_KEY => {
            let side = if class == HOIST_FIELD_KEY { Side::Key } else { Side::Value };
            RecordTransformConfig::HoistField {
                side,
                field: required(s, prefix, "field", "the name of the wrapping field")?,
            }
        }
        SET_SCHEMA_METADATA_VALUE | SET_SCHEMA_METADATA_KEY => {
            let side = if class == SET_SCHEMA_METADATA_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let version_key = format!("{prefix}schema.version");
            let version = match s.optional(&version_key) {
                None => None,
                Some(v) => match v.parse::<i32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        s.problem(format!("`{version_key}` = `{v}` is not a schema version (a whole number)"));
                        return None;
                    }
                },
            };
            RecordTransformConfig::SetSchemaMetadata {
                side,
                name: s.optional(&format!("{prefix}schema.name")),
                version,
            }
        }
        BY_LOGICAL_TABLE_ROUTER | TO_LOGICAL_TOPIC_ROUTER => {
            let topic_regex = required(s, prefix, "topic.regex", "the regex topics must match");
            let topic_replacement = required(s, prefix, "topic.replacement", "the logical topic, with $1… for groups");
            // Debezium's ByLogicalTableRouter keeps its older default name for the key field.
            let default_name = if class == BY_LOGICAL_TABLE_ROUTER {
                "__dbz__physicalTableIdentifier"
            } else {
                "__dbz__sourceIdentifier"
            };
            let enforce_uniqueness = s.boolean(&format!("{prefix}key.enforce.uniqueness"), true);
            let key_field_name = s.string(&format!("{prefix}key.field.name"), default_name);
            let key_field_regex = s.optional(&format!("{prefix}key.field.regex"));
            let key_field_replacement = s.string(&format!("{prefix}key.field.replacement"), "");
            let adjustment = s.choice(
                &format!("{prefix}schema.name.adjustment.mode"),
                SchemaNameAdjustment::None,
                &[("none", SchemaNameAdjustment::None), ("avro", SchemaNameAdjustment::Avro)],
            );
            for size in ["logical.destination.cache.size", "logical.table.cache.size"] {
                // Sluice's caches are bounded on their own; the size is checked and has nothing to change.
                s.number(&format!("{prefix}{size}"), 16u32, "a cache size (a positive whole number)");
            }
            RecordTransformConfig::LogicalTableRouter {
                topic_regex: topic_regex?,
                topic_replacement: topic_replacement?,
                enforce_uniqueness,
                key_field_name,
                key_field_regex,
                key_field_replacement,
                adjustment,
            }
        }
        CAST_VALUE | CAST_KEY => {
            let side = if class == CAST_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            required(s, prefix, "spec", "`field:type` pairs, or one type for the whole key or value")?;
            RecordTransformConfig::Cast { side, spec: s.list(&format!("{prefix}spec")) }
        }
        TIMESTAMP_CONVERTER_VALUE | TIMESTAMP_CONVERTER_KEY => {
            let side = if class == TIMESTAMP_CONVERTER_KEY { Side::Key } else { Side::Value };
            replace_null_with_default(s, prefix);
            let target = required(s, prefix, "target.type", "string, unix, Date, Time or Timestamp").and_then(|t| {
                exact_choice(
                    s,
                    prefix,
                    "target.type",
                    &t,
                    &[
                        ("string", TimeType::String),
                        ("unix", TimeType::Unix),
                        ("Date", TimeType::Date),
                        ("Time", TimeType::Time),
                        ("Timestamp", TimeType::Timestamp),
                    ],
                )
            });
            let precision = exact_choice(
                s,
                prefix,
                "unix.precision",
                &s.string(&format!("{prefix}unix.precision"), "milliseconds"),
                &[
                    ("nanoseconds", UnixPrecision::Nanoseconds),
                    ("microseconds", UnixPrecision::Microseconds),
                    ("milliseconds", UnixPrecision::Milliseconds),
                    ("seconds", UnixPrecision::Seconds),
                ],
            );
            RecordTransformConfig::TimestampConverter {
                side,
                field: s.string(&format!("{prefix}field"), ""),
                target: target?,
                format: s.string(&format!("{prefix}format"), ""),
                precision: precision?,
            }
        }
        HEADER_TO_VALUE => {
            let headers = debezium_list(s, prefix, "headers", "the headers to put in the value", false);
            let fields = debezium_list(s, prefix, "fields", "the value fields, one per header", false);
            let operation = required(s, prefix, "operation", "move or copy")
                .and_then(|o| exact_choice(s, prefix, "operation", &o, &[("move", true), ("copy", false)]));
            RecordTransformConfig::HeaderToValue { headers: headers?, fields: fields?, moving: operation? }
        }
        PARTITION_ROUTING => {
            let fields = debezium_list(s, prefix, "partition.payload.fields", "the envelope fields to hash", true);
            let partitions =
                required(s, prefix, "partition.topic.num", "the topic's number of partitions").and_then(|n| {
                    let parsed = n.parse::<i32>().ok().filter(|n| *n > 0);
                    if parsed.is_none() {
                        s.problem(format!("`{prefix}partition.topic.num` = `{n}`: A positive integer is expected"));
                    }
                    parsed
                });
            let hash = s.string(&format!("{prefix}partition.hash.function"), "java").to_ascii_lowercase();
            let hash = exact_choice(
                s,
                prefix,
                "partition.hash.function",
                &hash,
                &[("java", HashFunction::Java), ("murmur", HashFunction::Murmur)],
            );
            RecordTransformConfig::PartitionRouting { fields: fields?, partitions: partitions?, hash: hash? }
        }
        SCRIPTED_FILTER | CONTENT_BASED_ROUTER => {
            let kind = if class == SCRIPTED_FILTER { ScriptKind::Filter } else { ScriptKind::Router };
            let language = required(s, prefix, "language", "jsr223.groovy or jsr223.graal.js");
            if let Some(language) = &language {
                if !SCRIPT_LANGUAGES.contains(&language.as_str()) {
                    s.problem(format!(
                        "`{prefix}language` = `{language}`: Sluice evaluates a documented subset of Groovy and \
                         JavaScript expressions, for `language` {} (docs/configuration.md)",
                        SCRIPT_LANGUAGES.join(" or ")
                    ));
                }
            }
            let expression = required(s, prefix, kind.option(), "the expression to evaluate for each record");
            // Debezium reads an empty `topic.regex` as none, as `optional` does.
            let topic_regex = s.optional(&format!("{prefix}topic.regex"));
            let nulls = s.choice(
                &format!("{prefix}null.handling.mode"),
                NullHandling::Keep,
                &[("keep", NullHandling::Keep), ("drop", NullHandling::Drop), ("evaluate", NullHandling::Evaluate)],
            );
            language?;
            RecordTransformConfig::Scripted { kind, expression: expression?, topic_regex, nulls }
        }
        _ => RecordTransformConfig::Filter,
    };
    if let Err((option, message)) = RecordTransform::new(&config) {
        s.problem(format!("`{prefix}{option}`: {message}"));
        return None;
    }
    Some(config)
}

fn router_options(s: &mut Settings, prefix: &str) -> EventRouterOptions {
    let d = EventRouterOptions::default();
    let k = |name: &str| format!("{prefix}{name}");
    let regex = s.string(&k("route.topic.regex"), &d.route_topic_regex);
    // Bounded as every pattern of a transform is (crate::transform::java), since it may come from a REST body.
    if let Err(e) = crate::transform::java::regex(&regex, true) {
        s.problem(format!("`{prefix}route.topic.regex`: `{regex}` is not a valid regular expression: {e}"));
    }
    EventRouterOptions {
        event_id: s.string(&k("table.field.event.id"), &d.event_id),
        event_key: s.string(&k("table.field.event.key"), &d.event_key),
        event_type: s.string(&k("table.field.event.type"), &d.event_type),
        event_timestamp: s.optional(&k("table.field.event.timestamp")),
        payload: s.string(&k("table.field.event.payload"), &d.payload),
        schema_version: s.optional(&k("table.field.event.schema.version")),
        additional: additional_fields(s, prefix),
        additional_error_on_missing: s
            .boolean(&format!("{prefix}table.fields.additional.error.on.missing"), d.additional_error_on_missing),
        route_by: s.string(&k("route.by.field"), &d.route_by),
        route_topic_regex: regex,
        route_topic_replacement: s.string(&k("route.topic.replacement"), &d.route_topic_replacement),
        tombstone_on_empty_payload: s
            .boolean(&format!("{prefix}route.tombstone.on.empty.payload"), d.tombstone_on_empty_payload),
        invalid_op: s.choice(
            &format!("{prefix}table.op.invalid.behavior"),
            d.invalid_op,
            &[
                ("warn", InvalidOpBehavior::Warn),
                ("error", InvalidOpBehavior::Error),
                ("fatal", InvalidOpBehavior::Fatal),
            ],
        ),
        expand_json_payload: s.boolean(&format!("{prefix}table.expand.json.payload"), d.expand_json_payload),
        json_null: s.choice(
            &format!("{prefix}table.json.payload.null.behavior"),
            d.json_null,
            &[("ignore", JsonNullBehavior::Ignore), ("optional_bytes", JsonNullBehavior::OptionalBytes)],
        ),
        tracing_span_context: {
            // Sluice starts no spans of its own (it only carries the row's trace context), so these two are
            // checked and have nothing to change.
            s.boolean(&format!("{prefix}tracing.with.context.field.only"), false);
            s.string(&k("tracing.span.context.field"), &d.tracing_span_context)
        },
    }
}

/// `ExtractNewRecordState`'s options. `delete.tombstone.handling.mode` (Debezium 2.5+) decides deletes and
/// tombstones when set; otherwise the older `delete.handling.mode` and `drop.tombstones`, when either is set, with
/// their own defaults (`drop`, `true`); with none of them, Debezium's default `tombstone`.
fn unwrap_options(s: &mut Settings, prefix: &str) -> UnwrapOptions {
    let d = UnwrapOptions::default();
    let modern_key = format!("{prefix}delete.tombstone.handling.mode");
    let legacy_key = format!("{prefix}delete.handling.mode");
    let drop_key = format!("{prefix}drop.tombstones");
    let legacy_deletes = s.choice(
        &legacy_key,
        DeleteMode::Drop,
        &[("drop", DeleteMode::Drop), ("rewrite", DeleteMode::Rewrite), ("none", DeleteMode::NullValue)],
    );
    let drop_tombstones = s.boolean(&drop_key, true);
    let (deletes, keep_tombstones) = if s.get(&modern_key).is_some() {
        for old in [&legacy_key, &drop_key] {
            if s.get(old).is_some() {
                s.warn(format!("`{old}` is not read: `{modern_key}` is set and replaces it"));
            }
        }
        s.choice(
            &modern_key,
            (d.deletes, d.keep_tombstones),
            &[
                ("drop", (DeleteMode::Drop, false)),
                ("tombstone", (DeleteMode::Tombstone, true)),
                ("rewrite", (DeleteMode::Rewrite, false)),
                ("rewrite-with-tombstone", (DeleteMode::Rewrite, true)),
            ],
        )
    } else if s.get(&legacy_key).is_some() || s.get(&drop_key).is_some() {
        (legacy_deletes, !drop_tombstones)
    } else {
        (d.deletes, d.keep_tombstones)
    };
    let fields = |r: &mut Settings, key: &str| {
        let full = format!("{prefix}{key}");
        let names = r.list(&full);
        for name in &names {
            if MetaField::parse(name).is_none() {
                r.problem(format!(
                    "`{full}`: `{name}` is not a field of Sluice's change events; use op, ts_ms, ts_us, ts_ns or a \
                     source field (version, connector, name, ts_ms, snapshot, db, sequence, ts_us, ts_ns, schema, \
                     table, txId, lsn, xmin), bare or as source.<field>"
                ));
            }
        }
        names
    };
    let k = |name: &str| format!("{prefix}{name}");
    UnwrapOptions {
        deletes,
        keep_tombstones,
        add_fields: fields(s, "add.fields"),
        add_fields_prefix: s.string(&k("add.fields.prefix"), &d.add_fields_prefix),
        add_headers: fields(s, "add.headers"),
        add_headers_prefix: s.string(&k("add.headers.prefix"), &d.add_headers_prefix),
    }
}

/// `column:placement[:alias]`, comma-separated; placement `header`, `envelope` or `partition`.
fn additional_fields(s: &mut Settings, prefix: &str) -> Vec<AdditionalField> {
    let key = format!("{prefix}table.fields.additional.placement");
    let Some(value) = s.get(&key).map(String::from) else { return Vec::new() };
    let mut fields = Vec::new();
    for entry in list(&value) {
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        let placement = match parts.get(1).map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("header") => Placement::Header,
            Some("envelope") => Placement::Envelope,
            Some("partition") => Placement::Partition,
            _ => {
                s.problem(format!(
                    "`{key}`: `{entry}` is not `column:placement[:alias]` with placement header, envelope or partition"
                ));
                continue;
            }
        };
        if parts.len() > 3 || parts[0].is_empty() {
            s.problem(format!("`{key}`: `{entry}` is not `column:placement[:alias]`"));
            continue;
        }
        let alias = parts.get(2).filter(|a| !a.is_empty()).unwrap_or(&parts[0]).to_string();
        fields.push(AdditionalField { column: parts[0].to_string(), placement, alias });
    }
    fields
}
