//! `debezium.transforms` and `debezium.predicates`: Debezium Server's single message transforms, checked here so a
//! router misconfiguration fails before anything connects, with the option named.

use sluice_config::{closest, key, list, KeySet, Settings};

use crate::outbox::{AdditionalField, EventRouterOptions, InvalidOpBehavior, JsonNullBehavior, Placement};
use crate::unwrap::{DeleteMode, MetaField, UnwrapOptions};

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
    not_yet: &[],
    accepted_as_given: &[],
    renamed: &[],
    unsupported_below: &[],
    other_connectors: &[],
};

const TOPIC_NAME_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";

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
pub const SUPPORTED: &[&str] = &[EXTRACT_NEW_RECORD_STATE, EVENT_ROUTER, DECODE_MESSAGE_CONTENT];

/// The predicates Sluice evaluates.
pub const PREDICATES_SUPPORTED: &[&str] = &[TOPIC_NAME_MATCHES];

/// Transforms Debezium users often chain that Sluice does not have yet.
pub const NOT_YET: &[&str] = &[
    "io.debezium.transforms.ByLogicalTableRouter",
    "io.debezium.transforms.Filter",
    "io.debezium.transforms.ContentBasedRouter",
    "io.debezium.transforms.HeaderToValue",
    "io.debezium.transforms.ExtractChangedRecordState",
    "io.debezium.transforms.partitions.PartitionRouting",
    "io.debezium.transforms.TimezoneConverter",
    "io.debezium.transforms.SchemaChangeEventFilter",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.ExtractField$Key",
    "org.apache.kafka.connect.transforms.ValueToKey",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformType {
    EventRouter(Box<EventRouterOptions>),
    DecodeMessageContent,
    Unwrap(Box<UnwrapOptions>),
}

/// A predicate a transform is applied under: `TopicNameMatches` with its `pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredicateConfig {
    pub name: String,
    pub pattern: String,
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
            TransformType::EventRouter(Box::new(router_options(s, &prefix)))
        }
        DECODE_MESSAGE_CONTENT => {
            for option in own.iter().filter(|o| !common.contains(&o.as_str()) && o.as_str() != "fields.null.include") {
                s.problem(format!("unknown option `{prefix}{option}` of {DECODE_MESSAGE_CONTENT}"));
            }
            s.boolean(&format!("{prefix}fields.null.include"), false);
            TransformType::DecodeMessageContent
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
            TransformType::Unwrap(Box::new(unwrap_options(s, &prefix)))
        }
        other if NOT_YET.contains(&other) => {
            s.problem(format!("`{type_key}` = `{other}` is a transform Sluice does not support yet (it has {EVENT_ROUTER}, {EXTRACT_NEW_RECORD_STATE} and {DECODE_MESSAGE_CONTENT})"));
            return None;
        }
        other => {
            s.problem(format!(
                "`{type_key}` = `{other}` is not a transform Sluice knows; it has {EVENT_ROUTER}, {EXTRACT_NEW_RECORD_STATE} and {DECODE_MESSAGE_CONTENT}"
            ));
            return None;
        }
    };
    let negate = s.boolean(&format!("{prefix}negate"), false);
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
    Some(TransformConfig { name: name.to_string(), kind, predicate })
}

fn predicate(s: &mut Settings, name: &str, negate: bool) -> Option<PredicateConfig> {
    let prefix = format!("{PREDICATES}.{name}.");
    let class = s.get(&format!("{prefix}type")).map(|t| t.trim().to_string());
    match class.as_deref() {
        Some(TOPIC_NAME_MATCHES) => {}
        Some(other) => {
            s.problem(format!("`{prefix}type` = `{other}` is not supported yet; Sluice has {TOPIC_NAME_MATCHES}"));
            return None;
        }
        None => {
            s.problem(format!("missing required key `{prefix}type` (e.g. {TOPIC_NAME_MATCHES})"));
            return None;
        }
    }
    let Some(pattern) = s.get(&format!("{prefix}pattern")).map(String::from) else {
        s.problem(format!("missing required key `{prefix}pattern` (a regular expression for topic names)"));
        return None;
    };
    if let Err(e) = regex::Regex::new(&pattern) {
        s.problem(format!("`{prefix}pattern`: `{pattern}` is not a valid regular expression: {e}"));
        return None;
    }
    Some(PredicateConfig { name: name.to_string(), pattern, negate })
}

fn router_options(s: &mut Settings, prefix: &str) -> EventRouterOptions {
    let d = EventRouterOptions::default();
    let text = |r: &Settings, key: &str, default: &str| {
        r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
    };
    let optional = |r: &Settings, key: &str| {
        r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    let regex = text(s, "route.topic.regex", &d.route_topic_regex);
    if let Err(e) = regex::Regex::new(&regex) {
        s.problem(format!("`{prefix}route.topic.regex`: `{regex}` is not a valid regular expression: {e}"));
    }
    EventRouterOptions {
        event_id: text(s, "table.field.event.id", &d.event_id),
        event_key: text(s, "table.field.event.key", &d.event_key),
        event_type: text(s, "table.field.event.type", &d.event_type),
        event_timestamp: optional(s, "table.field.event.timestamp"),
        payload: text(s, "table.field.event.payload", &d.payload),
        schema_version: optional(s, "table.field.event.schema.version"),
        additional: additional_fields(s, prefix),
        additional_error_on_missing: s
            .boolean(&format!("{prefix}table.fields.additional.error.on.missing"), d.additional_error_on_missing),
        route_by: text(s, "route.by.field", &d.route_by),
        route_topic_regex: regex,
        route_topic_replacement: text(s, "route.topic.replacement", &d.route_topic_replacement),
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
            text(s, "tracing.span.context.field", &d.tracing_span_context)
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
    let text = |r: &Settings, key: &str, default: &str| {
        r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
    };
    UnwrapOptions {
        deletes,
        keep_tombstones,
        add_fields: fields(s, "add.fields"),
        add_fields_prefix: text(s, "add.fields.prefix", &d.add_fields_prefix),
        add_headers: fields(s, "add.headers"),
        add_headers_prefix: text(s, "add.headers.prefix", &d.add_headers_prefix),
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
