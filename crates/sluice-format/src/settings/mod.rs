//! The event format's configuration: the encoder's `debezium.source.*` keys (how values are represented), the
//! converters of `debezium.format.*`, and the transforms of `debezium.transforms.*`, each declared for the key
//! registry and read here, beside the code that carries them out.

mod transforms;

use sluice_config::{key, KeySet, Settings};

use crate::columns::{self, ColumnOptions, Family, Mapper, MapperRule, Pattern};
use crate::naming::{NameAdjustment, Naming, TopicNamingStrategy};
use crate::{
    BinaryHandlingMode, Converter, DecimalHandlingMode, EncoderOptions, FailureHandlingMode, HStoreHandlingMode,
    IntervalHandlingMode, TimePrecisionMode,
};

pub use transforms::{
    check_converters as check_transform_converters, read as read_transforms, PredicateConfig, TransformConfig,
    TransformType, NOT_YET as TRANSFORMS_NOT_YET, PREDICATES_SUPPORTED, SUPPORTED as TRANSFORMS_SUPPORTED,
    TRANSFORM_KEYS,
};

const SOURCE: &str = "debezium.source.";
const FORMAT: &str = "debezium.format.";

/// The keys that decide how a change becomes an event (under `debezium.source.`, as in Debezium).
pub static EVENT_KEYS: KeySet = KeySet {
    owner: "the event format",
    prefix: SOURCE,
    keys: &[
        key("tombstones.on.delete", "true", "a null-value record with the same key after each delete"),
        key("decimal.handling.mode", "precise", "precise, double, string"),
        key(
            "time.precision.mode",
            "adaptive",
            "adaptive, adaptive_time_microseconds, connect, isostring, microseconds, nanoseconds",
        ),
        key(
            "interval.handling.mode",
            "numeric",
            "numeric (microseconds, MicroDuration) or string (ISO-8601 `P…Y…M…DT…H…M…S`, Interval)",
        ),
        key("hstore.handling.mode", "json", "json (the map as a JSON string) or map (a Connect map)"),
        key("binary.handling.mode", "bytes", "bytes, base64, base64-url-safe, hex"),
        key("unavailable.value.placeholder", "__debezium_unavailable_value", "stands in for unchanged TOASTed values"),
        key("include.unknown.datatypes", "false", "columns of unsupported types as their text form's bytes"),
        key("money.fraction.digits", "2", "scale of money values"),
        key("event.processing.failure.handling.mode", "fail", "an event that cannot be encoded: fail, warn, skip"),
        key(
            "message.key.columns",
            "",
            "`<table regex>:<column>,<column>;…`: the key's columns instead of the primary key's",
        ),
        key("column.mask.with.<N>.chars", "", "regexes of schema.table.column whose strings become N `*`"),
        key(
            "column.mask.hash.<algorithm>.with.salt.<salt>",
            "",
            "regexes of schema.table.column whose strings become their salted hash (e.g. SHA-256)",
        ),
        key(
            "column.mask.hash.v2.<algorithm>.with.salt.<salt>",
            "",
            "the same, hashing the string's UTF-8 bytes rather than its Java serialization",
        ),
        key("column.truncate.to.<N>.chars", "", "regexes of schema.table.column whose strings are cut to N characters"),
        key(
            "column.propagate.source.type",
            "",
            "regexes of schema.table.column whose schemas carry `__debezium.source.column.*` parameters",
        ),
        key("datatype.propagate.source.type", "", "the same for regexes of schema.table.<type name>"),
        key(
            "topic.naming.strategy",
            "io.debezium.schema.SchemaTopicNamingStrategy",
            "topics `<prefix>.<schema>.<table>`; io.debezium.schema.DefaultTopicNamingStrategy: `<prefix>.<table>`",
        ),
        key("topic.delimiter", ".", "joins the parts of table, heartbeat and transaction topic names"),
        key("topic.cache.size", "10000", "accepted (a positive number); Sluice keeps every table's topic"),
        key("schema.name.adjustment.mode", "none", "schema names for Avro: none, avro, avro_unicode"),
        key("field.name.adjustment.mode", "none", "field names for Avro: none, avro, avro_unicode"),
    ],
    // `column.mask.with.<N>.chars` and the like: the name carries a parameter, checked when read.
    open_prefixes: &["column.mask.", "column.truncate."],
    ..KeySet::EMPTY
};

/// The converters.
pub static FORMAT_KEYS: KeySet = KeySet {
    owner: "the event format",
    prefix: FORMAT,
    keys: &[
        key("key", "json", "json, simplestring, binary"),
        key("value", "json", "json, simplestring, binary"),
        key("key.schemas.enable", "true", "json keys as {\"schema\":…,\"payload\":…}"),
        key("value.schemas.enable", "true", "json values as {\"schema\":…,\"payload\":…}"),
    ],
    not_yet: &["header"],
    unsupported_below: &[
        ("key.", "converter options under `debezium.format.key.*` other than `schemas.enable` are not supported yet"),
        (
            "value.",
            "converter options under `debezium.format.value.*` other than `schemas.enable` are not supported yet",
        ),
    ],
    ..KeySet::EMPTY
};

/// How changes become events: the converters and the encoder's representation choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSettings {
    pub key: Converter,
    pub value: Converter,
    pub tombstones_on_delete: bool,
    pub decimal_handling_mode: DecimalHandlingMode,
    pub time_precision_mode: TimePrecisionMode,
    pub interval_handling_mode: IntervalHandlingMode,
    pub hstore_handling_mode: HStoreHandlingMode,
    pub binary_handling_mode: BinaryHandlingMode,
    pub unavailable_value_placeholder: String,
    pub include_unknown_datatypes: bool,
    pub money_fraction_digits: u8,
    /// `event.processing.failure.handling.mode`: stop on an event that cannot be encoded, or skip it.
    pub failure_handling_mode: FailureHandlingMode,
    /// `message.key.columns` and the column mappers.
    pub columns: ColumnOptions,
    /// `topic.naming.strategy`, `topic.delimiter` and the name adjustment modes.
    pub naming: Naming,
}

impl EventSettings {
    /// The encoder's options for a source that names its topics with `topic_prefix` and reads `database`.
    pub fn encoder_options(&self, topic_prefix: &str, database: &str) -> EncoderOptions {
        EncoderOptions {
            topic_prefix: topic_prefix.to_string(),
            database: database.to_string(),
            key: self.key.clone(),
            value: self.value.clone(),
            decimal_handling_mode: self.decimal_handling_mode,
            time_precision_mode: self.time_precision_mode,
            interval_handling_mode: self.interval_handling_mode,
            hstore_handling_mode: self.hstore_handling_mode,
            binary_handling_mode: self.binary_handling_mode,
            unavailable_value_placeholder: self.unavailable_value_placeholder.clone(),
            include_unknown_datatypes: self.include_unknown_datatypes,
            money_fraction_digits: self.money_fraction_digits,
            tombstones_on_delete: self.tombstones_on_delete,
            columns: self.columns.clone(),
            naming: self.naming.clone(),
        }
    }
}

fn k(name: &str) -> String {
    format!("{SOURCE}{name}")
}

/// Reads the converters and the encoder's keys.
pub fn read(s: &mut Settings) -> EventSettings {
    EventSettings {
        key: converter(s, "key"),
        value: converter(s, "value"),
        tombstones_on_delete: s.boolean(&k("tombstones.on.delete"), true),
        decimal_handling_mode: s.choice(
            &k("decimal.handling.mode"),
            DecimalHandlingMode::Precise,
            &[
                ("precise", DecimalHandlingMode::Precise),
                ("double", DecimalHandlingMode::Double),
                ("string", DecimalHandlingMode::String),
            ],
        ),
        time_precision_mode: s.choice(
            &k("time.precision.mode"),
            TimePrecisionMode::Adaptive,
            &[
                ("adaptive", TimePrecisionMode::Adaptive),
                ("adaptive_time_microseconds", TimePrecisionMode::AdaptiveTimeMicroseconds),
                ("connect", TimePrecisionMode::Connect),
                ("isostring", TimePrecisionMode::IsoString),
                ("microseconds", TimePrecisionMode::Microseconds),
                ("nanoseconds", TimePrecisionMode::Nanoseconds),
            ],
        ),
        interval_handling_mode: s.choice(
            &k("interval.handling.mode"),
            IntervalHandlingMode::Numeric,
            &[("numeric", IntervalHandlingMode::Numeric), ("string", IntervalHandlingMode::String)],
        ),
        hstore_handling_mode: s.choice(
            &k("hstore.handling.mode"),
            HStoreHandlingMode::Json,
            &[("json", HStoreHandlingMode::Json), ("map", HStoreHandlingMode::Map)],
        ),
        binary_handling_mode: s.choice(
            &k("binary.handling.mode"),
            BinaryHandlingMode::Bytes,
            &[
                ("bytes", BinaryHandlingMode::Bytes),
                ("base64", BinaryHandlingMode::Base64),
                ("base64-url-safe", BinaryHandlingMode::Base64UrlSafe),
                ("hex", BinaryHandlingMode::Hex),
            ],
        ),
        unavailable_value_placeholder: s
            .get(&k("unavailable.value.placeholder"))
            .unwrap_or("__debezium_unavailable_value")
            .to_string(),
        include_unknown_datatypes: s.boolean(&k("include.unknown.datatypes"), false),
        money_fraction_digits: s.number(&k("money.fraction.digits"), 2u8, "a whole number of digits"),
        failure_handling_mode: s.choice(
            &k("event.processing.failure.handling.mode"),
            FailureHandlingMode::Fail,
            &[
                ("fail", FailureHandlingMode::Fail),
                ("warn", FailureHandlingMode::Warn),
                ("skip", FailureHandlingMode::Skip),
            ],
        ),
        columns: column_options(s),
        naming: naming(s),
    }
}

/// `topic.naming.strategy`, `topic.delimiter`, `topic.cache.size` and the name adjustment modes (crate::naming).
fn naming(s: &mut Settings) -> Naming {
    let strategy_key = k("topic.naming.strategy");
    let strategy = match s.get(&strategy_key).map(|v| v.trim().to_string()) {
        None => TopicNamingStrategy::default(),
        Some(class) => TopicNamingStrategy::from_class(&class).unwrap_or_else(|| {
            s.problem(format!(
                "`{strategy_key}` = `{class}` is not supported yet: Sluice names topics with {} (the default) or {}",
                TopicNamingStrategy::SCHEMA_CLASS,
                TopicNamingStrategy::DEFAULT_CLASS
            ));
            TopicNamingStrategy::default()
        }),
    };
    let delimiter_key = k("topic.delimiter");
    let delimiter = s.string(&delimiter_key, ".");
    // Debezium validates the delimiter as a topic name (CommonConnectorConfig.validateTopicName).
    if delimiter.is_empty() || !delimiter.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        s.problem(format!(
            "`{delimiter_key}` = `{delimiter}` has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed, as in a Kafka topic name)"
        ));
    }
    let cache_key = k("topic.cache.size");
    if s.number(&cache_key, 10_000u32, "a positive whole number") == 0 {
        s.problem(format!("`{cache_key}` must be a positive whole number"));
    }
    let modes =
        [("none", NameAdjustment::None), ("avro", NameAdjustment::Avro), ("avro_unicode", NameAdjustment::AvroUnicode)];
    Naming {
        strategy,
        delimiter,
        schema_names: s.choice(&k("schema.name.adjustment.mode"), NameAdjustment::None, &modes),
        field_names: s.choice(&k("field.name.adjustment.mode"), NameAdjustment::None, &modes),
    }
}

/// `message.key.columns` and the column mapper keys, each bad one reported naming its key.
fn column_options(s: &mut Settings) -> ColumnOptions {
    let key_columns = match s.get(&k("message.key.columns")).map(str::trim) {
        // Empty: no custom keys (Debezium refuses an empty value; Sluice has always accepted it as unset).
        None | Some("") => Vec::new(),
        Some(value) => {
            let value = value.to_string();
            columns::parse_key_columns(&value).unwrap_or_else(|e| {
                s.problem(format!("`{SOURCE}message.key.columns`: {e}"));
                Vec::new()
            })
        }
    };
    let mut rules: Vec<(Family, String, MapperRule)> = Vec::new();
    let patterns = |s: &mut Settings, key: &str| -> Vec<Pattern> {
        s.regex_list(&k(key)).unwrap_or_default().into_iter().map(Pattern::from).collect()
    };
    for (family, key) in [
        (Family::PropagateColumn, "column.propagate.source.type"),
        (Family::PropagateDataType, "datatype.propagate.source.type"),
    ] {
        let patterns = patterns(s, key);
        let by_data_type = family == Family::PropagateDataType;
        let rule = MapperRule { patterns, by_data_type, mapper: Mapper::PropagateSourceType };
        rules.push((family, key.to_string(), rule));
    }
    let names: Vec<String> = ["column.mask.", "column.truncate."]
        .iter()
        .flat_map(|prefix| s.below(&k(prefix)).into_iter().map(move |(rest, _)| format!("{prefix}{rest}")))
        .collect();
    for name in names {
        match columns::mapper_for_key(&name) {
            Ok((family, mapper)) => {
                let patterns = patterns(s, &name);
                rules.push((family, name, MapperRule { patterns, by_data_type: false, mapper }));
            }
            Err(e) => s.problem(format!("`{SOURCE}{name}`: {e}")),
        }
    }
    rules.retain(|(_, _, rule)| !rule.patterns.is_empty());
    ColumnOptions { key_columns, mappers: columns::ordered(rules) }
}

fn converter(s: &mut Settings, which: &str) -> Converter {
    let key = format!("{FORMAT}{which}");
    let schemas_key = format!("{key}.schemas.enable");
    s.value_not_yet(
        &key,
        &[
            "avro",
            "protobuf",
            "cloudevents",
            "jsonbytearray",
            // Kafka Connect's class names, as `sluice connect` passes them on.
            "io.confluent.connect.avro.AvroConverter",
            "io.apicurio.registry.utils.converter.AvroConverter",
            "io.confluent.connect.protobuf.ProtobufConverter",
            "io.debezium.converters.CloudEventsConverter",
        ],
    );
    let kind = s.choice(&key, 0u8, &[("json", 0), ("simplestring", 1), ("binary", 2)]);
    let schemas_enable = s.boolean(&schemas_key, true);
    if kind != 0 && s.get(&schemas_key).is_some() {
        s.warn(format!("`{schemas_key}` only applies to the json format; it is unused"));
    }
    match kind {
        0 => Converter::Json { schemas_enable },
        1 => Converter::SimpleString,
        _ => Converter::Binary,
    }
}
