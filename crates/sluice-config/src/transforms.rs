//! `debezium.transforms` and `debezium.predicates`: Debezium Server's single message transforms, checked here so a
//! router misconfiguration fails before anything connects, with the option named.

use sluice_format::outbox::{AdditionalField, EventRouterOptions, InvalidOpBehavior, JsonNullBehavior, Placement};
use sluice_format::unwrap::{DeleteMode, MetaField, UnwrapOptions};

use crate::{closest, Reader};

const TRANSFORMS: &str = "debezium.transforms";
const PREDICATES: &str = "debezium.predicates";
pub const EVENT_ROUTER: &str = "io.debezium.transforms.outbox.EventRouter";
pub const DECODE_MESSAGE_CONTENT: &str =
    "io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent";
pub const EXTRACT_NEW_RECORD_STATE: &str = "io.debezium.transforms.ExtractNewRecordState";
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

/// Transforms Debezium users often chain that Sluice does not have yet.
const NOT_YET: &[&str] = &[
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

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

impl Reader {
    pub(crate) fn transforms(&mut self) -> Vec<TransformConfig> {
        let names = self.get(TRANSFORMS).map(list).unwrap_or_default();
        let predicates = self.get(PREDICATES).map(list).unwrap_or_default();
        self.check_transform_keys(&names, &predicates);
        names.iter().filter_map(|name| self.transform(name, &predicates)).collect()
    }

    /// Every key under `debezium.transforms.` / `debezium.predicates.` must belong to a listed name.
    fn check_transform_keys(&mut self, names: &[String], predicates: &[String]) {
        let keys: Vec<(String, usize)> = self
            .values
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{TRANSFORMS}.")) || k.starts_with(&format!("{PREDICATES}.")))
            .map(|(k, (_, line))| (k.clone(), *line))
            .collect();
        for (key, line) in keys {
            let (list_key, listed) =
                if key.starts_with(TRANSFORMS) { (TRANSFORMS, names) } else { (PREDICATES, predicates) };
            let rest = &key[list_key.len() + 1..];
            if !listed.iter().any(|n| rest.starts_with(&format!("{n}."))) {
                let name = rest.split('.').next().unwrap_or(rest);
                self.problems.push(format!(
                    "line {line}: `{key}` configures `{name}`, which is not listed in `{list_key}` ({}); add it there or remove the key",
                    if listed.is_empty() { "empty".to_string() } else { listed.join(",") }
                ));
            }
        }
    }

    fn transform(&mut self, name: &str, predicates: &[String]) -> Option<TransformConfig> {
        let prefix = format!("{TRANSFORMS}.{name}.");
        let type_key = format!("{prefix}type");
        let Some(class) = self.get(&type_key).map(|t| t.trim().to_string()) else {
            self.problems
                .push(format!("missing required key `{type_key}` (the transform `{name}` is listed in {TRANSFORMS})"));
            return None;
        };
        let own: Vec<String> = self.values.keys().filter_map(|k| k.strip_prefix(&prefix)).map(String::from).collect();
        let common = ["type", "predicate", "negate"];
        let kind = match class.as_str() {
            EVENT_ROUTER => {
                for option in
                    own.iter().filter(|o| !common.contains(&o.as_str()) && !ROUTER_OPTIONS.contains(&o.as_str()))
                {
                    let candidates: Vec<String> = ROUTER_OPTIONS.iter().map(|o| format!("{prefix}{o}")).collect();
                    let full = format!("{prefix}{option}");
                    self.problems.push(match closest(&full, &candidates) {
                        Some(best) => format!("unknown outbox router option `{full}`; did you mean `{best}`?"),
                        None => format!("unknown outbox router option `{full}` (see docs/outbox.md for the options)"),
                    });
                }
                TransformType::EventRouter(Box::new(self.router_options(&prefix)))
            }
            DECODE_MESSAGE_CONTENT => {
                for option in
                    own.iter().filter(|o| !common.contains(&o.as_str()) && o.as_str() != "fields.null.include")
                {
                    self.problems.push(format!("unknown option `{prefix}{option}` of {DECODE_MESSAGE_CONTENT}"));
                }
                self.boolean(&format!("{prefix}fields.null.include"), false);
                TransformType::DecodeMessageContent
            }
            EXTRACT_NEW_RECORD_STATE => {
                for option in own.iter().filter(|o| !common.contains(&o.as_str())) {
                    let full = format!("{prefix}{option}");
                    if UNWRAP_OPTIONS.contains(&option.as_str()) {
                        continue;
                    }
                    if let Some((_, off)) = UNWRAP_NOT_YET.iter().find(|(o, _)| o == option) {
                        let value = self.get(&full).unwrap_or_default().trim().to_string();
                        if !value.eq_ignore_ascii_case(off) {
                            self.problems.push(format!(
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
                    self.problems.push(match closest(&full, &candidates) {
                        Some(best) => format!("unknown option `{full}` of {EXTRACT_NEW_RECORD_STATE}; did you mean `{best}`?"),
                        None => format!(
                            "unknown option `{full}` of {EXTRACT_NEW_RECORD_STATE} (see docs/configuration.md for its options)"
                        ),
                    });
                }
                TransformType::Unwrap(Box::new(self.unwrap_options(&prefix)))
            }
            other if NOT_YET.contains(&other) => {
                self.problems.push(format!("`{type_key}` = `{other}` is a transform Sluice does not support yet (it has {EVENT_ROUTER}, {EXTRACT_NEW_RECORD_STATE} and {DECODE_MESSAGE_CONTENT})"));
                return None;
            }
            other => {
                self.problems.push(format!(
                    "`{type_key}` = `{other}` is not a transform Sluice knows; it has {EVENT_ROUTER}, {EXTRACT_NEW_RECORD_STATE} and {DECODE_MESSAGE_CONTENT}"
                ));
                return None;
            }
        };
        let negate = self.boolean(&format!("{prefix}negate"), false);
        let predicate = match self.get(&format!("{prefix}predicate")).map(|p| p.trim().to_string()) {
            None => None,
            Some(p) if !predicates.contains(&p) => {
                self.problems.push(format!(
                    "`{prefix}predicate` = `{p}` is not listed in `{PREDICATES}`; add it there with its type and pattern"
                ));
                None
            }
            Some(p) => self.predicate(&p, negate),
        };
        Some(TransformConfig { name: name.to_string(), kind, predicate })
    }

    fn predicate(&mut self, name: &str, negate: bool) -> Option<PredicateConfig> {
        let prefix = format!("{PREDICATES}.{name}.");
        let class = self.get(&format!("{prefix}type")).map(|t| t.trim().to_string());
        match class.as_deref() {
            Some(TOPIC_NAME_MATCHES) => {}
            Some(other) => {
                self.problems
                    .push(format!("`{prefix}type` = `{other}` is not supported yet; Sluice has {TOPIC_NAME_MATCHES}"));
                return None;
            }
            None => {
                self.problems.push(format!("missing required key `{prefix}type` (e.g. {TOPIC_NAME_MATCHES})"));
                return None;
            }
        }
        let Some(pattern) = self.get(&format!("{prefix}pattern")).map(String::from) else {
            self.problems
                .push(format!("missing required key `{prefix}pattern` (a regular expression for topic names)"));
            return None;
        };
        if let Err(e) = regex::Regex::new(&pattern) {
            self.problems.push(format!("`{prefix}pattern`: `{pattern}` is not a valid regular expression: {e}"));
            return None;
        }
        Some(PredicateConfig { name: name.to_string(), pattern, negate })
    }

    fn router_options(&mut self, prefix: &str) -> EventRouterOptions {
        let d = EventRouterOptions::default();
        let text = |r: &Reader, key: &str, default: &str| {
            r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
        };
        let optional = |r: &Reader, key: &str| {
            r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        let regex = text(self, "route.topic.regex", &d.route_topic_regex);
        if let Err(e) = regex::Regex::new(&regex) {
            self.problems
                .push(format!("`{prefix}route.topic.regex`: `{regex}` is not a valid regular expression: {e}"));
        }
        EventRouterOptions {
            event_id: text(self, "table.field.event.id", &d.event_id),
            event_key: text(self, "table.field.event.key", &d.event_key),
            event_type: text(self, "table.field.event.type", &d.event_type),
            event_timestamp: optional(self, "table.field.event.timestamp"),
            payload: text(self, "table.field.event.payload", &d.payload),
            schema_version: optional(self, "table.field.event.schema.version"),
            additional: self.additional_fields(prefix),
            additional_error_on_missing: self
                .boolean(&format!("{prefix}table.fields.additional.error.on.missing"), d.additional_error_on_missing),
            route_by: text(self, "route.by.field", &d.route_by),
            route_topic_regex: regex,
            route_topic_replacement: text(self, "route.topic.replacement", &d.route_topic_replacement),
            tombstone_on_empty_payload: self
                .boolean(&format!("{prefix}route.tombstone.on.empty.payload"), d.tombstone_on_empty_payload),
            invalid_op: self.choice(
                &format!("{prefix}table.op.invalid.behavior"),
                d.invalid_op,
                &[
                    ("warn", InvalidOpBehavior::Warn),
                    ("error", InvalidOpBehavior::Error),
                    ("fatal", InvalidOpBehavior::Fatal),
                ],
            ),
            expand_json_payload: self.boolean(&format!("{prefix}table.expand.json.payload"), d.expand_json_payload),
            json_null: self.choice(
                &format!("{prefix}table.json.payload.null.behavior"),
                d.json_null,
                &[("ignore", JsonNullBehavior::Ignore), ("optional_bytes", JsonNullBehavior::OptionalBytes)],
            ),
            tracing_span_context: {
                // Sluice starts no spans of its own (it only carries the row's trace context), so these two are
                // checked and have nothing to change.
                self.boolean(&format!("{prefix}tracing.with.context.field.only"), false);
                text(self, "tracing.span.context.field", &d.tracing_span_context)
            },
        }
    }

    /// `ExtractNewRecordState`'s options. `delete.tombstone.handling.mode` (Debezium 2.5+) decides deletes and
    /// tombstones when set; otherwise the older `delete.handling.mode` and `drop.tombstones`, when either is set, with
    /// their own defaults (`drop`, `true`); with none of them, Debezium's default `tombstone`.
    fn unwrap_options(&mut self, prefix: &str) -> UnwrapOptions {
        let d = UnwrapOptions::default();
        let modern_key = format!("{prefix}delete.tombstone.handling.mode");
        let legacy_key = format!("{prefix}delete.handling.mode");
        let drop_key = format!("{prefix}drop.tombstones");
        let legacy_deletes = self.choice(
            &legacy_key,
            DeleteMode::Drop,
            &[("drop", DeleteMode::Drop), ("rewrite", DeleteMode::Rewrite), ("none", DeleteMode::NullValue)],
        );
        let drop_tombstones = self.boolean(&drop_key, true);
        let (deletes, keep_tombstones) = if self.get(&modern_key).is_some() {
            for old in [&legacy_key, &drop_key] {
                if self.get(old).is_some() {
                    self.warnings.push(format!("`{old}` is not read: `{modern_key}` is set and replaces it"));
                }
            }
            self.choice(
                &modern_key,
                (d.deletes, d.keep_tombstones),
                &[
                    ("drop", (DeleteMode::Drop, false)),
                    ("tombstone", (DeleteMode::Tombstone, true)),
                    ("rewrite", (DeleteMode::Rewrite, false)),
                    ("rewrite-with-tombstone", (DeleteMode::Rewrite, true)),
                ],
            )
        } else if self.get(&legacy_key).is_some() || self.get(&drop_key).is_some() {
            (legacy_deletes, !drop_tombstones)
        } else {
            (d.deletes, d.keep_tombstones)
        };
        let fields = |r: &mut Reader, key: &str| {
            let full = format!("{prefix}{key}");
            let names = r.get(&full).map(list).unwrap_or_default();
            for name in &names {
                if MetaField::parse(name).is_none() {
                    r.problems.push(format!(
                        "`{full}`: `{name}` is not a field of Sluice's change events; use op, ts_ms, ts_us, ts_ns or a \
                         source field (version, connector, name, ts_ms, snapshot, db, sequence, ts_us, ts_ns, schema, \
                         table, txId, lsn, xmin), bare or as source.<field>"
                    ));
                }
            }
            names
        };
        let text = |r: &Reader, key: &str, default: &str| {
            r.get(&format!("{prefix}{key}")).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
        };
        UnwrapOptions {
            deletes,
            keep_tombstones,
            add_fields: fields(self, "add.fields"),
            add_fields_prefix: text(self, "add.fields.prefix", &d.add_fields_prefix),
            add_headers: fields(self, "add.headers"),
            add_headers_prefix: text(self, "add.headers.prefix", &d.add_headers_prefix),
        }
    }

    /// `column:placement[:alias]`, comma-separated; placement `header`, `envelope` or `partition`.
    fn additional_fields(&mut self, prefix: &str) -> Vec<AdditionalField> {
        let key = format!("{prefix}table.fields.additional.placement");
        let Some(value) = self.get(&key).map(String::from) else { return Vec::new() };
        let mut fields = Vec::new();
        for entry in list(&value) {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            let placement = match parts.get(1).map(|p| p.to_ascii_lowercase()).as_deref() {
                Some("header") => Placement::Header,
                Some("envelope") => Placement::Envelope,
                Some("partition") => Placement::Partition,
                _ => {
                    self.problems.push(format!(
                        "`{key}`: `{entry}` is not `column:placement[:alias]` with placement header, envelope or partition"
                    ));
                    continue;
                }
            };
            if parts.len() > 3 || parts[0].is_empty() {
                self.problems.push(format!("`{key}`: `{entry}` is not `column:placement[:alias]`"));
                continue;
            }
            let alias = parts.get(2).filter(|a| !a.is_empty()).unwrap_or(&parts[0]).to_string();
            fields.push(AdditionalField { column: parts[0].to_string(), placement, alias });
        }
        fields
    }
}
